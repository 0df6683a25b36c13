// Audit rows appended outside a transaction (reads, denials) are group-committed: under concurrency they share
// transactions (one chain lock per batch), yet each caller's row has committed when its append returns, the chain
// stays unbroken in call order, and appends inside a caller's transaction interleave safely with them.
import t from 'tap'
import {
  sql,
  type Kysely,
  type KyselyPlugin,
  type PluginTransformQueryArgs,
  type PluginTransformResultArgs,
  type QueryResult,
  type RootOperationNode,
  type UnknownRow
} from 'kysely'
import { GENESIS_HASH } from '../../src/audit/audit-hash.js'
import { recomputeAuditHash } from '../../src/audit/verify-audit-chain.js'
import { AuditLog, type AuditEntry } from '../../src/audit/audit-log.js'
import type { AuditEventRow, Database } from '../../src/db/schema.js'
import { openMigratedDatabase } from '../support/migrated-database.js'

/** Counts the chain-lock statements sent: one per transaction that appended. */
class LockCounter implements KyselyPlugin {
  locks = 0
  transformQuery(args: PluginTransformQueryArgs): RootOperationNode {
    if (args.node.kind === 'RawNode' && args.node.sqlFragments.join('?').includes('pg_advisory_xact_lock')) this.locks++
    return args.node
  }

  async transformResult(args: PluginTransformResultArgs): Promise<QueryResult<UnknownRow>> {
    return args.result
  }
}

const entry = (n: number): AuditEntry => ({
  actor: { kind: 'key', team: 'crm', keyId: `key-${n}` },
  action: 'connection.read',
  outcome: 'success',
  requestId: `req-${n}`
})

async function rowsAfter(db: Kysely<Database>, count: number): Promise<AuditEventRow[]> {
  const rows = await db.selectFrom('audit_events').selectAll().orderBy('id').execute()
  return rows.slice(count)
}

function chainHolds(rows: AuditEventRow[], prev: string): boolean {
  for (const row of rows) {
    const recomputed = recomputeAuditHash(row)
    if (row.prev_hash !== prev || recomputed !== row.hash) return false
    prev = row.hash
  }
  return true
}

void t.test('group-committed audit appends', async (t) => {
  const { db } = await openMigratedDatabase(t)
  const audit = new AuditLog(db)
  const count = async (): Promise<number> =>
    Number((await sql<{ n: string }>`select count(*) as n from audit_events`.execute(db)).rows[0]?.n)
  const tail = async (): Promise<string> =>
    (await db.selectFrom('audit_events').select('hash').orderBy('id', 'desc').limit(1).executeTakeFirst())?.hash ??
    GENESIS_HASH

  void t.test('fifty concurrent appends share transactions, and form one chain in call order', async (t) => {
    const before = await count()
    const prev = await tail()
    const counter = new LockCounter()
    const counted = new AuditLog(db.withPlugin(counter))
    await Promise.all(
      Array.from({ length: 50 }, async (_, i) => {
        await counted.append(entry(i))
      })
    )

    const rows = await rowsAfter(db, before)
    t.equal(rows.length, 50, 'every row is there')
    t.ok(chainHolds(rows, prev), 'the chain holds')
    t.same(
      rows.map((r) => r.request_id),
      Array.from({ length: 50 }, (_, i) => `req-${i}`),
      'in the order the appends were made'
    )
    t.ok(counter.locks < 50, `${counter.locks} transactions for 50 rows`)
  })

  void t.test('each append has committed by the time it returns', async (t) => {
    const results = await Promise.all(
      Array.from({ length: 10 }, async (_, i) => {
        await audit.append(entry(1000 + i))
        const seen = await db
          .selectFrom('audit_events')
          .select('id')
          .where('request_id', '=', `req-${1000 + i}`)
          .executeTakeFirst()
        return seen !== undefined
      })
    )
    t.ok(results.every(Boolean))
  })

  void t.test(
    'appends inside callers’ transactions interleave with group-committed ones without breaking the chain',
    async (t) => {
      const before = await count()
      const prev = await tail()
      await Promise.all([
        ...Array.from({ length: 10 }, async (_, i) => {
          await audit.append(entry(2000 + i))
        }),
        ...Array.from({ length: 10 }, async (_, i) => {
          await db.transaction().execute(async (tx) => {
            await audit.appendIn(tx, entry(3000 + i))
          })
        })
      ])
      const rows = await rowsAfter(db, before)
      t.equal(rows.length, 20)
      t.ok(chainHolds(rows, prev))
    }
  )

  void t.test('a row the database refuses fails its own caller only', async (t) => {
    const before = await count()
    const bad: AuditEntry = { ...entry(4000), connectionId: 'not-a-uuid' }
    const outcomes = await Promise.all(
      [entry(4001), bad, entry(4002)].map(
        async (e) =>
          await audit.append(e).then(
            () => 'ok',
            () => 'failed'
          )
      )
    )
    t.same(outcomes, ['ok', 'failed', 'ok'])
    t.equal(await count(), before + 2)
  })
})
