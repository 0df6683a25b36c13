// Appends audit rows (append-only, hash-chained). Callers pass their transaction so the row commits with the change.
import { sql, type Kysely } from 'kysely'
import type { Database } from '../db/schema.js'
import { auditHash, GENESIS_HASH } from './audit-hash.js'

/** Who acted: a caller's API key, or one of the broker's own background jobs. */
export type Actor =
  | { kind: 'key', team: string, keyId: string }
  | { kind: 'system', name: 'poller' | 'reconciler' | 'boot' }
  /** An operator at a shell (`npm run keys`), named by their OS user. */
  | { kind: 'cli', user: string }
  | { kind: 'anonymous' }

export type AuditOutcome = 'success' | 'failure' | 'denied'

export interface AuditEntry {
  actor: Actor
  action: string
  connectionId?: string | null
  requestId?: string | null
  outcome: AuditOutcome
  /** Names of the fields that changed — never their values. */
  changedFields?: string[]
  /** Non-secret facts: status codes, error codes, states. */
  detail?: Record<string, unknown> | null
}

export function actorLabel (actor: Actor): string {
  switch (actor.kind) {
    case 'key': return `key:${actor.keyId}`
    case 'system': return actor.name
    case 'cli': return `cli:${actor.user}`
    case 'anonymous': return 'anonymous'
  }
}

/** The actor of an authenticated request. */
export const keyActor = (caller: { team: string, keyId: string }): Actor => ({ kind: 'key', team: caller.team, keyId: caller.keyId })

// One advisory lock serialises appenders so the chain has one predecessor per row, on every replica.
const CHAIN_LOCK = 7_401_001

export async function appendAudit (executor: Kysely<Database>, entry: AuditEntry): Promise<void> {
  if (!executor.isTransaction) {
    await executor.transaction().execute(async (tx) => { await appendAudit(tx, entry) })
    return
  }
  await sql`select pg_advisory_xact_lock(${CHAIN_LOCK})`.execute(executor)
  const last = await executor.selectFrom('audit_events').select('hash').orderBy('id', 'desc').limit(1).executeTakeFirst()
  const prevHash = last?.hash ?? GENESIS_HASH
  const content = {
    // Millisecond precision survives the round trip through timestamptz, so verify recomputes the same hash.
    occurredAt: new Date(),
    actor: actorLabel(entry.actor),
    actorTeam: entry.actor.kind === 'key' ? entry.actor.team : null,
    actorKeyId: entry.actor.kind === 'key' ? entry.actor.keyId : null,
    action: entry.action,
    // Hash what PostgreSQL will store and give back: uuids in lower case, detail as JSON (a Date becomes its
    // ISO string, undefined disappears). Otherwise a faithful row would fail verification.
    connectionId: entry.connectionId?.toLowerCase() ?? null,
    requestId: entry.requestId ?? null,
    outcome: entry.outcome,
    changedFields: entry.changedFields ?? [],
    detail: entry.detail == null ? null : JSON.parse(JSON.stringify(entry.detail)) as Record<string, unknown>
  }
  await executor.insertInto('audit_events').values({
    occurred_at: content.occurredAt,
    actor: content.actor,
    actor_team: content.actorTeam,
    actor_key_id: content.actorKeyId,
    action: content.action,
    connection_id: content.connectionId,
    request_id: content.requestId,
    outcome: content.outcome,
    changed_fields: JSON.stringify(content.changedFields),
    detail: content.detail === null ? null : JSON.stringify(content.detail),
    prev_hash: prevHash,
    hash: auditHash(prevHash, content)
  }).execute()
}
