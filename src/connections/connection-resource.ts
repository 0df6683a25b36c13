// The connection resource as the API shows it: secret params replaced by references to where they are kept.
import { Type, type Static } from 'typebox'
import { catalog } from '../catalog/catalog.js'
import type { ConnectionRow } from '../db/schema.js'
import type { SecretStore } from '../secrets/secret-store.js'
import { BROKER_STATES } from './state/states.js'

const Nullable = <T extends Parameters<typeof Type.Union>[0][number]>(schema: T) => Type.Union([schema, Type.Null()])

export const ConnectionState = Type.Union(
  BROKER_STATES.map((s) => Type.Literal(s)),
  {
    description:
      'pending: accepted, not yet confirmed by Flow Service; initializing/enabled/disabled: as Flow Service reports; deleted; failed: rejected by Flow Service or rolled back.'
  }
)

export { Notice } from '../shared/field-error.js'

export const ConnectionResource = Type.Object({
  id: Type.String({ format: 'uuid', description: 'Broker id (uuid v7).' }),
  flowConnectionId: Nullable(
    Type.String({ description: 'Flow Service base connection id; null until Flow Service created it.' })
  ),
  name: Type.String(),
  description: Nullable(Type.String()),
  team: Type.String(),
  sandboxName: Type.String(),
  connectionSpec: Type.Object({ id: Type.String(), name: Type.String(), version: Type.String() }),
  auth: Type.Object({
    specName: Type.String(),
    params: Type.Record(Type.String(), Type.Union([Type.String(), Type.Boolean()]), {
      description:
        'Non-secret params in clear; each secret param is replaced by a reference such as vault:secret/credential-broker/connections/<id>#password@v1.'
    })
  }),
  state: ConnectionState,
  stateReason: Nullable(Type.String()),
  etag: Nullable(Type.String({ description: 'Flow Service etag, quotes included, as Flow Service gave it.' })),
  createdAt: Type.String({ format: 'date-time' }),
  updatedAt: Type.String({ format: 'date-time' })
})
export type ConnectionResource = Static<typeof ConnectionResource>

const specNames = new Map(catalog.map((s) => [s.id, s.name]))

export function toConnectionResource(row: ConnectionRow, secrets: Pick<SecretStore, 'reference'>): ConnectionResource {
  const params: Record<string, string | boolean> = { ...row.public_params }
  for (const field of row.secret_fields) {
    params[field] = row.secret_version === null ? '(not stored)' : secrets.reference(row.id, field, row.secret_version)
  }
  return {
    id: row.id,
    flowConnectionId: row.flow_connection_id,
    name: row.name,
    description: row.description,
    team: row.team,
    sandboxName: row.sandbox_name,
    connectionSpec: {
      id: row.connection_spec_id,
      name: specNames.get(row.connection_spec_id) ?? row.connection_spec_id,
      version: row.connection_spec_version
    },
    auth: { specName: row.auth_spec_name, params },
    state: row.state as ConnectionResource['state'],
    stateReason: row.state_reason,
    etag: row.etag,
    createdAt: row.created_at.toISOString(),
    updatedAt: row.updated_at.toISOString()
  }
}
