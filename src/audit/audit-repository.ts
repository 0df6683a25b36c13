// All SQL reading the audit log. Each filter is served by an index ending in id, the paging and chain order.
import type { Kysely } from 'kysely'
import type { AuditEventRow, Database } from '../db/schema.js'

export interface AuditFilters {
  connectionId?: string
  actor?: string
  action?: string
  outcome?: string
  /** Inclusive. */
  since?: Date
  /** Exclusive. */
  until?: Date
  /** Rows acted by this team; with `orTeamless`, also rows of actors without a team (poller, reconciler, anonymous). */
  actorTeam?: { team: string; orTeamless: boolean }
}

/** One page newest first: ids are assigned under the chain lock, so rows below a cursor never change. */
export async function listAuditEvents(
  db: Kysely<Database>,
  filters: AuditFilters,
  page: { limit: number; beforeId?: string }
): Promise<AuditEventRow[]> {
  let query = db.selectFrom('audit_events').selectAll()
  if (filters.connectionId !== undefined) query = query.where('connection_id', '=', filters.connectionId)
  if (filters.actor !== undefined) query = query.where('actor', '=', filters.actor)
  if (filters.action !== undefined) query = query.where('action', '=', filters.action)
  if (filters.outcome !== undefined) query = query.where('outcome', '=', filters.outcome)
  if (filters.since !== undefined) query = query.where('occurred_at', '>=', filters.since)
  if (filters.until !== undefined) query = query.where('occurred_at', '<', filters.until)
  const teamFilter = filters.actorTeam
  if (teamFilter !== undefined) {
    query = teamFilter.orTeamless
      ? query.where((eb) => eb.or([eb('actor_team', '=', teamFilter.team), eb('actor_team', 'is', null)]))
      : query.where('actor_team', '=', teamFilter.team)
  }
  if (page.beforeId !== undefined) query = query.where('id', '<', page.beforeId)
  return await query.orderBy('id', 'desc').limit(page.limit).execute()
}

/** Rows in chain order, strictly after `afterId` and up to `throughId`: the pages verify walks. */
export async function auditEventsInChainOrder(
  db: Kysely<Database>,
  range: { afterId: string | null; throughId: string },
  limit: number
): Promise<AuditEventRow[]> {
  let query = db.selectFrom('audit_events').selectAll().where('id', '<=', range.throughId)
  if (range.afterId !== null) query = query.where('id', '>', range.afterId)
  return await query.orderBy('id').limit(limit).execute()
}

/** The newest row's id, or null for an empty log. */
export async function lastAuditEventId(db: Kysely<Database>): Promise<string | null> {
  const row = await db.selectFrom('audit_events').select('id').orderBy('id', 'desc').limit(1).executeTakeFirst()
  return row?.id ?? null
}
