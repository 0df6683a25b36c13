// The poller's own SQL beyond claiming: rescheduling a whole batch of unchanged connections in one statement,
// and how far polling is behind (for /metrics).
import { sql, type Kysely } from 'kysely'
import type { Database } from '../db/schema.js'

export interface UnchangedPoll {
  id: string
  /** What the claimed row held; the update applies only if the row still holds it. */
  state: string
  downstreamState: string | null
  nextPollAt: Date | null
  /** The etag Flow Service listed, when it sent one. */
  etag: string | undefined
}

/**
 * Reschedules connections whose poll found nothing new, and releases their lease, in one statement. A row is
 * skipped (and its id left out of the answer) when our lease is gone or its state moved since the claim: the
 * caller then records that one the careful way. `updated_at` moves only when the etag did: it tells the
 * schedule how long a connection has been waiting to settle.
 */
export async function rescheduleUnchanged(
  db: Kysely<Database>,
  owner: string,
  polls: readonly UnchangedPoll[]
): Promise<Set<string>> {
  if (polls.length === 0) return new Set()
  const values = sql.join(
    polls.map(
      (p) =>
        sql`(${p.id}::uuid, ${p.state}::text, ${p.downstreamState}::text, ${p.nextPollAt}::timestamptz, ${p.etag ?? null}::text)`
    )
  )
  const result = await sql<{ id: string }>`
    update connections as c set
      next_poll_at = v.next_poll_at,
      poll_failures = 0,
      gone_suspected_at = null,
      lease_owner = null,
      lease_until = null,
      etag = coalesce(v.etag, c.etag),
      updated_at = case when v.etag is not null and v.etag is distinct from c.etag then now() else c.updated_at end
    from (values ${values}) as v (id, state, downstream_state, next_poll_at, etag)
    where c.id = v.id
      and c.lease_owner = ${owner}
      and c.state = v.state
      and c.downstream_state is not distinct from v.downstream_state
    returning c.id`.execute(db)
  return new Set(result.rows.map((r) => r.id))
}

/** When the oldest connection still waiting for its poll fell due; undefined when none is scheduled. Index-only. */
export async function oldestScheduledPoll(db: Kysely<Database>): Promise<Date | undefined> {
  const row = await db
    .selectFrom('connections')
    .select((eb) => eb.fn.min('next_poll_at').as('oldest'))
    .where('next_poll_at', 'is not', null)
    .executeTakeFirst()
  const oldest: unknown = row?.oldest
  if (oldest instanceof Date) return oldest
  // min() of a timestamptz comes back as a Date from both drivers; a string would be an ISO timestamp.
  return typeof oldest === 'string' ? new Date(oldest) : undefined
}

/** Seconds since the oldest scheduled poll fell due: how far polling is behind (0 when nothing is overdue). */
export async function pollerLagSeconds(db: Kysely<Database>, now = Date.now()): Promise<number> {
  const oldest = await oldestScheduledPoll(db)
  return oldest === undefined ? 0 : Math.max(0, (now - oldest.getTime()) / 1000)
}
