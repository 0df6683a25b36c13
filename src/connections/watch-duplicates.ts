// The duplicate watch: after a create whose POST may have been sent more than once, a POST can still land minutes
// later. Until the watch ends the reconciler looks for connections carrying the broker's marker and deletes every one
// but the connection the row records (all of them once the row failed or was deleted). The watch ends only when its
// time is up and nothing is left to delete.
import type { ConnectionRow } from '../db/schema.js'
import type { ConnectionDeps } from './connection-deps.js'
import { updateConnection } from './connection-repository.js'
import { deleteDuplicates } from './delete-duplicates.js'
import { findMarkedConnections, markedBrokerId, type MarkedConnection } from './create/downstream-marker.js'
import { isDownstreamIdClash } from './unique-violation.js'
import { isTerminal } from './state/states.js'

export interface WatchOutcome {
  deleted: number
  /** Duplicates still downstream (initializing, or the delete failed): looked at again next sweep. */
  remaining: number
  /** True when the watch is over. */
  ended: boolean
}

/**
 * Moves the row onto its own marked connection when the recorded one is proven not to be its own: Flow Service has no
 * such connection (its own 404), or it carries another broker connection's marker. Returns the id kept.
 */
async function repoint(
  deps: ConnectionDeps,
  row: ConnectionRow,
  recorded: string,
  own: MarkedConnection
): Promise<string> {
  const current = await deps.flow.getConnection(row.sandbox_name, recorded)
  const owner = current === null ? undefined : markedBrokerId(current.description)
  if (current !== null && (owner === undefined || owner === row.id)) return recorded
  try {
    await updateConnection(deps.db, row.id, { flow_connection_id: own.id, etag: own.etag, gone_suspected_at: null })
  } catch (err) {
    if (isDownstreamIdClash(err)) return recorded
    throw err
  }
  deps.logger.warn(
    { connectionId: row.id, recorded, flowConnectionId: own.id },
    "the recorded downstream id was about another connection; moved to the connection carrying this one's marker"
  )
  return own.id
}

/** `row` is leased to the caller and not pending (pending rows are the pending-create settlement's). */
export async function watchDuplicates(
  deps: ConnectionDeps,
  row: ConnectionRow,
  now = Date.now()
): Promise<WatchOutcome> {
  const marked = await findMarkedConnections(deps.flow, {
    brokerId: row.id,
    sandbox: row.sandbox_name,
    connectionSpecId: row.connection_spec_id,
    createdAt: row.created_at
  })
  let keep = isTerminal(row.state) ? null : row.flow_connection_id
  let remaining: number
  let deleted = 0
  const first = marked[0]
  if (keep !== null && first !== undefined && !marked.some((m) => m.id === keep)) {
    // Our marked connections exist, but not the one recorded: the id came from an answer about another connection.
    keep = await repoint(deps, row, keep, first)
  }
  if (keep !== null && marked.length > 0 && !marked.some((m) => m.id === keep)) {
    // Conflicting evidence (the recorded connection may be ours after all): nothing is deleted on it; the watch goes
    // on and the conflict is logged for an operator.
    remaining = marked.length
    deps.logger.error(
      { connectionId: row.id, flowConnectionId: keep, marked: marked.map((m) => m.id) },
      "connections carrying this connection's marker exist downstream, but not the one it records; left for an operator"
    )
  } else {
    const cleanup = await deleteDuplicates(deps, row.id, row.sandbox_name, marked, keep)
    remaining = cleanup.remaining.length
    deleted = cleanup.deleted.length
  }
  const ended = remaining === 0 && row.duplicate_watch_until !== null && row.duplicate_watch_until.getTime() <= now
  if (ended) await updateConnection(deps.db, row.id, { duplicate_watch_until: null })
  return { deleted, remaining, ended }
}
