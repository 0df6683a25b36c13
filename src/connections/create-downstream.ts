// Creates the downstream connection of one broker connection: retries what is safe to retry, and after an
// ambiguous POST looks for the broker's marker before any new POST, so at most one connection exists downstream.
import type { Logger } from 'pino'
import type { FlowServiceClient } from '../flow-service/flow-service-client.js'
import { FlowServiceError } from '../flow-service/flow-service-error.js'
import { retryWithBackoff } from '../flow-service/retry.js'
import type { CreateConnectionBody } from '../flow-service/types.js'
import { findAdoptableDownstream, type MarkedDownstream } from './downstream-marker.js'

export interface DownstreamCreate {
  brokerId: string
  sandbox: string
  body: CreateConnectionBody
  deadlineMs: number
}

export interface DownstreamCreated {
  id: string
  etag: string | null
  /** What Flow Service reports (initializing right after a POST; anything when found by the marker). */
  state: string
  /** True when found by the marker after an ambiguous POST rather than confirmed by a POST answer. */
  adopted: boolean
}

/**
 * How a create ended when it did not succeed:
 * - rejected: Flow Service definitively refused the POST (nothing was created);
 * - unauthorised: Flow Service or IMS refused the broker's own credentials (nothing was created);
 * - unfinished: retries ran out, or a POST may have landed and nobody could check. The row must stay pending.
 */
export class DownstreamCreateFailed extends Error {
  override readonly name = 'DownstreamCreateFailed'
  constructor (readonly outcome: 'rejected' | 'unauthorised' | 'unfinished', readonly error: FlowServiceError | undefined, options: { cause: unknown }) {
    super(`downstream create ${outcome}`, options)
  }

  /** Flow Service's Retry-After, when it gave one. */
  get retryAfterMs (): number | undefined {
    return this.error?.retryAfterMs
  }
}

/** Marks an attempt whose POST may have landed: retried, but only after looking for the marker. */
class LookBeforePosting extends Error {
  override readonly name = 'LookBeforePosting'
  constructor (readonly error: FlowServiceError) {
    super(error.message, { cause: error })
  }

  get retryAfterMs (): number | undefined {
    return this.error.retryAfterMs
  }
}

export async function createDownstream (deps: { flow: FlowServiceClient, logger: Logger }, request: DownstreamCreate): Promise<DownstreamCreated> {
  const { flow, logger } = deps
  const { brokerId, sandbox, body } = request
  // Once a POST may have landed, every later attempt looks for it first; this stays true until a look says no.
  const progress: { mayExist: boolean, lastCall: 'post' | 'look' } = { mayExist: false, lastCall: 'post' }
  try {
    return await retryWithBackoff(async () => {
      if (progress.mayExist) {
        progress.lastCall = 'look'
        const found = await findAdoptableDownstream(flow, sandbox, body.name, brokerId)
        if (found !== undefined) return await adopt(deps, sandbox, brokerId, found)
        progress.mayExist = false
      }
      progress.lastCall = 'post'
      try {
        const created = await flow.createConnection(sandbox, body)
        return { id: created.id, etag: created.etag === '' ? null : created.etag, state: 'initializing', adopted: false }
      } catch (err) {
        if (err instanceof FlowServiceError && err.kind === 'ambiguous') {
          progress.mayExist = true
          throw new LookBeforePosting(err)
        }
        throw err
      }
    }, {
      deadlineMs: request.deadlineMs,
      baseDelayMs: 200,
      maxDelayMs: 2000,
      isRetryable: (err) => err instanceof LookBeforePosting || (err instanceof FlowServiceError && err.kind === 'retryable'),
      onRetry: ({ error, attempt, delayMs }) => {
        logger.warn({ err: error, attempt, delayMs, connectionId: brokerId, lookFirst: progress.mayExist }, 'Flow Service create failed; retrying')
      }
    })
  } catch (err) {
    const error = err instanceof LookBeforePosting ? err.error : err instanceof FlowServiceError ? err : undefined
    if (error === undefined) throw err
    // Only the POST itself can refuse a connection; a failed look settles nothing while a POST may have landed.
    if (!progress.mayExist && progress.lastCall === 'post' && (error.kind === 'rejected' || error.kind === 'not_found')) {
      throw new DownstreamCreateFailed('rejected', error, { cause: err })
    }
    if (!progress.mayExist && error.kind === 'auth') throw new DownstreamCreateFailed('unauthorised', error, { cause: err })
    throw new DownstreamCreateFailed('unfinished', error, { cause: err })
  }
}

/**
 * Adopts the marked connection. Duplicates (a POST that landed after a look said no) are deleted first; one that
 * cannot be deleted yet makes this attempt fail while a POST may have landed, so the row stays pending and the
 * reconciler finishes the job.
 */
async function adopt (deps: { flow: FlowServiceClient, logger: Logger }, sandbox: string, brokerId: string, found: MarkedDownstream): Promise<DownstreamCreated> {
  for (const duplicate of found.duplicates) {
    await deps.flow.deleteConnection(sandbox, duplicate)
    deps.logger.warn({ connectionId: brokerId, flowConnectionId: found.id, duplicate }, 'deleted a duplicate downstream connection')
  }
  return { id: found.id, etag: found.etag, state: found.state, adopted: true }
}
