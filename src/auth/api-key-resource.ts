// An API key as the API shows it: who it is for and what it may do — never the key nor its hash.
import { Type, type Static } from 'typebox'
import type { ApiKeyRow } from '../db/schema.js'
import { Scope } from './scopes.js'

export const TeamName = Type.String({ pattern: '^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$', description: 'Team a key acts for: letters, digits, dot, dash, underscore; up to 64.' })

/** What issuing a key takes, from the API or the keys CLI. */
export const CreateApiKeyRequest = Type.Object({
  team: TeamName,
  name: Type.String({ minLength: 1, maxLength: 200, description: 'What the key is for, e.g. the calling service.' }),
  scopes: Type.Array(Scope, { minItems: 1, uniqueItems: true, description: 'connections:read, connections:write, audit:read, admin (admin implies all and sees every team).' })
}, { additionalProperties: false })
export type CreateApiKeyRequest = Static<typeof CreateApiKeyRequest>

export const ApiKeyResource = Type.Object({
  id: Type.String({ format: 'uuid' }),
  team: Type.String(),
  name: Type.String(),
  scopes: Type.Array(Scope),
  createdAt: Type.String({ format: 'date-time' }),
  createdBy: Type.Union([Type.String(), Type.Null()], { description: 'Audit actor that created it: key:<id>, cli:<user> or boot.' }),
  revokedAt: Type.Union([Type.String({ format: 'date-time' }), Type.Null()])
})
export type ApiKeyResource = Static<typeof ApiKeyResource>

export const toApiKeyResource = (row: ApiKeyRow): ApiKeyResource => ({
  id: row.id,
  team: row.team,
  name: row.name,
  scopes: row.scopes as Scope[],
  createdAt: row.created_at.toISOString(),
  createdBy: row.created_by,
  revokedAt: row.revoked_at?.toISOString() ?? null
})
