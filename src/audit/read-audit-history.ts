// The use case behind GET /v1/audit: a page of the history as the reader may see it, and the row of its reading.
import type { Kysely } from 'kysely'
import type { Database } from '../db/schema.js'
import { listFilters, type Page } from '../shared/paging.js'
import type { AuditEventResource } from './audit-event-resource.js'
import { listAuditPage, type AuditQuery, type AuditReader } from './audit-history.js'
import type { AuditContext, AuditLog } from './audit-log.js'

/** The query as the caller asked it: instants as given, so the audit row records what was asked. */
export interface AuditHistoryQuery extends Omit<AuditQuery, 'since' | 'until'> {
  since?: string
  until?: string
  /** Operators only: one team's rows (see AuditReader; the reader has it already, the row records it). */
  team?: string
}

export async function readAuditHistory(
  deps: { db: Kysely<Database>; audit: AuditLog },
  ctx: AuditContext,
  reader: AuditReader,
  query: AuditHistoryQuery
): Promise<Page<AuditEventResource>> {
  const { since, until, team: _team, ...rest } = query
  const page = await listAuditPage(deps.db, reader, {
    ...rest,
    ...(since !== undefined ? { since: new Date(since) } : {}),
    ...(until !== undefined ? { until: new Date(until) } : {})
  })
  // After the read, so a page never holds the row of its own reading.
  await deps.audit.append({
    ...ctx,
    action: 'audit.list',
    connectionId: query.connectionId ?? null,
    outcome: 'success',
    detail: { filters: listFilters(query), returned: page.items.length }
  })
  return page
}
