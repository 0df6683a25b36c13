// Request bodies with secret values unique to each test (so a search for them finds only real leaks), and readers
// of what the broker, its secret store and the emulated Flow Service hold.
import { randomBytes } from 'node:crypto'
import type { ConnectionRow } from '../../src/db/schema.js'
import type { TestBroker } from './test-broker.js'

export interface SalesforceBody {
  name: string
  description: string
  auth: {
    specName: 'Basic Authentication'
    params: { environmentUrl: string; username: string; password: string; securityToken: string }
  }
  connectionSpec: { id: string; version: string }
}

/** A Salesforce Basic Authentication body with fresh secret values. */
export function salesforceBody(
  overrides: { name?: string; description?: string; username?: string; password?: string; securityToken?: string } = {}
): SalesforceBody {
  return {
    name: overrides.name ?? `ACME ${randomBytes(3).toString('hex')}`,
    description: overrides.description ?? 'Salesforce account',
    auth: {
      specName: 'Basic Authentication',
      params: {
        environmentUrl: 'https://acme-enterprise-3126.my.salesforce.com',
        username: overrides.username ?? 'acme-salesforce',
        password: overrides.password ?? `pw-${randomBytes(8).toString('hex')}`,
        securityToken: overrides.securityToken ?? `tok-${randomBytes(8).toString('hex')}`
      }
    },
    connectionSpec: { id: 'cfc0fee1-7dc0-40ef-b73e-d8b134c436f5', version: '1.0' }
  }
}

export async function connectionRow(b: TestBroker, id: string): Promise<ConnectionRow> {
  return await b.broker.database.db.selectFrom('connections').selectAll().where('id', '=', id).executeTakeFirstOrThrow()
}

export async function allRows(b: TestBroker): Promise<ConnectionRow[]> {
  return await b.broker.database.db.selectFrom('connections').selectAll().orderBy('id').execute()
}

/** Downstream connections carrying the broker's marker for `brokerId`. */
export function downstreamOf(b: TestBroker, brokerId: string): string[] {
  return b.emulator.control
    .storedConnections()
    .filter((c) => c.description?.endsWith(`[credential-broker:${brokerId}]`) === true)
    .map((c) => c.id)
}

/** Audit rows of one connection, oldest first. */
export async function auditOf(
  b: TestBroker,
  id: string
): Promise<
  Array<{
    action: string
    outcome: string
    changed_fields: string[]
    detail: Record<string, unknown> | null
    actor: string
  }>
> {
  return await b.broker.database.db
    .selectFrom('audit_events')
    .select(['action', 'outcome', 'changed_fields', 'detail', 'actor'])
    .where('connection_id', '=', id)
    .orderBy('id')
    .execute()
}

export const sleep = async (ms: number): Promise<void> => {
  await new Promise((resolve) => setTimeout(resolve, ms))
}

/** Polls `check` until it returns a value (not undefined) or the time is up. */
export async function eventually<T>(
  check: () => Promise<T | undefined> | T | undefined,
  timeoutMs = 10000,
  what = 'condition'
): Promise<T> {
  const deadline = Date.now() + timeoutMs
  for (;;) {
    const value = await check()
    if (value !== undefined) return value
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`)
    await sleep(50)
  }
}
