// The control API over HTTP under /_emulator, so a standalone emulator can be driven from another process.
// Same operations as EmulatorControl; JSON in, JSON out; no auth (it only ever listens where tests run it).
import type { IncomingMessage } from 'node:http'
import { Type, type TSchema, type Static } from 'typebox'
import { Value } from 'typebox/value'
import type { Reply } from './http-io.js'
import { readBody } from './http-io.js'
import type { EmulatorControl, Operation } from './types.js'
import { ChaosOptions, FaultSpec, OPERATIONS, SeedOptions } from './types.js'

export const CONTROL_PREFIX = '/_emulator'

const OperationSchema = Type.Union(OPERATIONS.map((op) => Type.Literal(op)))
const FaultRequest = Type.Object({
  operation: OperationSchema,
  fault: FaultSpec,
  count: Type.Optional(Type.Integer({ minimum: 1 }))
})
const ReadyDelayRequest = Type.Object({ readyDelayMs: Type.Integer({ minimum: 0 }) })
const StateRequest = Type.Object({ state: Type.String({ minLength: 1 }) })
const TestResultRequest = Type.Object({ result: Type.Boolean() })
const RevokeRequest = Type.Object({ token: Type.Optional(Type.String({ minLength: 1 })) })

const MAX_CONTROL_BODY = 1024 * 1024

function json(status: number, body?: unknown): Reply {
  return body === undefined ? { status } : { status, body }
}

function problem(status: number, error: string): Reply {
  return { status, body: { error } }
}

class BadControlRequest extends Error {}

async function jsonBody<S extends TSchema>(req: IncomingMessage, schema: S, optional = false): Promise<Static<S>> {
  const raw = await readBody(req, MAX_CONTROL_BODY)
  let value: unknown
  if (raw.length === 0 && optional) {
    value = {}
  } else {
    try {
      value = JSON.parse(raw.toString('utf8'))
    } catch {
      throw new BadControlRequest('body must be JSON')
    }
  }
  if (!Value.Check(schema, value)) {
    const first = Value.Errors(schema, value)[0]
    throw new BadControlRequest(
      first === undefined
        ? 'invalid body'
        : `${first.instancePath === '' ? 'body' : first.instancePath} ${first.message}`
    )
  }
  return value
}

export async function handleControl(
  req: IncomingMessage,
  path: string,
  query: URLSearchParams,
  control: EmulatorControl
): Promise<Reply> {
  try {
    return await route(req, req.method ?? 'GET', path.slice(CONTROL_PREFIX.length).replace(/\/$/, ''), query, control)
  } catch (err) {
    if (err instanceof BadControlRequest || err instanceof RangeError) return problem(400, err.message)
    if (err instanceof Error && err.message.startsWith('seed:')) return problem(400, err.message)
    throw err
  }
}

async function route(
  req: IncomingMessage,
  method: string,
  path: string,
  query: URLSearchParams,
  control: EmulatorControl
): Promise<Reply> {
  const conn = /^\/connections\/([^/]+)(\/state|\/test-result)?$/.exec(path)
  if (conn !== null) {
    const id = decodeURIComponent(conn[1] as string)
    const sub = conn[2]
    if (sub === undefined && method === 'GET') {
      const found = control.storedConnection(id)
      return found === undefined ? problem(404, `no connection ${id}`) : json(200, found)
    }
    if (sub === undefined && method === 'DELETE') {
      return control.deleteConnection(id) ? json(204) : problem(404, `no connection ${id}`)
    }
    if (sub === '/state' && method === 'PUT') {
      const { state } = await jsonBody(req, StateRequest)
      return control.forceState(id, state)
        ? json(200, control.storedConnection(id))
        : problem(404, `no connection ${id}`)
    }
    if (sub === '/test-result' && method === 'PUT') {
      const { result } = await jsonBody(req, TestResultRequest)
      return control.setTestResult(id, result)
        ? json(200, control.storedConnection(id))
        : problem(404, `no connection ${id}`)
    }
    return problem(405, `${method} not allowed on ${CONTROL_PREFIX}${path}`)
  }

  switch (`${method} ${path}`) {
    case 'GET /health':
      return json(200, { status: 'ok' })
    case 'GET /calls':
      return json(200, control.callCounts())
    case 'GET /requests':
      return json(200, { items: control.recentRequests() })
    case 'GET /faults':
      return json(200, { items: control.pendingFaults() })
    case 'POST /faults': {
      const body = await jsonBody(req, FaultRequest)
      control.injectFault(body.operation, body.fault, body.count ?? 1)
      return json(201, { items: control.pendingFaults() })
    }
    case 'DELETE /faults': {
      const op = query.get('operation')
      if (op !== null && !(OPERATIONS as readonly string[]).includes(op)) return problem(400, `unknown operation ${op}`)
      control.clearFaults(op === null ? undefined : (op as Operation))
      return json(204)
    }
    case 'GET /chaos':
      return json(200, { options: control.chaos(), log: control.chaosLog() })
    case 'PUT /chaos': {
      const options = await jsonBody(req, ChaosOptions)
      control.setChaos(options)
      return json(200, { options: control.chaos() })
    }
    case 'DELETE /chaos':
      control.setChaos(null)
      return json(204)
    case 'GET /landings':
      return json(200, { items: control.pendingLandings() })
    case 'POST /landings/land':
      return json(200, { ids: control.landNow() })
    case 'GET /ready-delay':
      return json(200, { readyDelayMs: control.readyDelayMs() })
    case 'PUT /ready-delay': {
      const { readyDelayMs } = await jsonBody(req, ReadyDelayRequest)
      control.setReadyDelayMs(readyDelayMs)
      return json(200, { readyDelayMs })
    }
    case 'POST /tokens/expire':
      control.expireTokens()
      return json(204)
    case 'POST /tokens/revoke': {
      const { token } = await jsonBody(req, RevokeRequest, true)
      control.revokeTokens(token)
      return json(204)
    }
    case 'GET /connections': {
      const sandbox = query.get('sandbox')
      return json(200, { items: control.storedConnections(sandbox ?? undefined) })
    }
    case 'POST /seed': {
      const options = await jsonBody(req, SeedOptions)
      const ids = control.seed(options)
      return json(201, { count: ids.length, ids })
    }
    case 'POST /reset':
      control.reset({ keepTokens: query.get('keepTokens') === 'true' })
      return json(204)
    default:
      return problem(404, `no control route ${method} ${CONTROL_PREFIX}${path}`)
  }
}
