// Creates the downstream connection of one broker connection: retries what is safe to retry, and after an
// ambiguous POST looks for the broker's marker before any new POST. When a POST may have been sent twice, it looks
// again after the one that succeeded and deletes what an earlier POST left; the caller records a duplicate watch so
// the reconciler deletes a POST that lands later still. At most one connection is left downstream.
import type { Logger } from 'pino'
import type { FlowServiceClient } from '../../flow-service/flow-service-client.js'
import { FlowServiceError } from '../../flow-service/flow-service-error.js'
import { retryWithBackoff } from '../../flow-service/retry.js'
import type { CreateConnectionBody } from '../../flow-service/types.js'
import type { Clock } from '../../shared/clock.js'
import { deleteDuplicates } from '../delete-duplicates.js'
import { findMarkedConnections, type MarkedConnection, type MarkerSearch } from './downstream-marker.js'

export interface DownstreamCreate {
  search: MarkerSearch
  body: CreateConnectionBody
  deadlineMs: number
  /** The request's secret values: Flow Service may echo them in an error. */
  secrets: readonly string[]
}

export interface DownstreamCreated {
  id: string
  etag: string | null
  /** What Flow Service reports (initializing right after a POST; anything when found by the marker). */
  state: string
  /** True when found by the marker after an ambiguous POST rather than confirmed by a POST answer. */
  adopted: boolean
  /** Some POST may have landed besides the connection kept: late duplicates must be looked for a while longer. */
  mayHaveDuplicates: boolean
}

/**
 * How a create ended when it did not succeed:
 * - rejected: Flow Service definitively refused the POST (nothing was created);
 * - unauthorised: Flow Service or IMS refused the broker's own credentials (nothing was created);
 * - unfinished: retries ran out, or a POST may have landed and nobody could check. The row must stay pending.
 */
export class DownstreamCreateFailed extends Error {
  override readonly name = 'DownstreamCreateFailed'
  constructor(
    readonly outcome: 'rejected' | 'unauthorised' | 'unfinished',
    readonly error: FlowServiceError | undefined,
    options: { cause: unknown }
  ) {
    super(`downstream create ${outcome}`, options)
  }

  /** Flow Service's Retry-After, when it gave one. */
  get retryAfterMs(): number | undefined {
    return this.error?.retryAfterMs
  }
}

/** Marks an attempt whose POST may have landed: retried, but only after looking for the marker. */
class LookBeforePosting extends Error {
  override readonly name = 'LookBeforePosting'
  constructor(readonly error: FlowServiceError) {
    super(error.message, { cause: error })
  }

  get retryAfterMs(): number | undefined {
    return this.error.retryAfterMs
  }
}

type Deps = { flow: FlowServiceClient; logger: Logger; clock?: Clock }

export async function createDownstream(deps: Deps, request: DownstreamCreate): Promise<DownstreamCreated> {
  const { flow, logger } = deps
  const { search, body } = request
  // mayExist: a POST may have landed and no look has said otherwise since. sentTwice: some POST was ambiguous.
  const progress = { mayExist: false, sentTwice: false, lastCall: 'post' as 'post' | 'look' }
  try {
    return await retryWithBackoff(
      async () => {
        if (progress.mayExist) {
          progress.lastCall = 'look'
          const marked = await findMarkedConnections(flow, search)
          const first = marked[0]
          if (first !== undefined) return await adopt(deps, search, first, marked)
          progress.mayExist = false
        }
        progress.lastCall = 'post'
        let created
        try {
          created = await flow.createConnection(search.sandbox, body, { secrets: request.secrets })
        } catch (err) {
          if (err instanceof FlowServiceError && err.kind === 'ambiguous') {
            progress.mayExist = true
            progress.sentTwice = true
            throw new LookBeforePosting(err)
          }
          throw err
        }
        if (progress.sentTwice) await removeEarlierLandings(deps, search, created.id)
        return {
          id: created.id,
          etag: created.etag === '' ? null : created.etag,
          state: 'initializing',
          adopted: false,
          mayHaveDuplicates: progress.sentTwice
        }
      },
      {
        deadlineMs: request.deadlineMs,
        baseDelayMs: 200,
        maxDelayMs: 2000,
        ...(deps.clock !== undefined ? { sleep: deps.clock.sleep, now: deps.clock.now } : {}),
        isRetryable: (err) =>
          err instanceof LookBeforePosting || (err instanceof FlowServiceError && err.kind === 'retryable'),
        onRetry: ({ error, attempt, delayMs }) => {
          logger.warn(
            { err: error, attempt, delayMs, connectionId: search.brokerId, lookFirst: progress.mayExist },
            'Flow Service create failed; retrying'
          )
        }
      }
    )
  } catch (err) {
    const error = err instanceof LookBeforePosting ? err.error : err instanceof FlowServiceError ? err : undefined
    if (error === undefined) throw err
    // Only the POST itself can refuse a connection; a failed look settles nothing while a POST may have landed.
    if (
      !progress.mayExist &&
      progress.lastCall === 'post' &&
      (error.kind === 'rejected' || error.kind === 'not_found')
    ) {
      throw new DownstreamCreateFailed('rejected', error, { cause: err })
    }
    if (!progress.mayExist && !progress.sentTwice && error.kind === 'auth')
      throw new DownstreamCreateFailed('unauthorised', error, { cause: err })
    throw new DownstreamCreateFailed('unfinished', error, { cause: err })
  }
}

/** Adopts the oldest marked connection (the one every earlier look would have found) and deletes the others. */
async function adopt(
  deps: Deps,
  search: MarkerSearch,
  first: MarkedConnection,
  marked: readonly MarkedConnection[]
): Promise<DownstreamCreated> {
  await deleteDuplicates(deps, search.brokerId, search.sandbox, marked, first.id)
  return { id: first.id, etag: first.etag, state: first.state, adopted: true, mayHaveDuplicates: true }
}

/**
 * After a POST succeeded following an ambiguous one: an earlier POST may have landed since the last look. Deleted
 * only when the answer's id is among the marked connections (evidence the answer is about ours); otherwise, or when
 * the look fails, the reconciler's duplicate watch settles it with a fresher view.
 */
async function removeEarlierLandings(deps: Deps, search: MarkerSearch, createdId: string): Promise<void> {
  try {
    const marked = await findMarkedConnections(deps.flow, search)
    if (marked.some((m) => m.id === createdId))
      await deleteDuplicates(deps, search.brokerId, search.sandbox, marked, createdId)
  } catch (err) {
    deps.logger.warn(
      { err, connectionId: search.brokerId },
      'could not look for earlier landings after a repeated POST; the reconciler will'
    )
  }
}
