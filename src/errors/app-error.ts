// One error model: every failure a caller can see is an AppError with a code; the HTTP layer turns it into problem+json.
import type { FieldError } from '../shared/field-error.js'

export const ErrorCodes = {
  validation_failed: { status: 400, title: 'The request is not valid' },
  malformed_json: { status: 400, title: 'The body is not valid JSON' },
  unknown_connection_spec: { status: 400, title: 'Unknown connection spec' },
  unknown_auth_spec: { status: 400, title: 'Unknown auth spec for this connection spec' },
  invalid_params: { status: 400, title: 'The auth params are not valid' },
  unauthorized: { status: 401, title: 'Authentication required' },
  forbidden: { status: 403, title: 'Not allowed' },
  not_found: { status: 404, title: 'Not found' },
  method_not_allowed: { status: 405, title: 'Method not allowed' },
  request_timeout: { status: 408, title: 'The request did not arrive in time' },
  conflict: { status: 409, title: 'Conflict' },
  connection_busy: { status: 409, title: 'The connection is busy downstream' },
  idempotency_key_in_use: { status: 409, title: 'A request with this Idempotency-Key is still running' },
  precondition_failed: { status: 412, title: 'A precondition of the request does not hold' },
  payload_too_large: { status: 413, title: 'The body is too large' },
  unsupported_media_type: { status: 415, title: 'Unsupported content type' },
  idempotency_key_reused: { status: 422, title: 'Idempotency-Key reused with a different body' },
  downstream_rejected: { status: 422, title: 'Flow Service rejected the connection' },
  downstream_refused: { status: 422, title: 'Flow Service refused the change' },
  rate_limited: { status: 429, title: 'Too many requests' },
  headers_too_large: { status: 431, title: 'The request headers are too large' },
  internal: { status: 500, title: 'Internal error' },
  downstream_unavailable: { status: 503, title: 'Flow Service is unavailable' },
  secret_store_unavailable: { status: 503, title: 'The secret store is unavailable' },
  database_unavailable: { status: 503, title: 'The database is unavailable' }
} as const satisfies Record<string, { status: number; title: string }>

export type ErrorCode = keyof typeof ErrorCodes

/** A wrong field of a request: JSON Pointer into the body, or `query.<name>` / `header.<name>`. */
export type FieldProblem = FieldError

export interface AppErrorOptions {
  errors?: FieldProblem[]
  /** Extra problem members, e.g. `downstream: { code, message }`. Never secrets. */
  extensions?: Record<string, unknown>
  retryAfterSeconds?: number
  cause?: unknown
}

export class AppError extends Error {
  override readonly name = 'AppError'
  readonly status: number
  readonly title: string
  readonly errors: FieldProblem[] | undefined
  readonly extensions: Record<string, unknown> | undefined
  readonly retryAfterSeconds: number | undefined

  constructor(
    readonly code: ErrorCode,
    readonly detail: string,
    options: AppErrorOptions = {}
  ) {
    super(detail, options.cause !== undefined ? { cause: options.cause } : undefined)
    this.status = ErrorCodes[code].status
    this.title = ErrorCodes[code].title
    this.errors = options.errors
    this.extensions = options.extensions
    this.retryAfterSeconds = options.retryAfterSeconds
  }
}

export const problemType = (code: ErrorCode): string =>
  `https://credential-broker.dev/problems/${code.replaceAll('_', '-')}`
