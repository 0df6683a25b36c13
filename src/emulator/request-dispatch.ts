// The request pipeline: route, count and log, gateway checks, injected fault, then the operation itself.
// Faults come after the gateway checks so they are spent on requests that would otherwise have succeeded.
import type { IncomingMessage, ServerResponse } from 'node:http'
import { flowError, gatewayError } from './adobe-errors.js'
import type { ConnectionRoutes, FlowContext } from './connection-routes.js'
import { FLOW_SERVICE_PREFIX } from './connection-routes.js'
import { CONTROL_PREFIX, handleControl } from './control-routes.js'
import type { FaultBook } from './faults.js'
import { faultReply } from './faults.js'
import { checkContentType, checkGateway, checkSandbox } from './gateway-checks.js'
import type { Reply } from './http-io.js'
import { BodyTooLarge, dropSocket, readBody, sendReply, singleHeader, type TimerSet } from './http-io.js'
import { newRequestId } from './identifiers.js'
import { handleTokenRequest } from './ims-token.js'
import type { RequestLog } from './request-log.js'
import { loggableQuery } from './request-log.js'
import type { TokenIssuer } from './token-issuer.js'
import type { EmulatorControl, EmulatorCredentials, EmulatorLogger, Operation, RequestLogEntry } from './types.js'

export const IMS_TOKEN_PATH = '/ims/token/v3'
const MAX_BODY_BYTES = 1024 * 1024
/** A held request is dropped after this long when the fault names no delay: longer than any sane client timeout. */
const DEFAULT_HOLD_MS = 60_000

export interface DispatchDeps {
  credentials: EmulatorCredentials
  tokens: TokenIssuer
  routes: ConnectionRoutes
  faults: FaultBook
  log: RequestLog
  timers: TimerSet
  control: EmulatorControl
  logger: EmulatorLogger | undefined
}

type Route =
  | { operation: 'token' }
  | { operation: 'create' | 'list' }
  | { operation: 'get' | 'update' | 'delete' | 'test', id: string }

export function createRequestHandler (deps: DispatchDeps): (req: IncomingMessage, res: ServerResponse) => void {
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

async function handle (deps: DispatchDeps, req: IncomingMessage, res: ServerResponse): Promise<void> {
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
  const entry = deps.log.record({
    at: Date.now(),
    method,
    path,
    query: loggableQuery(queryString),
    ...(sandbox === undefined ? {} : { sandbox })
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

  if (route.operation === 'token') {
    await withFault(deps, req, res, 'token', entry, requestId, async () => {
      const body = await readBody(req, MAX_BODY_BYTES)
      return handleTokenRequest(body, singleHeader(req.headers['content-type']), deps.credentials, deps.tokens)
    })
    return
  }

  const gw = checkGateway(req.headers, deps.tokens, deps.credentials)
  if (!gw.ok) {
    sendReply(res, gw.reply, requestId)
    return
  }
  await withFault(deps, req, res, route.operation, entry, requestId, async () => await perform(deps, req, route, gw.clientId, query, requestId))
}

/** Runs `work` under the next queued fault of the operation, if any. */
async function withFault (
  deps: DispatchDeps,
  req: IncomingMessage,
  res: ServerResponse,
  operation: Operation,
  entry: RequestLogEntry,
  requestId: string,
  work: () => Promise<Reply>
): Promise<void> {
  const fault = deps.faults.take(operation)
  if (fault === undefined) {
    sendReply(res, await work(), requestId)
    return
  }
  deps.log.markFault(entry, fault.kind)
  switch (fault.kind) {
    case 'reset':
      dropSocket(req)
      return
    case 'timeout':
      // Held until the client gives up, the hold ends, or the emulator closes; never answered either way.
      await deps.timers.wait(fault.delayMs ?? DEFAULT_HOLD_MS, closeSignal(res))
      dropSocket(req)
      return
    case 'delay':
      if (!await deps.timers.wait(fault.delayMs, closeSignal(res))) {
        dropSocket(req)
        return
      }
      sendReply(res, await work(), requestId)
      return
    case 'lost-answer':
      // The work is done (a connection may now exist) but the answer never reaches the client.
      await work()
      dropSocket(req)
      return
    default:
      sendReply(res, faultReply(operation, fault, requestId) ?? await work(), requestId)
  }
}

function closeSignal (res: ServerResponse): AbortSignal {
  const ac = new AbortController()
  res.once('close', () => { ac.abort() })
  return ac.signal
}

async function perform (
  deps: DispatchDeps,
  req: IncomingMessage,
  route: Exclude<Route, { operation: 'token' }>,
  clientId: string,
  query: URLSearchParams,
  requestId: string
): Promise<Reply> {
  const sb = checkSandbox(req.headers, requestId)
  if (!sb.ok) return sb.reply
  const ctx: FlowContext = {
    sandboxName: sb.sandboxName,
    clientId,
    requestId,
    query,
    ifMatch: singleHeader(req.headers['if-match'])
  }
  switch (route.operation) {
    case 'list': return deps.routes.list(ctx)
    case 'get': return deps.routes.get(ctx, route.id)
    case 'test': return deps.routes.test(ctx, route.id)
    case 'delete': return deps.routes.remove(ctx, route.id)
    case 'create': {
      const body = await jsonBody(req, requestId)
      return 'reply' in body ? body.reply : deps.routes.create(ctx, body.value)
    }
    case 'update': {
      const body = await jsonBody(req, requestId)
      return 'reply' in body ? body.reply : deps.routes.update(ctx, route.id, body.value)
    }
  }
}

async function jsonBody (req: IncomingMessage, requestId: string): Promise<{ value: unknown } | { reply: Reply }> {
  const badType = checkContentType(req.headers, req.method ?? 'POST')
  if (badType !== undefined) return { reply: badType }
  let raw: Buffer
  try {
    raw = await readBody(req, MAX_BODY_BYTES)
  } catch (err) {
    if (err instanceof BodyTooLarge) return { reply: gatewayError(413, '413000', 'Request entity too large') }
    throw err
  }
  const text = raw.toString('utf8').trim()
  if (text === '' || text === 'null') {
    return { reply: flowError('1405-400', 'The request body cannot be null or empty. Please provide a request body and try again.', requestId) }
  }
  try {
    return { value: JSON.parse(text) as unknown }
  } catch (err) {
    return { reply: flowError('1100-400', `Malformed JSON body: ${(err as Error).message}`, requestId) }
  }
}

function matchRoute (method: string, path: string): Route | Reply {
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

function safeDecode (segment: string): string {
  try {
    return decodeURIComponent(segment)
  } catch {
    return segment
  }
}

function notFoundRoute (path: string): Reply {
  return gatewayError(404, '404000', `No route for ${path}`)
}

function notAllowed (method: string, path: string): Reply {
  return gatewayError(405, '405000', `Method ${method} not allowed on ${path}`)
}
