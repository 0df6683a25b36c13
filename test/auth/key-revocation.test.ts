// A revocation made anywhere (another replica, the keys CLI) reaches a running broker at once through PostgreSQL
// NOTIFY, although it remembers keys for a minute here; and while it cannot hear notifications it asks the database
// on every request. PostgreSQL only (DATABASE_URL, as in CI): PGlite serves one process, whose own revocations
// evict directly (test/http/api-keys.test.ts).
import t from 'tap'
import { sql } from 'kysely'
import { pino } from 'pino'
import { AuditLog } from '../../src/audit/audit-log.js'
import { revokeApiKey } from '../../src/auth/api-key-admin.js'
import { openDatabase } from '../../src/db/database.js'
import { startTestBroker } from '../support/test-broker.js'

const onPostgres = process.env.DATABASE_URL !== undefined && process.env.DATABASE_URL !== ''

async function eventually(check: () => Promise<boolean>, timeoutMs: number): Promise<number> {
  const started = Date.now()
  for (;;) {
    if (await check()) return Date.now() - started
    if (Date.now() - started > timeoutMs) throw new Error(`not within ${timeoutMs} ms`)
    await new Promise((resolve) => setTimeout(resolve, 20))
  }
}

void t.test(
  'revocations from other processes',
  { skip: onPostgres ? false : 'needs PostgreSQL (DATABASE_URL)' },
  async (t) => {
    const b = await startTestBroker(t, { poller: false, reconciler: false, env: { API_KEY_CACHE_TTL_MS: '60000' } })
    // Another process on the same database: its own pool, as a second replica or `npm run keys` has.
    const dbName =
      (await sql<{ db: string }>`select current_database() as db`.execute(b.broker.database.db)).rows[0]?.db ?? ''
    const otherUrl = new URL(process.env.DATABASE_URL ?? '')
    otherUrl.pathname = `/${dbName}`
    const other = await openDatabase(
      { kind: 'postgres', url: otherUrl.toString(), poolSize: 2 },
      pino({ level: 'silent' })
    )
    t.teardown(async () => {
      await other.close()
    })
    const listening = async (): Promise<boolean> =>
      (
        await sql<{
          n: number
        }>`select count(*)::int as n from pg_stat_activity where datname = current_database() and application_name = 'broker-key-revocations' and query ilike 'LISTEN%'`.execute(
          other.db
        )
      ).rows[0]?.n === 1
    await eventually(listening, 5000)

    const use = async (key: string): Promise<number> =>
      (await b.request({ method: 'GET', url: '/v1/connections', key })).statusCode

    void t.test(
      'revoked by another process: refused at the next request, long before the cache would expire',
      async (t) => {
        const key = await b.createKey('crm', ['connections:read'])
        const keyId = (
          await other.db
            .selectFrom('api_keys')
            .select('id')
            .where('name', '=', 'crm test key')
            .orderBy('created_at', 'desc')
            .executeTakeFirstOrThrow()
        ).id
        t.equal(await use(key), 200, 'works, and is now remembered')
        t.equal(await use(key), 200)
        await revokeApiKey(
          { db: other.db, audit: new AuditLog(other.db) },
          { actor: { kind: 'cli', user: 'ops' }, requestId: null },
          keyId
        )
        const tookMs = await eventually(async () => (await use(key)) === 401, 2000)
        t.ok(tookMs < 2000, `refused ${tookMs} ms after the revocation committed (cache TTL 60 s)`)
      }
    )

    void t.test(
      'while the broker cannot hear revocations it asks the database each time, and listens again',
      async (t) => {
        const key = await b.createKey('sales', ['connections:read'])
        const keyId = (
          await other.db.selectFrom('api_keys').select('id').where('team', '=', 'sales').executeTakeFirstOrThrow()
        ).id
        t.equal(await use(key), 200)
        await sql`select pg_terminate_backend(pid) from pg_stat_activity where datname = current_database() and application_name = 'broker-key-revocations'`.execute(
          other.db
        )
        await eventually(async () => b.logs().includes('not hearing API key revocations'), 2000)
        // A revocation nobody is told of (no NOTIFY): with its cache off, the broker still sees it at once.
        await sql`update api_keys set revoked_at = now() where id = ${keyId}`.execute(other.db)
        t.equal(await use(key), 401, 'refused: looked up, not remembered')
        await eventually(listening, 5000)
        t.pass('listening again after the connection was lost')

        const fresh = await b.createKey('ops', ['connections:read'])
        const freshId = (
          await other.db.selectFrom('api_keys').select('id').where('team', '=', 'ops').executeTakeFirstOrThrow()
        ).id
        t.equal(await use(fresh), 200)
        await revokeApiKey(
          { db: other.db, audit: new AuditLog(other.db) },
          { actor: { kind: 'cli', user: 'ops' }, requestId: null },
          freshId
        )
        await eventually(async () => (await use(fresh)) === 401, 2000)
        t.pass('and revocations reach it again')
      }
    )
  }
)
