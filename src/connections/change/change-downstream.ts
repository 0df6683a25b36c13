// Runs one etag-guarded change (PATCH or DELETE) on a downstream connection within a time budget: waits out
// `initializing` (1417-400), re-reads the etag once after a 412, backs off on retryable failures honouring
// Retry-After, and after an ambiguous PATCH reads the connection back to learn whether it landed.
import type { Logger } from 'pino'
import type { ConnectionRow } from '../../db/schema.js'
import type { FlowServiceClient } from '../../flow-service/flow-service-client.js'
import { FlowServiceError, type FlowServiceOperation } from '../../flow-service/flow-service-error.js'
import type { FlowConnection } from '../../flow-service/types.js'
import { systemClock, type Clock } from '../../shared/clock.js'

/** Flow Service kept the connection initializing for the whole budget. */
export class ConnectionStillInitializing extends Error {
  override readonly name = 'ConnectionStillInitializing'
  constructor(readonly retryAfterSeconds: number) {
    super('the connection is still initializing in Flow Service')
  }
}

/** A PATCH may have landed and the connection could not be read back in time to tell. */
export class ChangeOutcomeUnknown extends Error {
  override readonly name = 'ChangeOutcomeUnknown'
}

export interface DownstreamChange<T> {
  operation: FlowServiceOperation
  /** One attempt, with this If-Match etag (quotes included, exactly as Flow Service gave it). */
  send: (etag: string) => Promise<T>
  /**
   * After an ambiguous attempt: the result when `current` shows the new values themselves (a rename's name and
   * description), else undefined. Never for values Flow Service does not show (secrets): those are sent again.
   */
  applied?: (current: FlowConnection, sentEtag: string) => T | undefined
  /** Called before each attempt with the etag it carries (a rotation records it for the reconciler). */
  beforeSend?: (etag: string) => Promise<void>
}

/** How long to suggest waiting when Flow Service keeps a connection initializing. */
const INITIALIZING_RETRY_AFTER_SECONDS = 5
const BASE_DELAY_MS = 200
const MAX_DELAY_MS = 2000

export async function changeDownstream<T>(
  deps: { flow: FlowServiceClient; logger: Logger; clock?: Clock },
  row: ConnectionRow,
  change: DownstreamChange<T>,
  deadlineMs: number
): Promise<T> {
  const { flow } = deps
  const clock = deps.clock ?? systemClock
  const flowId = row.flow_connection_id
  if (flowId === null) throw new Error(`connection ${row.id} has no Flow Service id`)
  const sandbox = row.sandbox_name
  const deadline = clock.now() + deadlineMs
  let failures = 0

  /** Waits before another attempt, or rethrows `error` when the wait would pass the deadline. */
  const pause = async (error: unknown, retryAfterMs?: number): Promise<void> => {
    failures++
    const delayMs = Math.max(
      Math.floor(Math.random() * Math.min(MAX_DELAY_MS, BASE_DELAY_MS * 2 ** (failures - 1))),
      retryAfterMs ?? 0
    )
    if (clock.now() + delayMs > deadline) throw error
    deps.logger.warn(
      { err: error, connectionId: row.id, delayMs, operation: change.operation },
      'Flow Service change failed; retrying'
    )
    await clock.sleep(delayMs)
  }

  /** GET, retrying what is retryable within the budget. null: Flow Service has no such connection. */
  const read = async (): Promise<FlowConnection | null> => {
    for (;;) {
      try {
        return await flow.getConnection(sandbox, flowId)
      } catch (err) {
        if (!(err instanceof FlowServiceError) || err.kind !== 'retryable') throw err
        await pause(err, err.retryAfterMs)
      }
    }
  }

  /** The connection once it has left initializing (when it has an etag to send), re-read until the deadline. */
  const readSettled = async (): Promise<FlowConnection> => {
    for (let i = 0; ; i++) {
      const current = await read()
      if (current === null) throw new FlowServiceError({ kind: 'not_found', operation: 'getConnection', status: 404 })
      if (current.state !== 'initializing' && current.etag !== undefined && current.etag !== '') return current
      const waitMs = Math.min(1000, 200 * 2 ** i)
      if (clock.now() + waitMs > deadline) throw new ConnectionStillInitializing(INITIALIZING_RETRY_AFTER_SECONDS)
      await clock.sleep(waitMs)
    }
  }

  let etag = row.etag ?? ''
  // Created moments ago, or adopted while initializing: no etag to send yet.
  if (etag === '') etag = (await readSettled()).etag ?? ''
  let rereadAfter412 = false
  // Once an attempt may have landed, a later refusal proves nothing about it: only a 200 settles the outcome.
  let mayHaveLanded = false
  for (;;) {
    await change.beforeSend?.(etag)
    let next: { etag: string } | { done: T }
    try {
      return await change.send(etag)
    } catch (err) {
      try {
        next = await afterFailure(err)
      } catch (final) {
        // Even a 404 here is one answer, not proof the attempt that may have landed did not.
        if (mayHaveLanded && !(final instanceof ChangeOutcomeUnknown)) {
          throw new ChangeOutcomeUnknown('an earlier attempt may have landed, and no later one was confirmed', {
            cause: final
          })
        }
        throw final
      }
    }
    if ('done' in next) return next.done
    etag = next.etag
  }

  /** Decides what follows a failed attempt: the etag for the next one, the result after all, or a throw. */
  async function afterFailure(err: unknown): Promise<{ etag: string } | { done: T }> {
    if (!(err instanceof FlowServiceError)) throw err
    switch (err.kind) {
      case 'precondition_failed':
        // Our etag is stale (the connection was enabled, or changed): read the current one, try once more.
        if (rereadAfter412) throw err
        rereadAfter412 = true
        return { etag: (await readSettled()).etag ?? '' }
      case 'busy':
        return { etag: (await readSettled()).etag ?? '' }
      case 'ambiguous': {
        mayHaveLanded = true
        let current: FlowConnection | null
        try {
          current = await read()
        } catch (readError) {
          throw new ChangeOutcomeUnknown(
            'Flow Service did not answer the change, and could not be asked whether it landed',
            { cause: readError }
          )
        }
        if (current === null)
          throw new FlowServiceError({ kind: 'not_found', operation: 'getConnection', status: 404, cause: err })
        const done = change.applied?.(current, etag)
        if (done !== undefined) return { done }
        // Not shown applied: sending again is safe, since If-Match stops a second application if the first lands late.
        await pause(
          new ChangeOutcomeUnknown('Flow Service did not confirm the change in time', { cause: err }),
          err.retryAfterMs
        )
        return { etag: current.etag ?? (await readSettled()).etag ?? '' }
      }
      case 'retryable':
        await pause(err, err.retryAfterMs)
        return { etag }
      default:
        throw err
    }
  }
}
