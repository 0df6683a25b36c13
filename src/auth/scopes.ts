// What an API key may do. `admin` implies every other scope and sees every team; a team key may also be limited to
// some sandboxes and connection specs (null: every one, the default of keys that name none).
import { Type, type Static } from 'typebox'

export const SCOPES = ['connections:read', 'connections:write', 'audit:read', 'admin'] as const
export const Scope = Type.Union([
  Type.Literal('connections:read'),
  Type.Literal('connections:write'),
  Type.Literal('audit:read'),
  Type.Literal('admin')
])
export type Scope = Static<typeof Scope>

/**
 * The team every admin key belongs to. TeamName refuses `*`, so no caller can issue a key for it, filter by it, or
 * have its connections and audit rows mixed with the admins'.
 */
export const ADMIN_TEAM = '*admin*'

export interface Caller {
  keyId: string
  team: string
  scopes: readonly Scope[]
  /** Sandboxes the key may act in; null: every sandbox. */
  sandboxes: readonly string[] | null
  /** Connection spec ids the key may act on; null: every spec. */
  connectionSpecs: readonly string[] | null
}

export const isAdmin = (caller: Caller): boolean => caller.scopes.includes('admin')
export const hasScope = (caller: Caller, scope: Scope): boolean => isAdmin(caller) || caller.scopes.includes(scope)

/** Whether a connection in `sandboxName` of spec `connectionSpecId` lies within the key's limits. */
export const withinKeyLimits = (caller: Caller, at: { sandboxName: string; connectionSpecId: string }): boolean =>
  (caller.sandboxes === null || caller.sandboxes.includes(at.sandboxName)) &&
  (caller.connectionSpecs === null || caller.connectionSpecs.includes(at.connectionSpecId))
