// Recomputes the audit chain in id order, a page at a time, and names the first row that does not hold: from the
// start, or from a row already proven intact (the checkpoint), so that a run only walks what is new.
import type { Kysely } from 'kysely'
import type { AuditEventRow, Database } from '../db/schema.js'
import { auditHash, GENESIS_HASH } from './audit-hash.js'
import { auditEventsInChainOrder, lastAuditEventId } from './audit-repository.js'
import type { VerifiedThrough } from './audit-verification-repository.js'

export interface ChainVerdict {
  valid: boolean
  /** Rows examined: all of them when valid, up to and including the first broken one otherwise. */
  checked: number
  firstBrokenId?: string
}

export interface ChainWalk extends ChainVerdict {
  /** The newest row proven intact by this walk (or the starting point, when there was nothing new). */
  through: VerifiedThrough | null
}

/** A row's hash from its stored content and its stored predecessor hash. */
export const recomputeAuditHash = (row: AuditEventRow): string =>
  auditHash(row.prev_hash, {
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

/** Every row from the genesis hash on. */
export async function verifyAuditChain(db: Kysely<Database>, pageSize = 500): Promise<ChainVerdict> {
  const { through: _through, ...verdict } = await walkAuditChain(db, null, pageSize)
  return verdict
}

/**
 * Checks every row after `after` (from the genesis hash when null) up to the newest one at the start (rows
 * appended meanwhile wait for the next run), so the walk ends under constant appends and memory stays at one page.
 * A changed row fails its own hash; a deleted or re-hashed one breaks its successor's link (the first new row must
 * link to the remembered hash, so re-chaining everything after the checkpoint shows too). Rows up to `after` are
 * not looked at again: that is what a full walk is for. Truncating the newest rows cannot be seen from inside the chain.
 */
export async function walkAuditChain(
  db: Kysely<Database>,
  after: VerifiedThrough | null,
  pageSize = 500
): Promise<ChainWalk> {
  const throughId = await lastAuditEventId(db)
  if (throughId === null || (after !== null && BigInt(throughId) <= BigInt(after.id)))
    return { valid: true, checked: 0, through: after }
  let prevHash = after?.hash ?? GENESIS_HASH
  let afterId: string | null = after?.id ?? null
  let proven = after
  let checked = 0
  for (;;) {
    const rows = await auditEventsInChainOrder(db, { afterId, throughId }, pageSize)
    for (const row of rows) {
      checked += 1
      if (row.prev_hash !== prevHash || recomputeAuditHash(row) !== row.hash)
        return { valid: false, checked, firstBrokenId: row.id, through: null }
      prevHash = row.hash
      proven = { id: row.id, hash: row.hash }
    }
    const last = rows.at(-1)
    if (last === undefined || rows.length < pageSize) return { valid: true, checked, through: proven }
    afterId = last.id
  }
}
