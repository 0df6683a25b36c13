// Connection rows written straight into the database, for tests of what happens after a create.
import type { Kysely } from 'kysely'
import { v7 as uuidv7 } from 'uuid'
import { insertConnection } from '../../src/connections/connection-repository.js'
import type {
  AuditEventRow,
  ConnectionEventRow,
  ConnectionRow,
  Database,
  NewConnectionRow
} from '../../src/db/schema.js'

export const SALESFORCE_SPEC_ID = 'cfc0fee1-7dc0-40ef-b73e-d8b134c436f5'

/** A Salesforce connection as a successful create leaves it, unless overridden. */
export function testConnectionValues(overrides: Partial<NewConnectionRow> = {}): NewConnectionRow {
  const id = overrides.id ?? uuidv7()
  return {
    id,
    team: 'crm',
    name: `connection ${id}`,
    description: null,
    sandbox_name: 'prod',
    connection_spec_id: SALESFORCE_SPEC_ID,
    connection_spec_version: '1.0',
    auth_spec_name: 'Basic Authentication',
    public_params: JSON.stringify({
      environmentUrl: 'https://acme.my.salesforce.com',
      username: 'integration@acme.com'
    }),
    secret_fields: JSON.stringify(['password', 'securityToken']),
    secret_version: null,
    flow_connection_id: null,
    etag: null,
    state: 'initializing',
    state_reason: null,
    downstream_state: 'initializing',
    next_poll_at: null,
    lease_owner: null,
    lease_until: null,
    idempotency_key: null,
    request_fingerprint: null,
    ...overrides
  }
}

export async function insertTestConnection(
  db: Kysely<Database>,
  overrides: Partial<NewConnectionRow> = {}
): Promise<ConnectionRow> {
  return await insertConnection(db, testConnectionValues(overrides))
}

export async function connectionRow(db: Kysely<Database>, id: string): Promise<ConnectionRow> {
  return await db.selectFrom('connections').selectAll().where('id', '=', id).executeTakeFirstOrThrow()
}

export async function connectionEvents(db: Kysely<Database>, id: string): Promise<ConnectionEventRow[]> {
  return await db.selectFrom('connection_events').selectAll().where('connection_id', '=', id).orderBy('id').execute()
}

export async function auditRows(db: Kysely<Database>, connectionId: string): Promise<AuditEventRow[]> {
  return await db
    .selectFrom('audit_events')
    .selectAll()
    .where('connection_id', '=', connectionId)
    .orderBy('id')
    .execute()
}
