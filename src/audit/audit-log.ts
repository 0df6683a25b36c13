// Appends audit rows (append-only, hash-chained): in the caller's transaction, so the row commits with the change,
// or on their own through the AuditLog's group commit.
import { sql, type Kysely } from 'kysely'
import { GroupCommit } from '../db/group-commit.js'
import type { Database } from '../db/schema.js'
import { auditHashRest } from './audit-hash.js'

/** Who acted: a caller's API key, or one of the broker's own background jobs. */
export type Actor =
  | { kind: 'key'; team: string; keyId: string }
  | { kind: 'system'; name: 'poller' | 'reconciler' | 'boot' }
  /** An operator at a shell (`npm run keys`), named by their OS user. */
  | { kind: 'cli'; user: string }
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

export function actorLabel(actor: Actor): string {
  switch (actor.kind) {
    case 'key':
      return `key:${actor.keyId}`
    case 'system':
      return actor.name
    case 'cli':
      return `cli:${actor.user}`
    case 'anonymous':
      return 'anonymous'
  }
}

/** The actor of an authenticated request. */
export const keyActor = (caller: { team: string; keyId: string }): Actor => ({
  kind: 'key',
  team: caller.team,
  keyId: caller.keyId
})

/** Who acts and in which request: what every use case records in its audit rows. */
export interface AuditContext {
  actor: Actor
  /** Null outside a request (a CLI, the boot). */
  requestId: string | null
}

/**
 * The audit log of one database, made once by whoever opens the database (the composition root, a CLI). Rows
 * appended on their own (reads, denials: one per request) are group-committed: every caller still waits for its
 * row to commit, but the rows arriving together share one statement, one take of the chain lock and one commit.
 */
export class AuditLog {
  readonly #standalone: GroupCommit<AuditEntry>

  constructor(db: Kysely<Database>) {
    this.#standalone = new GroupCommit(async (entries) => {
      await appendAuditEntries(db, entries)
    })
  }

  /** Appends one row on its own; resolves once it has committed. */
  async append(entry: AuditEntry): Promise<void> {
    await this.#standalone.add(entry)
  }

  /** Appends one row in the caller's transaction: it commits, or not, with the change. */
  async appendIn(tx: Kysely<Database>, entry: AuditEntry): Promise<void> {
    await appendAuditIn(tx, entry)
  }
}

/**
 * Appends one row in the caller's transaction, for work that writes its rows with its change and has no AuditLog
 * at hand (recordObservation, the boot key): a row in a transaction needs nothing shared.
 */
export async function appendAuditIn(tx: Kysely<Database>, entry: AuditEntry): Promise<void> {
  if (!tx.isTransaction) throw new Error('appendAuditIn needs a transaction; use AuditLog.append for a row on its own')
  await appendAuditEntries(tx, [entry])
}

/**
 * Appends rows in order, each chained to the one before, in one statement: audit_append (a database function, see
 * its migration) takes the chain lock that serialises appenders on every replica, reads the tail and inserts. In a
 * transaction the lock is held until it ends; outside one the statement is its own transaction.
 */
async function appendAuditEntries(executor: Kysely<Database>, entries: AuditEntry[]): Promise<void> {
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
      detail: entry.detail == null ? null : (JSON.parse(JSON.stringify(entry.detail)) as Record<string, unknown>)
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
