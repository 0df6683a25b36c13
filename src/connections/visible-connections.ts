// What a caller may see of the connections: its team's (an admin's: any team's) and, for a limited key, only those in
// its sandboxes and of its connection specs. The reads and the changes find their connection here.
import { isAdmin, type Caller } from '../auth/scopes.js'
import type { ConnectionRow } from '../db/schema.js'
import { AppError } from '../errors/app-error.js'
import type { ConnectionDeps } from './connection-deps.js'
import { findConnection } from './connection-repository.js'
import { connectionLimitsOf } from './key-limits.js'

/** The team a caller may see: its own, or (admin) any, optionally narrowed by a filter. */
export const visibleTeam = (caller: Caller, requested?: string): string | undefined =>
  isAdmin(caller) ? requested : caller.team

/** Another team's connection, or one outside the key's limits, is 404, exactly like a missing one. */
export async function findVisibleConnection(
  deps: Pick<ConnectionDeps, 'db'>,
  caller: Caller,
  id: string
): Promise<ConnectionRow> {
  const row = await findConnection(deps.db, id, visibleTeam(caller), connectionLimitsOf(caller))
  if (row === undefined) throw new AppError('not_found', `No connection ${id}.`)
  return row
}

/** Whether connection `id` is team `team`'s (its limits aside): what a team's audit reader may ask about. */
export async function isTeamConnection(deps: Pick<ConnectionDeps, 'db'>, team: string, id: string): Promise<boolean> {
  return (await findConnection(deps.db, id, team)) !== undefined
}
