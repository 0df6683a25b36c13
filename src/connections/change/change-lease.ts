// Serialises changes to one connection across requests, replicas and background jobs: a change holds the row's
// work lease while it talks to Flow Service, and gives it back however it ends.
import { randomUUID } from 'node:crypto'
import type { ConnectionRow } from '../../db/schema.js'
import { AppError } from '../../errors/app-error.js'
import { systemClock } from '../../shared/clock.js'
import type { ConnectionDeps } from '../connection-deps.js'
import { assertIfMatch, type IfMatch } from '../connection-etag.js'
import { acquireLease, lockConnection, releaseLease } from '../connection-repository.js'
import { workLeaseMs } from '../work-lease.js'

/** How long a change waits for another holder (usually a poll batch, which is short) before answering 409. */
const MAX_WAIT_MS = 2000

export async function withChangeLease<T>(
  deps: ConnectionDeps,
  id: string,
  requestId: string,
  work: (row: ConnectionRow, owner: string) => Promise<T>,
  ifMatch?: IfMatch
): Promise<T> {
  // Request ids may come from callers and repeat: the owner must name this request only.
  const owner = `change:${requestId}:${randomUUID().slice(0, 8)}`
  const leaseMs = workLeaseMs(deps.settings.changeDeadlineMs, deps.settings.flowTimeoutMs)
  const clock = deps.clock ?? systemClock
  // The wait is on the injected clock; the lease itself expires in the database's real time, as the poller reads it.
  const giveUpAt = clock.now() + Math.min(MAX_WAIT_MS, deps.settings.changeDeadlineMs)
  let row: ConnectionRow | undefined
  for (let waitMs = 50; ; waitMs = Math.min(waitMs * 2, 400)) {
    const until = new Date(Date.now() + leaseMs)
    // With If-Match, the tag is compared on the row locked in the transaction that takes the lease: of two requests
    // with the same tag, the second finds the lease taken, waits, and then meets the first one's change (412).
    row =
      ifMatch === undefined
        ? await acquireLease(deps.db, id, owner, until)
        : await deps.db.transaction().execute(async (tx) => {
            const locked = await lockConnection(tx, id)
            if (locked === undefined) throw new AppError('not_found', `No connection ${id}.`)
            assertIfMatch(ifMatch, locked, deps.secrets)
            return await acquireLease(tx, id, owner, until)
          })
    if (row !== undefined) break
    if (clock.now() + waitMs > giveUpAt) {
      throw new AppError(
        'conflict',
        'Another change to this connection is in progress. Retry after the time given in Retry-After.',
        { retryAfterSeconds: 2, extensions: { connectionId: id } }
      )
    }
    await clock.sleep(waitMs)
  }
  try {
    return await work(row, owner)
  } finally {
    await releaseLease(deps.db, id, owner).catch((err: unknown) => {
      deps.logger.warn({ err, connectionId: id }, 'could not release a change lease; it expires by itself')
    })
  }
}
