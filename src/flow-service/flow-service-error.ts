// FlowServiceError and the one function that turns every Flow Service or IMS outcome into it.
// Callers decide what to retry from `kind` alone; nothing else in the code reads HTTP statuses from Adobe.
import type { IncomingHttpHeaders } from 'node:http'
import type { FlowServiceErrorBody } from './types.js'
import { deepErrorCode } from '../shared/error-code.js'

/**
 * - retryable: nothing happened downstream (or it is safe to repeat); try again later, after `retryAfterMs` if set.
 * - ambiguous: a create/update may or may not have been applied; look before repeating it.
 * - rejected: Flow Service said no for a reason repeating will not fix (`code`, `downstreamMessage` say why).
 * - not_found: the connection does not exist (any more).
 * - precondition_failed: the etag sent in If-Match is stale (1404-412).
 * - busy: the connection is still initializing and cannot be changed yet (1417-400).
 * - auth: the broker's own credentials or entitlements are wrong (IMS rejected them, or 401/403 after a fresh token).
 */
/** FlowServiceError.code of an answer that does not check out (about another id, empty, unreadable, a 404 from a gateway). */
export const UNEXPECTED_ANSWER = 'unexpected_answer'

export type FlowServiceErrorKind =
  'retryable' | 'rejected' | 'not_found' | 'precondition_failed' | 'busy' | 'ambiguous' | 'auth'

export type FlowServiceOperation =
  | 'getToken'
  | 'createConnection'
  | 'getConnection'
  | 'listConnections'
  | 'updateConnection'
  | 'deleteConnection'
  | 'testConnection'
  | 'ping'

/** Operations that change state downstream and cannot be blindly repeated once the request may have left. */
const NON_IDEMPOTENT: ReadonlySet<FlowServiceOperation> = new Set(['createConnection', 'updateConnection'])

export interface FlowServiceErrorInit {
  kind: FlowServiceErrorKind
  operation: FlowServiceOperation
  status?: number
  code?: string
  downstreamMessage?: string
  retryAfterMs?: number
  requestId?: string
  cause?: unknown
}

export class FlowServiceError extends Error {
  override readonly name = 'FlowServiceError'
  readonly kind: FlowServiceErrorKind
  readonly operation: FlowServiceOperation
  readonly status?: number
  /** Adobe's catalogue code (`1404-412`), a gateway `error_code` (`401013`) or an IMS `error` (`invalid_client`). */
  readonly code?: string
  /** Adobe's own explanation, with any echo of the call's secrets already redacted; safe to show callers. */
  readonly downstreamMessage?: string
  readonly retryAfterMs?: number
  /** Adobe's x-request-id (or the one we sent), for support tickets. */
  readonly requestId?: string

  constructor(init: FlowServiceErrorInit) {
    super(describe(init), init.cause !== undefined ? { cause: init.cause } : undefined)
    this.kind = init.kind
    this.operation = init.operation
    if (init.status !== undefined) this.status = init.status
    if (init.code !== undefined) this.code = init.code
    if (init.downstreamMessage !== undefined) this.downstreamMessage = init.downstreamMessage
    if (init.retryAfterMs !== undefined) this.retryAfterMs = init.retryAfterMs
    if (init.requestId !== undefined) this.requestId = init.requestId
  }
}

function describe(init: FlowServiceErrorInit): string {
  const parts = [`${init.operation} failed (${init.kind})`]
  if (init.status !== undefined) parts.push(`HTTP ${init.status}`)
  if (init.code !== undefined) parts.push(init.code)
  if (init.downstreamMessage !== undefined) parts.push(init.downstreamMessage)
  else if (init.cause instanceof Error) parts.push(init.cause.message)
  return parts.join(': ')
}

export interface FlowServiceFailure {
  operation: FlowServiceOperation
  /** The answer, when a status line arrived. `body` is whatever text could be read (absent if reading failed). */
  response?: { status: number; headers: IncomingHttpHeaders; body?: string }
  /** What went wrong on the wire, or while reading or parsing the answer. */
  error?: unknown
  /** The x-request-id we sent, used when Adobe does not echo one. */
  requestId?: string
  /** Clock for HTTP-date Retry-After values; tests pin it. */
  now?: number
  /** Removes the call's secrets from text taken from the answer (see redact-echoes.ts); absent when it carried none. */
  redact?: (text: string) => string
}

/**
 * Maps one failed outcome to a FlowServiceError. Order matters: an error we already classified stays as it is;
 * an answer with a status is judged by its status; a bare wire error by whether the request could have left.
 */
export function classifyFlowServiceFailure(failure: FlowServiceFailure): FlowServiceError {
  const { operation, response, error } = failure
  if (error instanceof FlowServiceError) return error
  const redact = failure.redact ?? unchanged
  const nonIdempotent = NON_IDEMPOTENT.has(operation)
  // The kind is read from the error as it is; what the FlowServiceError keeps of it is redacted.
  const cause = failure.redact !== undefined ? redactedCause(error, failure.redact) : error
  const base = {
    operation,
    ...(cause !== undefined ? { cause } : {}),
    ...(failure.requestId !== undefined ? { requestId: failure.requestId } : {})
  }

  if (response === undefined) {
    // No status line: either we never got through (safe to repeat) or the request left and the answer was lost.
    const kind = nonIdempotent && !failedBeforeSending(error) ? 'ambiguous' : 'retryable'
    return new FlowServiceError({ ...base, kind })
  }

  const { status, headers } = response
  const body = parseErrorBody(response.body, redact)
  const requestId = mapDefined(header(headers, 'x-request-id'), redact) ?? body.requestId ?? failure.requestId
  const retryAfterMs = parseRetryAfter(header(headers, 'retry-after'), failure.now ?? Date.now())
  const details = {
    ...base,
    status,
    ...(body.code !== undefined ? { code: body.code } : {}),
    ...(body.message !== undefined ? { downstreamMessage: body.message } : {}),
    ...(retryAfterMs !== undefined ? { retryAfterMs } : {}),
    ...(requestId !== undefined ? { requestId } : {})
  }

  if (status >= 200 && status < 300) {
    // A success we could not read: for a create, the connection may exist with an id we never saw.
    return new FlowServiceError({ ...details, kind: nonIdempotent ? 'ambiguous' : 'retryable' })
  }
  if (operation === 'getToken') return new FlowServiceError({ ...details, kind: imsKind(status) })
  return new FlowServiceError({ ...details, kind: flowServiceKind(status, body.code, nonIdempotent) })
}

/**
 * A FlowServiceError for an answer that came back but does not check out. `why` is ours and names what was odd;
 * nothing of the body is quoted (it may be anything, including another connection's data).
 */
export function unexpectedAnswer(
  failure: FlowServiceFailure,
  kind: 'retryable' | 'ambiguous',
  why: string
): FlowServiceError {
  const requestId =
    mapDefined(
      failure.response !== undefined ? header(failure.response.headers, 'x-request-id') : undefined,
      failure.redact ?? unchanged
    ) ?? failure.requestId
  return new FlowServiceError({
    kind,
    operation: failure.operation,
    code: UNEXPECTED_ANSWER,
    ...(failure.response !== undefined ? { status: failure.response.status } : {}),
    ...(requestId !== undefined ? { requestId } : {}),
    cause: new Error(why)
  })
}

const unchanged = (text: string): string => text

function mapDefined(value: string | undefined, map: (text: string) => string): string | undefined {
  return value === undefined ? undefined : map(value)
}

/** How deep a chain of causes is copied; deeper ones are dropped rather than kept unredacted. */
const MAX_CAUSE_DEPTH = 4

/**
 * A copy of a wire error (undici's, say) whose every string went through `redact`: some carry the bytes of the answer
 * they choked on, and a cause ends up in logs and stack traces. Keeps name and code, which callers read.
 */
function redactedCause(error: unknown, redact: (text: string) => string, depth = 0): unknown {
  if (error === undefined) return undefined
  if (typeof error === 'string') return redact(error)
  if (!(error instanceof Error) || depth >= MAX_CAUSE_DEPTH) return undefined
  const copy = new Error(redact(error.message))
  copy.name = error.name
  copy.stack = error.stack !== undefined ? redact(error.stack) : `${copy.name}: ${copy.message}`
  const code = (error as { code?: unknown }).code
  if (typeof code === 'string' || typeof code === 'number')
    Object.assign(copy, { code: typeof code === 'string' ? redact(code) : code })
  const inner = redactedCause(error.cause, redact, depth + 1)
  if (inner !== undefined) copy.cause = inner
  return copy
}

function flowServiceKind(status: number, code: string | undefined, nonIdempotent: boolean): FlowServiceErrorKind {
  if (status === 429 || status === 503 || status === 408) return 'retryable'
  // These come from a server or gateway that may have given up after the backend acted on the request.
  if (status === 500 || status === 502 || status === 504) return nonIdempotent ? 'ambiguous' : 'retryable'
  if (status === 404) return 'not_found'
  if (status === 412) return 'precondition_failed'
  if (status === 401 || status === 403) return 'auth'
  if (status === 400 && code === '1417-400') return 'busy'
  if (status >= 500 && status !== 501 && status !== 505) return nonIdempotent ? 'ambiguous' : 'retryable'
  return 'rejected'
}

function imsKind(status: number): FlowServiceErrorKind {
  if (status === 429 || status === 408 || status >= 500) return 'retryable'
  // invalid_client, invalid_scope, unauthorized_client...: a new attempt with the same secret fails the same way.
  return 'auth'
}

/** Error codes that can only happen while connecting, i.e. before a byte of the request left. */
const CONNECT_PHASE_CODES: ReadonlySet<string> = new Set([
  'ECONNREFUSED',
  'ENOTFOUND',
  'EAI_AGAIN',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'EHOSTDOWN',
  'ENETDOWN',
  'UND_ERR_CONNECT_TIMEOUT',
  'CERT_HAS_EXPIRED',
  'DEPTH_ZERO_SELF_SIGNED_CERT',
  'SELF_SIGNED_CERT_IN_CHAIN',
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
  'UNABLE_TO_GET_ISSUER_CERT_LOCALLY'
])

/**
 * True only when the error proves the request never left. A reset or a timeout on an established socket
 * (UND_ERR_SOCKET, ECONNRESET, EPIPE, UND_ERR_HEADERS_TIMEOUT, ETIMEDOUT...) proves nothing, so it counts as sent.
 */
function failedBeforeSending(error: unknown): boolean {
  const code = deepErrorCode(error)
  return code !== undefined && (CONNECT_PHASE_CODES.has(code) || code.startsWith('ERR_TLS_'))
}

function header(headers: IncomingHttpHeaders, name: string): string | undefined {
  const value = headers[name]
  const first = Array.isArray(value) ? value[0] : value
  return first !== undefined && first !== '' ? first : undefined
}

/** Retry-After is either delay-seconds or an HTTP date; anything else is ignored rather than trusted. */
export function parseRetryAfter(value: string | undefined, now: number): number | undefined {
  if (value === undefined) return undefined
  const trimmed = value.trim()
  if (/^\d+(\.\d+)?$/.test(trimmed)) return Math.round(Number(trimmed) * 1000)
  const at = Date.parse(trimmed)
  if (Number.isNaN(at)) return undefined
  return Math.max(0, at - now)
}

const MAX_MESSAGE_LENGTH = 1000
const CATALOGUE_CODE = /(?:^|\D)(\d{4}-\d{3})\/?$/

interface ParsedErrorBody {
  code?: string
  message?: string
  requestId?: string
}

/**
 * Reads every error body Adobe is known to send: the long form (type/title/report/errorMessage), the short form
 * (errorMessage/errorDetails), the gateway form (error_code/message), the placeholder BadRequestError (detail),
 * IMS (error/error_description), or nothing at all. Every string taken goes through `redact` first (before the
 * message is cut to length, so a cut cannot split an echo where the redactor no longer sees it).
 */
export function parseErrorBody(
  text: string | undefined,
  redact: (text: string) => string = unchanged
): ParsedErrorBody {
  if (text === undefined || text.trim() === '') return {}
  let json: unknown
  try {
    json = JSON.parse(text)
  } catch {
    return {}
  }
  if (typeof json !== 'object' || json === null || Array.isArray(json)) return {}
  const body = json as FlowServiceErrorBody & { code?: unknown; error?: unknown; error_description?: unknown }
  const report = typeof body.report === 'object' && body.report !== null ? body.report : undefined

  const code = mapDefined(
    catalogueCode(body.type) ??
      catalogueCode(body.code) ??
      stringOf(body.code) ??
      stringOf(body.error_code) ??
      stringOf(body.error),
    redact
  )
  const rawMessage =
    stringOf(report?.['detailed-message']) ??
    stringOf(body.errorMessage) ??
    stringOf(body.errorDetails) ??
    stringOf(body.message) ??
    stringOf(body.detail) ??
    stringOf(body.error_description) ??
    stringOf(body.title)
  const message = mapDefined(rawMessage, redact)
  const requestId = mapDefined(stringOf(report?.['request-id']), redact)
  return {
    ...(code !== undefined ? { code } : {}),
    ...(message !== undefined ? { message: message.slice(0, MAX_MESSAGE_LENGTH) } : {}),
    ...(requestId !== undefined ? { requestId } : {})
  }
}

/**
 * True when a 404's body is Flow Service's own "not found" (its short form errorMessage/errorDetails, or its long form
 * with an NNNN-404 catalogue code), not a gateway's `error_code`, a proxy's HTML page or nothing at all: only the
 * former proves the connection is gone.
 */
export function isFlowServiceNotFound(text: string | undefined): boolean {
  if (text === undefined) return false
  let json: unknown
  try {
    json = JSON.parse(text)
  } catch {
    return false
  }
  if (typeof json !== 'object' || json === null || Array.isArray(json)) return false
  const body = json as FlowServiceErrorBody
  if (body.error_code !== undefined) return false
  if (stringOf(body.errorMessage) !== undefined || (body.errorDetails !== undefined && body.errorDetails !== null))
    return true
  return [catalogueCode(body.type), catalogueCode(body.title)].some((code) => code?.endsWith('-404') === true)
}

/** `https://ns.adobe.com/aep/errors/FLOW-1404-412` or `FLOW-1404-412` → `1404-412`. */
function catalogueCode(value: unknown): string | undefined {
  return stringOf(value)?.match(CATALOGUE_CODE)?.[1]
}

function stringOf(value: unknown): string | undefined {
  if (typeof value === 'string' && value.trim() !== '') return value.trim()
  if (typeof value === 'number' && Number.isFinite(value)) return String(value)
  return undefined
}
