// verifyAuditChain: walks the chain a page at a time and names the first row whose hash or link does not hold,
// whichever way history was rewritten (with the append-only trigger switched off, as only a superuser can).
import { sql, type Kysely } from 'kysely'
import t from 'tap'
import { AuditLog } from '../../src/audit/audit-log.js'
import { recomputeAuditHash, verifyAuditChain } from '../../src/audit/verify-audit-chain.js'
import type { Database } from '../../src/db/schema.js'
import { openMigratedDatabase } from '../support/migrated-database.js'

async function chainOf(
  t: Parameters<typeof openMigratedDatabase>[0],
  n: number
): Promise<{ db: Kysely<Database>; ids: string[] }> {
  const { db } = await openMigratedDatabase(t)
  const audit = new AuditLog(db)
  for (let i = 0; i < n; i++) {
    await audit.append({
      actor: { kind: 'key', team: 'crm', keyId: `key-${i}` },
      action: 'connection.read',
      outcome: 'success',
      requestId: `r-${i}`,
      detail: { i }
    })
  }
  const rows = await db.selectFrom('audit_events').select('id').orderBy('id').execute()
  return { db, ids: rows.map((r) => r.id) }
}

/** Runs a statement the append-only trigger would refuse, as a superuser could. */
async function behindTheTriggersBack(db: Kysely<Database>, statement: ReturnType<typeof sql>): Promise<void> {
  await sql`alter table audit_events disable trigger audit_events_no_update_delete`.execute(db)
  try {
    await statement.execute(db)
  } finally {
    await sql`alter table audit_events enable trigger audit_events_no_update_delete`.execute(db)
  }
}

void t.test('an empty log is valid, with nothing checked', async (t) => {
  const { db } = await openMigratedDatabase(t)
  t.same(await verifyAuditChain(db), { valid: true, checked: 0 })
})

void t.test('an intact chain is valid, read in pages: every row checked once', async (t) => {
  const { db, ids } = await chainOf(t, 23)
  for (const pageSize of [1, 4, 23, 500])
    t.same(await verifyAuditChain(db, pageSize), { valid: true, checked: ids.length }, `pages of ${pageSize}`)
})

void t.test('a changed value fails its own row’s hash', async (t) => {
  const { db, ids } = await chainOf(t, 12)
  const victim = ids[6] ?? ''
  await behindTheTriggersBack(db, sql`update audit_events set detail = '{"i": 600}'::jsonb where id = ${victim}`)
  t.same(await verifyAuditChain(db, 5), { valid: false, checked: 7, firstBrokenId: victim })
})

void t.test('a changed row given a recomputed hash breaks its successor’s link', async (t) => {
  const { db, ids } = await chainOf(t, 12)
  const victim = ids[6] ?? ''
  await behindTheTriggersBack(db, sql`update audit_events set outcome = 'failure' where id = ${victim}`)
  const altered = await db.selectFrom('audit_events').selectAll().where('id', '=', victim).executeTakeFirstOrThrow()
  await behindTheTriggersBack(
    db,
    sql`update audit_events set hash = ${recomputeAuditHash(altered)} where id = ${victim}`
  )
  t.same(await verifyAuditChain(db, 5), { valid: false, checked: 8, firstBrokenId: ids[7] })
})

void t.test('a deleted row breaks its successor’s link', async (t) => {
  const { db, ids } = await chainOf(t, 12)
  await behindTheTriggersBack(db, sql`delete from audit_events where id = ${ids[3] ?? ''}`)
  t.same(await verifyAuditChain(db, 5), { valid: false, checked: 4, firstBrokenId: ids[4] })
})

void t.test('a first row that does not start from the genesis hash is named', async (t) => {
  const { db, ids } = await chainOf(t, 3)
  await behindTheTriggersBack(db, sql`update audit_events set prev_hash = ${'f'.repeat(64)} where id = ${ids[0] ?? ''}`)
  t.same(await verifyAuditChain(db), { valid: false, checked: 1, firstBrokenId: ids[0] })
})

void t.test('rows appended while it runs do not keep it going, nor break it', async (t) => {
  const { db, ids } = await chainOf(t, 30)
  const audit = new AuditLog(db)
  const [verdict] = await Promise.all([
    verifyAuditChain(db, 2),
    Promise.all(
      Array.from({ length: 20 }, async (_, i) => {
        await audit.append({
          actor: { kind: 'system', name: 'poller' },
          action: 'connection.state_changed',
          outcome: 'success',
          requestId: `late-${i}`
        })
      })
    )
  ])
  t.equal(verdict.valid, true)
  t.ok(
    verdict.checked >= ids.length && verdict.checked <= ids.length + 20,
    `checked ${verdict.checked}: the rows there when it started, perhaps a few more`
  )
  t.same(await verifyAuditChain(db), { valid: true, checked: ids.length + 20 }, 'and the next run checks them all')
})
