// The reads, as use cases: one connection, a filtered page of them, one connection's state history. Each sees only
// what the caller may (visible-connections.ts) and leaves its audit row once it has read; a read refused with 404
// is audited by the HTTP layer as a denial.
import { keyActor } from '../audit/audit-log.js'
import type { ConnectionEventRow, ConnectionRow } from '../db/schema.js'
import { cursorPosition } from '../errors/cursor-problem.js'
import { listFilters, pageOf, rowsForPage, type Page } from '../shared/paging.js'
import type { ConnectionDeps, RequestContext } from './connection-deps.js'
import { listConnectionEvents, listConnections, type ConnectionFilters } from './connection-repository.js'
import { connectionLimitsOf } from './key-limits.js'
import { findVisibleConnection, visibleTeam } from './visible-connections.js'

type ReadDeps = Pick<ConnectionDeps, 'db' | 'audit'>

export async function getConnection(deps: ReadDeps, ctx: RequestContext, id: string): Promise<ConnectionRow> {
  const row = await findVisibleConnection(deps, ctx.caller, id)
  await deps.audit.append({
    actor: keyActor(ctx.caller),
    action: 'connection.read',
    connectionId: row.id,
    requestId: ctx.requestId,
    outcome: 'success'
  })
  return row
}

export interface ListQuery extends Omit<ConnectionFilters, 'team' | 'sandboxes' | 'connectionSpecIds'> {
  team?: string
  limit: number
  cursor?: string
}

export async function listConnectionPage(
  deps: ReadDeps,
  ctx: RequestContext,
  query: ListQuery
): Promise<Page<ConnectionRow>> {
  const afterId = cursorPosition(query.cursor)
  const { limit, cursor: _cursor, team, ...filters } = query
  const rows = await listConnections(
    deps.db,
    { ...filters, ...connectionLimitsOf(ctx.caller), team: visibleTeam(ctx.caller, team) },
    { limit: rowsForPage(limit), ...(afterId !== undefined ? { afterId } : {}) }
  )
  const page = pageOf(rows, limit, (row) => row.id)
  await deps.audit.append({
    actor: keyActor(ctx.caller),
    action: 'connection.list',
    requestId: ctx.requestId,
    outcome: 'success',
    detail: { filters: listFilters(query), returned: page.items.length }
  })
  return page
}

export interface EventsQuery {
  limit: number
  cursor?: string | undefined
}

const EVENT_ID = /^[1-9][0-9]{0,18}$/

export async function getConnectionEvents(
  deps: ReadDeps,
  ctx: RequestContext,
  id: string,
  query: EventsQuery
): Promise<Page<ConnectionEventRow>> {
  const afterId = cursorPosition(query.cursor, EVENT_ID)
  const row = await findVisibleConnection(deps, ctx.caller, id)
  const rows = await listConnectionEvents(deps.db, row.id, {
    limit: rowsForPage(query.limit),
    ...(afterId !== undefined ? { afterId } : {})
  })
  const page = pageOf(rows, query.limit, (event) => event.id)
  await deps.audit.append({
    actor: keyActor(ctx.caller),
    action: 'connection.events',
    connectionId: row.id,
    requestId: ctx.requestId,
    outcome: 'success'
  })
  return page
}
