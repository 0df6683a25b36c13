// The audit log: append-only by the database's own refusal, and hash-chained so that every stored row
// recomputes to its hash and points at its predecessor's — also under concurrent appends.
import t from 'tap'
import { sql, type Kysely } from 'kysely'
import { v7 as uuidv7 } from 'uuid'
import { GENESIS_HASH } from '../../src/audit/audit-hash.js'
import { recomputeAuditHash } from '../../src/audit/verify-audit-chain.js'
import { AuditLog, type AuditEntry } from '../../src/audit/audit-log.js'
import type { AuditEventRow, Database } from '../../src/db/schema.js'
import { openMigratedDatabase } from '../support/migrated-database.js'

async function allRows(db: Kysely<Database>): Promise<AuditEventRow[]> {
  return await db.selectFrom('audit_events').selectAll().orderBy('id').execute()
}

/**
 * The first row (by id) from index `from` on whose chain link or hash does not hold, or null when they verify.
 * Each test checks the rows it appended (and their link to the row before), so one broken row fails one test.
 */
function firstBrokenLink(rows: AuditEventRow[], from = 0): { id: string; why: string } | null {
  let prev = from === 0 ? GENESIS_HASH : rows[from - 1]?.hash
  for (const row of rows.slice(from)) {
    if (row.prev_hash !== prev) return { id: row.id, why: 'prev_hash is not the previous row’s hash' }
    const recomputed = recomputeAuditHash(row)
    if (recomputed !== row.hash) return { id: row.id, why: 'hash does not match the stored content' }
    prev = row.hash
  }
  return null
}

/** The database error code and message of a refused statement. */
async function refusal(
  db: Kysely<Database>,
  statement: ReturnType<typeof sql>
): Promise<{ code: unknown; message: string }> {
  try {
    await statement.execute(db)
  } catch (err) {
    return { code: (err as { code?: unknown }).code, message: (err as Error).message }
  }
  return { code: undefined, message: 'accepted' }
}

const entry = (n: number, extra: Partial<AuditEntry> = {}): AuditEntry => ({
  actor: { kind: 'key', team: 'crm', keyId: `key-${n}` },
  action: 'connection.create',
  connectionId: uuidv7(),
  requestId: `req-${n}`,
  outcome: 'success',
  changedFields: ['name', 'auth.params.password'],
  detail: { state: 'pending', n },
  ...extra
})

void t.test('audit log', async (t) => {
  const { db } = await openMigratedDatabase(t)
  const audit = new AuditLog(db)

  void t.test('the first row chains from the genesis hash', async (t) => {
    await audit.append(entry(1))
    const [first] = await allRows(db)
    t.equal(first?.prev_hash, GENESIS_HASH)
  })

  void t.test('each row points at its predecessor and recomputes to its stored hash', async (t) => {
    const mark = (await allRows(db)).length
    await audit.append(entry(2))
    await audit.append({
      actor: { kind: 'system', name: 'poller' },
      action: 'connection.state_changed',
      outcome: 'success'
    })
    await audit.append({
      actor: { kind: 'anonymous' },
      action: 'connection.read',
      outcome: 'denied',
      connectionId: null,
      detail: null
    })
    const rows = await allRows(db)
    t.equal(rows.length, mark + 3)
    t.equal(firstBrokenLink(rows, mark), null)
    t.equal(new Set(rows.map((r) => r.hash)).size, rows.length, 'every hash distinct')
  })

  void t.test('the chain verifies whatever order jsonb gives the keys back in', async (t) => {
    // jsonb stores keys shortest first; the hash must not depend on it.
    const mark = (await allRows(db)).length
    await audit.append(
      entry(3, { detail: { zeta: 1, alpha: { longer_key: true, b: [3, { y: 1, x: 2 }] }, é: 'ü', m: null } })
    )
    t.equal(firstBrokenLink(await allRows(db), mark), null)
  })

  void t.test('the chain verifies when detail holds values JSON stores differently (a Date, undefined)', async (t) => {
    const mark = (await allRows(db)).length
    await audit.append(
      entry(4, { detail: { at: new Date('2026-11-22T10:00:00.123Z'), skipped: undefined, list: [1, undefined] } })
    )
    t.equal(firstBrokenLink(await allRows(db), mark), null)
  })

  void t.test(
    'the chain verifies when a connection id arrives in upper case (PostgreSQL stores uuids in lower case)',
    async (t) => {
      const mark = (await allRows(db)).length
      await audit.append(entry(5, { connectionId: uuidv7().toUpperCase() }))
      t.equal(firstBrokenLink(await allRows(db), mark), null)
    }
  )

  void t.test('twenty concurrent appends form one unbroken chain', async (t) => {
    const before = (await allRows(db)).length
    await Promise.all(
      Array.from({ length: 20 }, async (_, i) => {
        await audit.append(entry(100 + i))
      })
    )
    const rows = await allRows(db)
    t.equal(rows.length, before + 20)
    t.equal(firstBrokenLink(rows, before), null)
  })

  void t.test('an append rolled back with its transaction leaves no gap in the chain', async (t) => {
    const mark = (await allRows(db)).length
    await t.rejects(
      db.transaction().execute(async (tx) => {
        await audit.appendIn(tx, entry(6))
        throw new Error('the change failed')
      })
    )
    await audit.append(entry(7))
    const rows = await allRows(db)
    t.equal(rows.length, mark + 1)
    t.equal(firstBrokenLink(rows, mark), null)
  })

  void t.test('the database refuses UPDATE, whoever asks', async (t) => {
    const rows = await allRows(db)
    t.match(await refusal(db, sql`update audit_events set outcome = 'failure'`), {
      code: '42501',
      message: /audit_events is append-only: UPDATE refused/
    })
    t.same(await allRows(db), rows, 'nothing changed')
  })

  void t.test('the database refuses DELETE', async (t) => {
    const rows = await allRows(db)
    t.match(await refusal(db, sql`delete from audit_events`), { code: '42501', message: /append-only: DELETE refused/ })
    t.same(await allRows(db), rows, 'nothing deleted')
  })

  void t.test('the database refuses TRUNCATE', async (t) => {
    const rows = await allRows(db)
    t.match(await refusal(db, sql`truncate audit_events`), { code: '42501', message: /append-only: TRUNCATE refused/ })
    t.same(await allRows(db), rows, 'nothing deleted')
  })

  // Last: it tampers with the table.
  void t.test('a row altered behind the trigger’s back no longer verifies', async (t) => {
    const rows = await allRows(db)
    const victim = rows[2]
    if (victim === undefined) throw new Error('too few rows')
    await sql`alter table audit_events disable trigger audit_events_no_update_delete`.execute(db)
    await sql`update audit_events set outcome = 'failure' where id = ${victim.id}`.execute(db)
    await sql`alter table audit_events enable trigger audit_events_no_update_delete`.execute(db)

    t.same(firstBrokenLink(await allRows(db), 2), { id: victim.id, why: 'hash does not match the stored content' })
  })
})
