// Kysely table types: one interface per table, composed into the Database the repositories use.
import type { ColumnType, Generated, Insertable, Selectable, Updateable } from 'kysely'
import type { BrokerState } from '../domain/connection-states.js'

type Timestamp = ColumnType<Date, Date | string | undefined, Date | string>
type Json<T> = ColumnType<T, string, string>

export interface ConnectionsTable {
  id: string
  team: string
  name: string
  description: string | null
  sandbox_name: string
  connection_spec_id: string
  connection_spec_version: string
  auth_spec_name: string
  /** Non-secret params only. Secret params live in the secret store. */
  public_params: Json<Record<string, string | boolean>>
  /** Names of the params kept in the secret store. */
  secret_fields: Json<string[]>
  /** Secret store version Flow Service currently holds (null before the first write). */
  secret_version: number | null
  flow_connection_id: string | null
  etag: string | null
  state: BrokerState
  state_reason: string | null
  /** The state string exactly as Flow Service last reported it. */
  downstream_state: string | null
  created_at: Timestamp
  updated_at: Timestamp
  next_poll_at: Date | null
  poll_failures: Generated<number>
  lease_owner: string | null
  lease_until: Date | null
  idempotency_key: string | null
  /** sha256 of the create body's non-secret parts; secret values are compared through the secret store. */
  request_fingerprint: string | null
  /** Flow Service's refusal of the create, replayed to a retry with the same Idempotency-Key. */
  failure_detail: ColumnType<DownstreamRefusal | null, string | null | undefined, string | null>
  /** A rotation sent downstream whose outcome is not recorded yet; the reconciler settles it after a crash. */
  pending_change: ColumnType<PendingRotation | null, string | null | undefined, string | null>
  /** When Flow Service first answered 404 for it; a second 404 GONE_CONFIRM_MS later confirms the deletion. */
  gone_suspected_at: ColumnType<Date | null, Date | null | undefined, Date | null>
  /** Deleted downstream: its secret is kept (recoverable by an operator) until then, then destroyed. */
  secret_destroy_after: ColumnType<Date | null, Date | null | undefined, Date | null>
  /** A POST of its create may have been sent more than once: until then the reconciler deletes marked duplicates. */
  duplicate_watch_until: ColumnType<Date | null, Date | null | undefined, Date | null>
}

export interface DownstreamRefusal {
  status: number | null
  code: string | null
  message: string | null
}

export interface PendingRotation {
  kind: 'rotate'
  /** The secret store version written for the new credentials (not current until Flow Service took them). */
  secretVersion: number
  /** The etag last sent in If-Match (for operators; only a 200 to a PATCH proves the new values are live). */
  ifMatch: string
  publicParams: Record<string, string | boolean>
  secretFields: string[]
}

export interface ConnectionEventsTable {
  id: Generated<string>
  connection_id: string
  from_state: BrokerState | null
  to_state: BrokerState
  reason: string | null
  downstream_state: string | null
  observed_at: Timestamp
  /** `request`, `poller`, or `reconciler`. */
  observed_by: string
  request_id: string | null
}

export interface AuditEventsTable {
  id: Generated<string>
  occurred_at: Timestamp
  actor: string
  actor_team: string | null
  actor_key_id: string | null
  action: string
  connection_id: string | null
  request_id: string | null
  outcome: string
  changed_fields: Json<string[]>
  detail: Json<Record<string, unknown>> | null
  prev_hash: string
  hash: string
}

/** One row: how far the audit chain is proven intact, and the lease of the verification running now. */
export interface AuditVerificationTable {
  id: Generated<number>
  through_id: string | null
  through_hash: string | null
  verified_at: Date | null
  running_until: Date | null
}

export interface ApiKeysTable {
  id: string
  team: string
  name: string
  scopes: Json<string[]>
  /** sha256 of the key: keys are 256-bit random, so a fast hash is enough and lookups stay O(1). */
  key_hash: string
  created_at: Timestamp
  created_by: string | null
  revoked_at: Date | null
  last_used_at: Date | null
  /** Set on keys the broker makes at boot (BROKER_ADMIN_KEY, dev): a later boot with another value revokes them. */
  bootstrap: ColumnType<string | null, string | null | undefined, string | null>
  /** An admin key's team before admin keys left teams; that team's old audit rows are the admins'. */
  former_team: ColumnType<string | null, string | null | undefined, string | null>
  /** Sandboxes the key may act in; null: every sandbox. */
  sandboxes: ColumnType<string[] | null, string | null | undefined, string | null>
  /** Connection spec ids the key may act on; null: every spec. */
  connection_specs: ColumnType<string[] | null, string | null | undefined, string | null>
}

export interface LocalSecretsTable {
  key: string
  version: number
  /** base64(iv | auth tag | AES-256-GCM ciphertext) */
  sealed: string
  created_at: Timestamp
}

export interface Database {
  connections: ConnectionsTable
  connection_events: ConnectionEventsTable
  audit_events: AuditEventsTable
  audit_verification: AuditVerificationTable
  api_keys: ApiKeysTable
  local_secrets: LocalSecretsTable
}

export type ConnectionRow = Selectable<ConnectionsTable>
export type NewConnectionRow = Insertable<ConnectionsTable>
export type ConnectionUpdate = Updateable<ConnectionsTable>
export type ConnectionEventRow = Selectable<ConnectionEventsTable>
export type AuditEventRow = Selectable<AuditEventsTable>
export type ApiKeyRow = Selectable<ApiKeysTable>
