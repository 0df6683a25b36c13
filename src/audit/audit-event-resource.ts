// An audit row as the API shows it: who, what, which connection, outcome, changed field names. The hashes
// stay inside (GET /v1/audit/verify checks them), as they mean nothing to a reader.
import { Type, type Static } from 'typebox'
import type { AuditEventRow } from '../db/schema.js'

const Nullable = <T extends Parameters<typeof Type.Union>[0][number]>(schema: T) => Type.Union([schema, Type.Null()])

export const AuditOutcome = Type.Union([Type.Literal('success'), Type.Literal('failure'), Type.Literal('denied')])

export const AuditEventResource = Type.Object({
  id: Type.String({ description: 'Position in the chain; newer rows have larger ids.' }),
  occurredAt: Type.String({ format: 'date-time' }),
  actor: Type.String({ description: 'key:<key id>, cli:<os user>, poller, reconciler, boot or anonymous.' }),
  actorTeam: Nullable(Type.String()),
  actorKeyId: Nullable(Type.String()),
  action: Type.String({
    description: 'e.g. connection.create, connection.read, connection.state_changed, api_key.revoke.'
  }),
  connectionId: Nullable(Type.String({ format: 'uuid' })),
  requestId: Nullable(Type.String()),
  outcome: AuditOutcome,
  changedFields: Type.Array(Type.String(), { description: 'Names of the fields that changed, never their values.' }),
  detail: Nullable(
    Type.Record(Type.String(), Type.Unknown(), { description: 'Non-secret facts: states, statuses, filters used.' })
  )
})
export type AuditEventResource = Static<typeof AuditEventResource>

export const toAuditEventResource = (row: AuditEventRow): AuditEventResource => ({
  id: row.id,
  occurredAt: row.occurred_at.toISOString(),
  actor: row.actor,
  actorTeam: row.actor_team,
  actorKeyId: row.actor_key_id,
  action: row.action,
  connectionId: row.connection_id,
  requestId: row.request_id,
  outcome: row.outcome as AuditEventResource['outcome'],
  changedFields: row.changed_fields,
  detail: row.detail
})
