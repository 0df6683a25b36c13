// The SQL of the verification checkpoint: how far the chain is proven intact, and the lease that lets one
// verification at a time walk it, across replicas, without holding a connection while it walks.
import { sql, type Kysely } from 'kysely'
import type { Database } from '../db/schema.js'

/** The last row proven intact; null before the first verification. */
export interface VerifiedThrough {
  id: string
  hash: string
}

/**
 * Takes the lease unless another run holds an unexpired one; answers the checkpoint, or undefined when busy.
 * The lease expires by itself, so a replica that died mid-walk blocks others for `leaseMs` at most.
 */
export async function takeVerificationLease(
  db: Kysely<Database>,
  leaseMs: number
): Promise<{ through: VerifiedThrough | null } | undefined> {
  const row = await db
    .updateTable('audit_verification')
    .set({ running_until: sql<Date>`now() + make_interval(secs => ${leaseMs / 1000})` })
    .where('id', '=', 1)
    .where((eb) => eb.or([eb('running_until', 'is', null), eb('running_until', '<', sql<Date>`now()`)]))
    .returning(['through_id', 'through_hash'])
    .executeTakeFirst()
  if (row === undefined) return undefined
  return {
    through:
      row.through_id !== null && row.through_hash !== null ? { id: row.through_id, hash: row.through_hash } : null
  }
}

/** Ends the lease; with `through`, the chain is now proven intact up to that row. */
export async function releaseVerificationLease(db: Kysely<Database>, through: VerifiedThrough | null): Promise<void> {
  await db
    .updateTable('audit_verification')
    .set(
      through === null
        ? { running_until: null }
        : { running_until: null, through_id: through.id, through_hash: through.hash, verified_at: new Date() }
    )
    .where('id', '=', 1)
    .execute()
}
