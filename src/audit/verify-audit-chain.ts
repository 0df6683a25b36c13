// Recomputes the audit chain in id order, a page at a time, and names the first row that does not hold.
import type { Kysely } from 'kysely'
import type { AuditEventRow, Database } from '../db/schema.js'
import { auditHash, GENESIS_HASH } from './audit-hash.js'
import { auditEventsInChainOrder, lastAuditEventId } from './audit-repository.js'

export interface ChainVerdict {
  valid: boolean
  /** Rows examined: all of them when valid, up to and including the first broken one otherwise. */
  checked: number
  firstBrokenId?: string
}

/** A row's hash from its stored content and its stored predecessor hash. */
export const recomputeAuditHash = (row: AuditEventRow): string => auditHash(row.prev_hash, {
  occurredAt: row.occurred_at,
  actor: row.actor,
  actorTeam: row.actor_team,
  actorKeyId: row.actor_key_id,
  action: row.action,
  connectionId: row.connection_id,
  requestId: row.request_id,
  outcome: row.outcome,
  changedFields: row.changed_fields,
  detail: row.detail
})

/**
 * Checks every row up to the newest one at the start (rows appended meanwhile wait for the next run), so the
 * walk ends under constant appends and memory stays at one page. A changed row fails its own hash; a deleted
 * or re-hashed one breaks its successor's link. Truncating the newest rows cannot be seen from inside the chain.
 */
export async function verifyAuditChain (db: Kysely<Database>, pageSize = 500): Promise<ChainVerdict> {
  const throughId = await lastAuditEventId(db)
  if (throughId === null) return { valid: true, checked: 0 }
  let prevHash = GENESIS_HASH
  let afterId: string | null = null
  let checked = 0
  for (;;) {
    const rows = await auditEventsInChainOrder(db, { afterId, throughId }, pageSize)
    for (const row of rows) {
      checked += 1
      if (row.prev_hash !== prevHash || recomputeAuditHash(row) !== row.hash) return { valid: false, checked, firstBrokenId: row.id }
      prevHash = row.hash
    }
    const last = rows.at(-1)
    if (last === undefined || rows.length < pageSize) return { valid: true, checked }
    afterId = last.id
  }
}
