// Appends audit rows (append-only, hash-chained). Callers pass their transaction so the row commits with the change.
import { sql, type Kysely } from 'kysely'
import { GroupCommit } from '../db/group-commit.js'
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

/** Appends one row: in the caller's transaction, or, outside one, in a transaction shared with other such rows. */
export async function appendAudit (executor: Kysely<Database>, entry: AuditEntry): Promise<void> {
  if (executor.isTransaction) await appendAuditEntries(executor, [entry])
  else await standaloneAppends(executor).add(entry)
}

// Rows appended on their own (reads, denials: one per request) are group-committed: every caller still waits for
// its row to commit, but the chain lock is taken once per batch instead of once per request.
const groups = new WeakMap<Kysely<Database>, GroupCommit<AuditEntry>>()

function standaloneAppends (db: Kysely<Database>): GroupCommit<AuditEntry> {
  let group = groups.get(db)
  if (group === undefined) {
    group = new GroupCommit(async (entries) => { await db.transaction().execute(async (tx) => { await appendAuditEntries(tx, entries) }) })
    groups.set(db, group)
  }
  return group
}

/** Appends rows in order inside `tx`, each chained to the one before: one lock, one read of the tail, one insert. */
async function appendAuditEntries (tx: Kysely<Database>, entries: AuditEntry[]): Promise<void> {
  await sql`select pg_advisory_xact_lock(${CHAIN_LOCK})`.execute(tx)
  const last = await tx.selectFrom('audit_events').select('hash').orderBy('id', 'desc').limit(1).executeTakeFirst()
  let prevHash = last?.hash ?? GENESIS_HASH
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
    const hash = auditHash(prevHash, content)
    const row = {
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
      hash
    }
    prevHash = hash
    return row
  })
  // Identity ids follow the order of the VALUES list, so each row's id comes after its predecessor's.
  await tx.insertInto('audit_events').values(rows).execute()
}
