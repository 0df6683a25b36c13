// What every change (rename, rotation) needs first: a connection that exists downstream and is not terminal; and
// what a change does when Flow Service turns out to have lost the connection.
import type { Actor } from '../audit/audit-log.js'
import type { ConnectionRow } from '../db/schema.js'
import { AppError } from '../errors/app-error.js'
import type { ConnectionDeps } from './connection-deps.js'
import { lockConnection } from './connection-repository.js'
import { destroyRecordedSecret } from './destroy-secret.js'
import { recordObservation } from './record-observation.js'

/** Throws the problem that says why `row` cannot be changed now; returns its Flow Service id otherwise. */
export function assertChangeable (row: ConnectionRow, what: string): string {
  if (row.state === 'pending') {
    throw new AppError('connection_busy', `The connection is still being created; it cannot be ${what} until Flow Service confirmed it. Retry after Retry-After seconds.`, {
      retryAfterSeconds: 5,
      extensions: { connectionId: row.id }
    })
  }
  if (row.state === 'deleted' || row.state === 'failed' || row.flow_connection_id === null) {
    throw new AppError('conflict', `The connection is ${row.state}; it cannot be ${what}.`, { extensions: { connectionId: row.id } })
  }
  return row.flow_connection_id
}

/** Flow Service answered 404 for a connection we hold: recorded as deleted downstream, its secret destroyed. */
export async function recordGoneDownstream (deps: ConnectionDeps, id: string, actor: Actor, requestId: string): Promise<void> {
  await deps.db.transaction().execute(async (tx) => {
    const row = await lockConnection(tx, id)
    if (row === undefined) return
    await recordObservation(tx, row, { kind: 'downstream_gone' }, { observedBy: 'request', actor, requestId, patch: { next_poll_at: null, pending_change: null } })
  })
  await destroyRecordedSecret(deps, id)
}
