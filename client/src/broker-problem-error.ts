// The errors the client throws: a problem the broker answered (typed from the OpenAPI document), or a request that
// got no answer. Neither ever quotes the request: a create or rotation carries secret params, and an error message
// ends up in logs.
import type { ErrorResponse, MediaType, ResponseObjectMap } from 'openapi-typescript-helpers'
import type { paths } from './schema.js'

/**
 * The application/problem+json body (RFC 9457) of a failed call: `type`, `title`, `status`, `detail`, and where the
 * broker gives them `errors` (one `{path, message}` per bad field), `connectionId`, `downstream` (Flow Service's own
 * refusal). Taken from the generated types, so it follows the document.
 */
export type BrokerProblem = ErrorResponse<ResponseObjectMap<paths['/v1/connections/{id}']['get']>, MediaType>

/** The broker answered with an error status. `problem` is its body; `status` the HTTP status. */
export class BrokerProblemError extends Error {
  override readonly name = 'BrokerProblemError'
  readonly status: number
  readonly problem: BrokerProblem
  /** Seconds the broker asked to wait before retrying (Retry-After on 429 and 503), when it said. */
  readonly retryAfterSeconds: number | undefined
  /** The Idempotency-Key the create was sent with: retry with it to get the original outcome. */
  readonly idempotencyKey: string | undefined

  constructor(operation: string, response: Response, body: unknown, idempotencyKey?: string) {
    const problem = asProblem(response, body)
    super(`${operation}: ${problem.status} ${problem.title}: ${problem.detail}`)
    this.status = response.status
    this.problem = problem
    const retryAfter = Number(response.headers.get('retry-after') ?? Number.NaN)
    this.retryAfterSeconds = Number.isFinite(retryAfter) ? retryAfter : undefined
    this.idempotencyKey = idempotencyKey
  }
}

/** No answer from the broker (refused, reset, timed out): whether a create or change happened is unknown. */
export class BrokerRequestError extends Error {
  override readonly name = 'BrokerRequestError'
  /** The Idempotency-Key the create was sent with: retry with it to get the outcome without a duplicate. */
  readonly idempotencyKey: string | undefined

  constructor(operation: string, cause: unknown, idempotencyKey?: string) {
    super(`${operation}: no answer from the broker (${cause instanceof Error ? cause.message : String(cause)})`, {
      cause
    })
    this.idempotencyKey = idempotencyKey
  }
}

/** The broker's problem as it is; anything else (a proxy's HTML page, an empty body) as a problem saying so. */
function asProblem(response: Response, body: unknown): BrokerProblem {
  if (
    typeof body === 'object' &&
    body !== null &&
    typeof (body as { title?: unknown }).title === 'string' &&
    typeof (body as { status?: unknown }).status === 'number'
  ) {
    const problem = body as BrokerProblem
    return { ...problem, detail: typeof problem.detail === 'string' ? problem.detail : problem.title }
  }
  return {
    type: 'about:blank',
    title: response.statusText || `HTTP ${response.status}`,
    status: response.status,
    detail: `The answer (${response.headers.get('content-type') ?? 'no content type'}) is not a problem document.`
  }
}
