// An API key as the API shows it: who it is for, what it may do and where — never the key nor its hash.
import { Type, type Static } from 'typebox'
import type { ApiKeyRow } from '../db/schema.js'
import { ADMIN_TEAM, Scope } from './scopes.js'

const TEAM_PATTERN = '^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$'
export const TeamName = Type.String({
  pattern: TEAM_PATTERN,
  description: 'Team a key acts for: letters, digits, dot, dash, underscore; up to 64.'
})

/** As x-sandbox-name takes it. */
export const SandboxName = Type.String({
  pattern: '^[a-z0-9][a-z0-9-]{0,63}$',
  description: 'Flow Service sandbox name (lowercase).'
})

const SANDBOXES_DOC =
  'Sandboxes the key may act in (x-sandbox-name of a create; the sandbox of a connection it reads or changes). Absent or null: every sandbox, the default.'
const SPECS_DOC =
  'Connection spec ids (GET /v1/connection-specs) the key may act on. Absent or null: every spec, the default.'

/** What issuing a key takes, from the API or the keys CLI. */
export const CreateApiKeyRequest = Type.Object(
  {
    team: Type.Optional(
      Type.String({
        pattern: TEAM_PATTERN,
        description: `Team the key acts for: letters, digits, dot, dash, underscore; up to 64. Required, except for admin keys, which belong to no team (they are filed under the reserved ${ADMIN_TEAM}). Refused: "admin", names differing from an existing team only in case, and teams admin keys used to belong to.`
      })
    ),
    name: Type.String({ minLength: 1, maxLength: 200, description: 'What the key is for, e.g. the calling service.' }),
    scopes: Type.Array(Scope, {
      minItems: 1,
      uniqueItems: true,
      description: 'connections:read, connections:write, audit:read, admin (admin implies all and sees every team).'
    }),
    sandboxes: Type.Optional(
      Type.Union([Type.Array(SandboxName, { minItems: 1, maxItems: 100, uniqueItems: true }), Type.Null()], {
        description: SANDBOXES_DOC
      })
    ),
    connectionSpecs: Type.Optional(
      Type.Union(
        [
          Type.Array(Type.String({ minLength: 1, maxLength: 100 }), { minItems: 1, maxItems: 100, uniqueItems: true }),
          Type.Null()
        ],
        { description: SPECS_DOC }
      )
    )
  },
  { additionalProperties: false }
)
export type CreateApiKeyRequest = Static<typeof CreateApiKeyRequest>

export const ApiKeyResource = Type.Object({
  id: Type.String({ format: 'uuid' }),
  team: Type.String({ description: `The key's team; ${ADMIN_TEAM} for admin keys, a team no other key can have.` }),
  name: Type.String(),
  scopes: Type.Array(Scope),
  sandboxes: Type.Union([Type.Array(Type.String()), Type.Null()], {
    description: 'Sandboxes the key may act in; null: every sandbox.'
  }),
  connectionSpecs: Type.Union([Type.Array(Type.String()), Type.Null()], {
    description: 'Connection spec ids the key may act on; null: every spec.'
  }),
  createdAt: Type.String({ format: 'date-time' }),
  createdBy: Type.Union([Type.String(), Type.Null()], {
    description: 'Audit actor that created it: key:<id>, cli:<user> or boot.'
  }),
  revokedAt: Type.Union([Type.String({ format: 'date-time' }), Type.Null()])
})
export type ApiKeyResource = Static<typeof ApiKeyResource>

export const toApiKeyResource = (row: ApiKeyRow): ApiKeyResource => ({
  id: row.id,
  team: row.team,
  name: row.name,
  scopes: row.scopes as Scope[],
  sandboxes: row.sandboxes,
  connectionSpecs: row.connection_specs,
  createdAt: row.created_at.toISOString(),
  createdBy: row.created_by,
  revokedAt: row.revoked_at?.toISOString() ?? null
})
