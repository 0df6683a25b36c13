// The database goes away: requests answer 503 problem+json (never a 500, never a hang), readiness turns false, the
// poller backs off instead of spinning, and everything resumes by itself when the database is back.
// On PostgreSQL the outage is real: a proxy in front of the server resets every connection and refuses new ones, and
// the server itself terminates the test database's backends. On embedded PGlite the database is closed (it cannot
// come back in the same process, so only the outage half is checked there).
import pg from 'pg'
import t from 'tap'
import { eventually, salesforceBody, sleep } from '../support/lifecycle-fixtures.js'
import { startTcpProxy, type TcpProxy } from '../support/tcp-proxy.js'
import { startTestBroker, type TestBroker } from '../support/test-broker.js'

interface Problem {
  type: string
  status: number
  detail: string
}
interface Readiness {
  ready: boolean
  checks: Record<string, { ok: boolean }>
}

const onServer = (process.env.DATABASE_URL ?? '') !== ''

/** Every request a caller might make, each expected to answer 503 database_unavailable. */
async function expectUnavailable(t: Tap, b: TestBroker, id: string): Promise<void> {
  const requests = [
    { method: 'GET', url: `/v1/connections/${id}` },
    { method: 'GET', url: '/v1/connections' },
    { method: 'POST', url: '/v1/connections', body: salesforceBody() },
    { method: 'PATCH', url: `/v1/connections/${id}`, body: { name: 'during the outage' } },
    { method: 'DELETE', url: `/v1/connections/${id}` }
  ] as const
  for (const r of requests) {
    const started = Date.now()
    const res = await b.request(r)
    t.equal(res.statusCode, 503, `${r.method} ${r.url}: 503`)
    t.equal(
      res.headers['content-type'],
      'application/problem+json; charset=utf-8',
      `${r.method} ${r.url}: problem+json`
    )
    t.equal(
      res.json<Problem>().type,
      'https://credential-broker.dev/problems/database-unavailable',
      `${r.method} ${r.url}: database_unavailable`
    )
    t.ok(Number(res.headers['retry-after']) > 0, `${r.method} ${r.url}: Retry-After`)
    t.ok(Date.now() - started < 6000, `${r.method} ${r.url}: answered without hanging`)
  }
  const ready = await b.request({ method: 'GET', url: '/health/ready', key: null })
  t.equal(ready.statusCode, 503, 'not ready')
  t.match(ready.json<Readiness>(), { ready: false, checks: { database: { ok: false } } })
  t.equal((await b.request({ method: 'GET', url: '/health/live', key: null })).statusCode, 200, 'still live')
}
type Tap = Pick<typeof t, 'equal' | 'ok' | 'match'>

const sweepFailures = (b: TestBroker): number =>
  b
    .logs()
    .split('\n')
    .filter((l) => l.includes('poller sweep failed')).length

void t.test(
  'PostgreSQL cut off (connections reset, port refusing): 503s, not ready, poller backs off; back: everything resumes',
  { skip: !onServer && 'needs DATABASE_URL (a PostgreSQL server)' },
  async (t) => {
    const server = new URL(process.env.DATABASE_URL ?? '')
    const proxy: TcpProxy = await startTcpProxy({ host: server.hostname, port: Number(server.port || 5432) })
    t.teardown(proxy.close)
    const b = await startTestBroker(t, {
      readyDelayMs: 0,
      reconciler: false,
      databaseUrl: (url) => {
        const u = new URL(url)
        u.hostname = '127.0.0.1'
        u.port = String(proxy.port)
        return u.toString()
      }
    })
    const created = (await b.request({ method: 'POST', url: '/v1/connections', body: salesforceBody() })).json<{
      id: string
      flowConnectionId: string
    }>()
    await b.waitForState(created.id, 'enabled')

    await proxy.down()
    const failuresBefore = sweepFailures(b)
    await expectUnavailable(t, b, created.id)
    // Meanwhile Flow Service moves on; the broker must catch up once it can record again.
    b.emulator.control.forceState(created.flowConnectionId, 'disabled')
    await sleep(3000)
    const failures = sweepFailures(b) - failuresBefore
    // Without backoff a 100 ms poller would fail some 60 times in these ~6 s; with it, a handful.
    t.ok(failures >= 1 && failures <= 10, `poller backed off: ${failures} failed sweeps`)

    await proxy.up()
    await eventually(
      async () =>
        (await b.request({ method: 'GET', url: '/health/ready', key: null })).statusCode === 200 ? true : undefined,
      15000,
      'ready again'
    )
    const res = await b.request({ method: 'GET', url: `/v1/connections/${created.id}` })
    t.equal(res.statusCode, 200, 'requests work again')
    await b.waitForState(created.id, 'disabled', 15000)
    t.pass('the poller resumed and recorded what changed during the outage')
    const again = await b.request({ method: 'POST', url: '/v1/connections', body: salesforceBody() })
    t.equal(again.statusCode, 201, 'creates work again')
  }
)

void t.test(
  'PostgreSQL terminates every backend of the database: never a 500, and the pool heals',
  { skip: !onServer && 'needs DATABASE_URL (a PostgreSQL server)' },
  async (t) => {
    const b = await startTestBroker(t, { readyDelayMs: 0, reconciler: false })
    const created = (await b.request({ method: 'POST', url: '/v1/connections', body: salesforceBody() })).json<{
      id: string
    }>()
    const dbName = (
      await b.broker.database.db
        .selectNoFrom((eb) => eb.fn<string>('current_database').as('name'))
        .executeTakeFirstOrThrow()
    ).name
    const admin = new pg.Client({ connectionString: process.env.DATABASE_URL })
    await admin.connect()
    t.teardown(async () => {
      await admin.end()
    })
    const statuses: number[] = []
    for (let round = 0; round < 5; round++) {
      await admin.query(
        'select pg_terminate_backend(pid) from pg_stat_activity where datname = $1 and pid <> pg_backend_pid()',
        [dbName]
      )
      const answers = await Promise.all(
        [1, 2, 3, 4].map(async () => await b.request({ method: 'GET', url: `/v1/connections/${created.id}` }))
      )
      for (const a of answers) {
        statuses.push(a.statusCode)
        if (a.statusCode !== 200)
          t.equal(a.json<Problem>().type, 'https://credential-broker.dev/problems/database-unavailable')
      }
    }
    t.ok(
      statuses.every((s) => s === 200 || s === 503),
      `only 200 or 503: ${statuses.join(',')}`
    )
    await eventually(
      async () =>
        (await b.request({ method: 'GET', url: `/v1/connections/${created.id}` })).statusCode === 200
          ? true
          : undefined,
      10000,
      'healed'
    )
    t.equal((await b.request({ method: 'GET', url: '/health/ready', key: null })).statusCode, 200)
  }
)

void t.test(
  'PGlite closed: 503 database_unavailable everywhere, not ready, and the poller backs off',
  { skip: onServer && 'runs on embedded PGlite' },
  async (t) => {
    const b = await startTestBroker(t, { readyDelayMs: 0, reconciler: false })
    const created = (await b.request({ method: 'POST', url: '/v1/connections', body: salesforceBody() })).json<{
      id: string
    }>()
    await b.waitForState(created.id, 'enabled')
    await b.broker.database.close()
    const failuresBefore = sweepFailures(b)
    await expectUnavailable(t, b, created.id)
    await sleep(3000)
    const failures = sweepFailures(b) - failuresBefore
    t.ok(failures >= 1 && failures <= 10, `poller backed off: ${failures} failed sweeps`)
  }
)
