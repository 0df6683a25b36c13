// Reads: one connection, a filtered page of them, and one connection's state history. Scoped to the caller's team
// and, for a limited key, to its sandboxes and connection specs (changes find their connection here too).
import type { Caller } from '../auth/scopes.js'
import { isAdmin } from '../auth/scopes.js'
import type { ConnectionEventRow, ConnectionRow } from '../db/schema.js'
import { AppError } from '../errors/app-error.js'
import type { ConnectionDeps } from './connection-deps.js'
import { findConnection, listConnectionEvents, listConnections, type ConnectionFilters } from './connection-repository.js'
import { decodeCursor, encodeCursor } from './cursor.js'
import { connectionLimitsOf } from './key-limits.js'

/** The team a caller may see: its own, or (admin) any, optionally narrowed by a filter. */
export const visibleTeam = (caller: Caller, requested?: string): string | undefined =>
  isAdmin(caller) ? requested : caller.team

/** Another team's connection, or one outside the key's limits, is 404, exactly like a missing one. */
export async function getConnection (deps: Pick<ConnectionDeps, 'db'>, caller: Caller, id: string): Promise<ConnectionRow> {
  const row = await findConnection(deps.db, id, visibleTeam(caller), connectionLimitsOf(caller))
  if (row === undefined) throw new AppError('not_found', `No connection ${id}.`)
  return row
}

export interface ListQuery extends Omit<ConnectionFilters, 'team' | 'sandboxes' | 'connectionSpecIds'> {
  team?: string
  limit: number
  cursor?: string
}

export async function listConnectionPage (deps: Pick<ConnectionDeps, 'db'>, caller: Caller, query: ListQuery): Promise<{ rows: ConnectionRow[], nextCursor: string | null }> {
  const afterId = query.cursor === undefined ? undefined : decodeCursor(query.cursor)
  const { limit, cursor: _cursor, team, ...filters } = query
  // One extra row tells whether another page exists without a count query.
  const rows = await listConnections(deps.db, { ...filters, ...connectionLimitsOf(caller), team: visibleTeam(caller, team) }, { limit: limit + 1, ...(afterId !== undefined ? { afterId } : {}) })
  const page = rows.slice(0, limit)
  const last = page.at(-1)
  return { rows: page, nextCursor: rows.length > limit && last !== undefined ? encodeCursor(last.id) : null }
}

export async function getConnectionEvents (deps: Pick<ConnectionDeps, 'db'>, caller: Caller, id: string): Promise<ConnectionEventRow[]> {
  const row = await getConnection(deps, caller, id)
  return await listConnectionEvents(deps.db, row.id)
}
