// The audit history as readers may see it: filtered, newest first, in pages that never repeat or skip a row.
import type { Kysely } from 'kysely'
import type { Database } from '../db/schema.js'
import { AppError } from '../errors/app-error.js'
import { cursorPosition } from '../errors/cursor-problem.js'
import { pageOf, rowsForPage, type Page } from '../shared/paging.js'
import { toAuditEventResource, type AuditEventResource } from './audit-event-resource.js'
import { listAuditEvents, type AuditFilters } from './audit-repository.js'

/**
 * Whose rows a reader sees. Operators (admin keys, the CLI) see every row, optionally one team's. A team's
 * `audit:read` key sees the rows its team's keys acted — and, when it asks about one of its own connections,
 * that connection's rows by actors with no team (the poller's state changes, anonymous attempts), but never
 * another team's rows: those would tell it who else holds which key and probes what.
 */
export type AuditReader =
  | { kind: 'operator'; team?: string }
  /** `ownsConnection` says whether a connection is the team's (whoever holds the connections knows). */
  | { kind: 'team'; team: string; ownsConnection: (connectionId: string) => Promise<boolean> }

export interface AuditQuery extends Omit<AuditFilters, 'actorTeam'> {
  limit: number
  cursor?: string
}

const AUDIT_ID = /^[1-9][0-9]{0,18}$/

export async function listAuditPage(
  db: Kysely<Database>,
  reader: AuditReader,
  query: AuditQuery
): Promise<Page<AuditEventResource>> {
  const { limit, cursor, ...filters } = query
  if (filters.since !== undefined && filters.until !== undefined && filters.since >= filters.until) {
    throw new AppError('validation_failed', 'since must be earlier than until.', {
      errors: [{ path: 'query.until', message: 'must be later than since' }]
    })
  }
  const beforeId = cursorPosition(cursor, AUDIT_ID)
  const rows = await listAuditEvents(
    db,
    { ...filters, ...(await teamFilter(reader, filters.connectionId)) },
    { limit: rowsForPage(limit), ...(beforeId !== undefined ? { beforeId } : {}) }
  )
  const page = pageOf(rows, limit, (row) => row.id)
  return { items: page.items.map(toAuditEventResource), nextCursor: page.nextCursor }
}

async function teamFilter(
  reader: AuditReader,
  connectionId: string | undefined
): Promise<Pick<AuditFilters, 'actorTeam'>> {
  if (reader.kind === 'operator')
    return reader.team === undefined ? {} : { actorTeam: { team: reader.team, orTeamless: false } }
  const ownConnection = connectionId !== undefined && (await reader.ownsConnection(connectionId))
  return { actorTeam: { team: reader.team, orTeamless: ownConnection } }
}
