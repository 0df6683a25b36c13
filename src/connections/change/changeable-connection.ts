// What every change (rename, rotation) needs first: a connection that exists downstream and is not terminal; and
// what a change does when Flow Service answers that it has lost the connection.
import type { ConnectionRow } from '../../db/schema.js'
import { AppError } from '../../errors/app-error.js'
import type { ConnectionDeps } from '../connection-deps.js'
import { TERMINAL_STATES } from '../../domain/connection-states.js'

/** Throws the problem that says why `row` cannot be changed now; returns its Flow Service id otherwise. */
export function assertChangeable(row: ConnectionRow, what: string): string {
  if (row.state === 'pending') {
    throw new AppError(
      'connection_busy',
      `The connection is still being created; it cannot be ${what} until Flow Service confirmed it. Retry after Retry-After seconds.`,
      {
        retryAfterSeconds: 5,
        extensions: { connectionId: row.id }
      }
    )
  }
  if (row.state === 'deleted' || row.state === 'failed' || row.flow_connection_id === null) {
    throw new AppError('conflict', `The connection is ${row.state}; it cannot be ${what}.`, {
      extensions: { connectionId: row.id }
    })
  }
  return row.flow_connection_id
}

/**
 * Flow Service answered 404 during a change. One answer is not proof: the row is marked as suspected gone and its
 * next poll is due once GONE_CONFIRM_MS has passed; the reconciler looks for the row's marker (the recorded id may
 * have come from an answer about another connection) and the poller records the deletion if Flow Service says 404 again.
 */
export async function suspectGoneDownstream(deps: ConnectionDeps, id: string): Promise<void> {
  const now = Date.now()
  await deps.db
    .updateTable('connections')
    .set((eb) => ({
      gone_suspected_at: eb.fn.coalesce('gone_suspected_at', eb.val(new Date(now))),
      // As the poller does on a first 404: the reconciler looks for the row's marker before a deletion is recorded.
      duplicate_watch_until: eb.fn.coalesce(
        'duplicate_watch_until',
        eb.val(new Date(now + deps.settings.goneConfirmMs))
      ),
      next_poll_at: new Date(now + deps.settings.goneConfirmMs)
    }))
    .where('id', '=', id)
    .where('state', 'not in', TERMINAL_STATES)
    .execute()
}
