// The request pipeline: route, count and log, gateway checks, injected fault (queued, else chaos), then the operation.
// Faults come after the gateway checks so they are spent on requests that would otherwise have succeeded.
import type { IncomingMessage, ServerResponse } from 'node:http'
import { flowError, gatewayError } from './adobe-errors.js'
import type { Chaos } from './chaos.js'
import type { ConnectionRoutes } from './connection-routes.js'
import { FLOW_SERVICE_PREFIX } from './connection-routes.js'
import type { ConnectionStore } from './connection-store.js'
import { CONTROL_PREFIX, handleControl } from './control-routes.js'
import { runFault } from './fault-runner.js'
import type { FaultBook } from './faults.js'
import { FlowCall, type FlowRoute } from './flow-call.js'
import { checkGateway } from './gateway-checks.js'
import type { Reply } from './http-io.js'
import { readBody, sendReply, singleHeader, type TimerSet } from './http-io.js'
import { newRequestId } from './identifiers.js'
import { handleTokenRequest } from './ims-token.js'
import type { LateLandings } from './late-landings.js'
import type { RequestLog } from './request-log.js'
import { loggableQuery } from './request-log.js'
import type { TokenIssuer } from './token-issuer.js'
import type { EmulatorControl, EmulatorCredentials, EmulatorLogger } from './types.js'

export const IMS_TOKEN_PATH = '/ims/token/v3'
const MAX_BODY_BYTES = 1024 * 1024

export interface DispatchDeps {
  /** Milliseconds since the epoch, as the rest of the emulator reads them. */
  clock: () => number
  credentials: EmulatorCredentials
  tokens: TokenIssuer
  routes: ConnectionRoutes
  store: ConnectionStore
  faults: FaultBook
  chaos: Chaos
  landings: LateLandings
  log: RequestLog
  timers: TimerSet
  control: EmulatorControl
  logger: EmulatorLogger | undefined
}

type Route = { operation: 'token' } | FlowRoute

export function createRequestHandler(deps: DispatchDeps): (req: IncomingMessage, res: ServerResponse) => void {
  return (req, res) => {
    handle(deps, req, res).catch((err: unknown) => {
      // A client that leaves mid-body lands here; anything else is an emulator bug worth seeing.
      deps.logger?.warn({ err, method: req.method, url: req.url }, 'emulator request failed')
      if (!res.headersSent && !res.destroyed) {
        sendReply(res, flowError('1102-500', 'An internal error has occurred in the emulator.', 'emulator'), 'emulator')
      }
    })
  }
}

async function handle(deps: DispatchDeps, req: IncomingMessage, res: ServerResponse): Promise<void> {
  const method = req.method ?? 'GET'
  const rawUrl = req.url ?? '/'
  const q = rawUrl.indexOf('?')
  const path = q === -1 ? rawUrl : rawUrl.slice(0, q)
  const queryString = q === -1 ? '' : rawUrl.slice(q + 1)
  const query = new URLSearchParams(queryString)
  const requestId = singleHeader(req.headers['x-request-id']) ?? newRequestId()

  if (path === CONTROL_PREFIX || path.startsWith(`${CONTROL_PREFIX}/`)) {
    // Control calls are neither counted nor logged: tests read the log to see what the broker did.
    sendReply(res, await handleControl(req, path, query, deps.control), requestId)
    return
  }

  const sandbox = singleHeader(req.headers['x-sandbox-name'])
  const receivedRequestId = singleHeader(req.headers['x-request-id'])
  const traceparent = singleHeader(req.headers.traceparent)
  const entry = deps.log.record({
    at: deps.clock(),
    method,
    path,
    query: loggableQuery(queryString),
    ...(sandbox === undefined ? {} : { sandbox }),
    ...(receivedRequestId === undefined ? {} : { requestId: receivedRequestId }),
    ...(traceparent === undefined ? {} : { traceparent })
  })
  res.once('close', () => {
    entry.status = res.writableFinished ? res.statusCode : 'no-answer'
  })
  deps.logger?.debug({ method, path, requestId }, 'emulator request')

  const route = matchRoute(method, path)
  if ('status' in route) {
    sendReply(res, route, requestId)
    return
  }
  deps.log.count(route.operation, entry)
  const io = { req, res, requestId }

  if (route.operation === 'token') {
    const work = async (): Promise<Reply> => {
      const body = await readBody(req, MAX_BODY_BYTES)
      return handleTokenRequest(body, singleHeader(req.headers['content-type']), deps.credentials, deps.tokens)
    }
    const fault = deps.faults.take('token')
    if (fault === undefined) {
      sendReply(res, await work(), requestId)
      return
    }
    deps.log.markFault(entry, fault.kind)
    await runFault(deps, io, 'token', fault, work)
    return
  }

  const gw = checkGateway(req.headers, deps.tokens, deps.credentials)
  if (!gw.ok) {
    sendReply(res, gw.reply, requestId)
    return
  }
  const call = new FlowCall(deps, req, route, gw.clientId, query, queryString, requestId)
  const queued = deps.faults.take(route.operation)
  const fault = queued ?? deps.chaos.draw(route.operation)
  if (fault === undefined) {
    sendReply(res, await call.perform(), requestId)
    return
  }
  deps.log.markFault(entry, fault.kind, queued === undefined)
  await runFault(deps, io, route.operation, fault, async () => await call.perform(), call)
}

function matchRoute(method: string, path: string): Route | Reply {
  if (path === IMS_TOKEN_PATH) return method === 'POST' ? { operation: 'token' } : notAllowed(method, path)
  if (!path.startsWith(`${FLOW_SERVICE_PREFIX}/`)) return notFoundRoute(path)
  // The published spec declares PATCH/DELETE with a trailing slash; clients send either form.
  let rest = path.slice(FLOW_SERVICE_PREFIX.length)
  if (rest.length > 1 && rest.endsWith('/')) rest = rest.slice(0, -1)
  const parts = rest.split('/')
  if (parts[1] !== 'connections') return notFoundRoute(path)
  if (parts.length === 2) {
    if (method === 'GET') return { operation: 'list' }
    if (method === 'POST') return { operation: 'create' }
    return notAllowed(method, path)
  }
  const id = safeDecode(parts[2] as string)
  if (parts.length === 3 && id !== '') {
    if (method === 'GET') return { operation: 'get', id }
    if (method === 'PATCH') return { operation: 'update', id }
    if (method === 'DELETE') return { operation: 'delete', id }
    return notAllowed(method, path)
  }
  if (parts.length === 4 && parts[3] === 'test' && id !== '') {
    return method === 'GET' ? { operation: 'test', id } : notAllowed(method, path)
  }
  return notFoundRoute(path)
}

function safeDecode(segment: string): string {
  try {
    return decodeURIComponent(segment)
  } catch {
    return segment
  }
}

function notFoundRoute(path: string): Reply {
  return gatewayError(404, '404000', `No route for ${path}`)
}

function notAllowed(method: string, path: string): Reply {
  return gatewayError(405, '405000', `Method ${method} not allowed on ${path}`)
}
