// Appends audit rows (append-only, hash-chained). Callers pass their transaction so the row commits with the change.
import { sql, type Kysely } from 'kysely'
import { GroupCommit } from '../db/group-commit.js'
import type { Database } from '../db/schema.js'
import { auditHashRest } from './audit-hash.js'

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

/** Appends one row: in the caller's transaction, or, outside one, in a statement shared with other such rows. */
export async function appendAudit (executor: Kysely<Database>, entry: AuditEntry): Promise<void> {
  if (executor.isTransaction) await appendAuditEntries(executor, [entry])
  else await standaloneAppends(executor).add(entry)
}

// Rows appended on their own (reads, denials: one per request) are group-committed: every caller still waits for
// its row to commit, but the rows arriving together share one statement, one take of the chain lock and one commit.
const groups = new WeakMap<Kysely<Database>, GroupCommit<AuditEntry>>()

function standaloneAppends (db: Kysely<Database>): GroupCommit<AuditEntry> {
  let group = groups.get(db)
  if (group === undefined) {
    group = new GroupCommit(async (entries) => { await appendAuditEntries(db, entries) })
    groups.set(db, group)
  }
  return group
}

/**
 * Appends rows in order, each chained to the one before, in one statement: audit_append (a database function, see
 * its migration) takes the chain lock that serialises appenders on every replica, reads the tail and inserts. In a
 * transaction the lock is held until it ends; outside one the statement is its own transaction.
 */
async function appendAuditEntries (executor: Kysely<Database>, entries: AuditEntry[]): Promise<void> {
  const rows = entries.map((entry) => {
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
    return {
      occurred_at: content.occurredAt.toISOString(),
      actor: content.actor,
      actor_team: content.actorTeam,
      actor_key_id: content.actorKeyId,
      action: content.action,
      connection_id: content.connectionId,
      request_id: content.requestId,
      outcome: content.outcome,
      changed_fields: content.changedFields,
      detail: content.detail,
      hash_rest: auditHashRest(content)
    }
  })
  await sql`select audit_append(${JSON.stringify(rows)}::jsonb)`.execute(executor)
}
