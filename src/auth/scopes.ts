// What an API key may do. `admin` implies every other scope and sees every team.
import { Type, type Static } from 'typebox'

export const SCOPES = ['connections:read', 'connections:write', 'audit:read', 'admin'] as const
export const Scope = Type.Union([
  Type.Literal('connections:read'), Type.Literal('connections:write'), Type.Literal('audit:read'), Type.Literal('admin')
])
export type Scope = Static<typeof Scope>

export interface Caller {
  keyId: string
  team: string
  scopes: readonly Scope[]
}

export const isAdmin = (caller: Caller): boolean => caller.scopes.includes('admin')
export const hasScope = (caller: Caller, scope: Scope): boolean => isAdmin(caller) || caller.scopes.includes(scope)
