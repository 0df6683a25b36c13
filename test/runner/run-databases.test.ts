// The suite's own housekeeping on a PostgreSQL server: a run's test databases carry its id and go with it; those of
// runs killed over a day ago go at the next run's start, and nobody else's are touched.
import pg from 'pg'
import t from 'tap'
import { dropRunDatabases, dropStaleRunDatabases, newRunId, testDatabaseName } from '../support/run-databases.mjs'

const HOUR = 3600_000

void t.test('names: a run id says when it started; a database says which run it belongs to', async (t) => {
  const now = Date.UTC(2026, 11, 3, 12)
  const run = newRunId(now)
  t.match(run, /^[0-9a-z]+_[0-9a-f]{4}$/)
  t.equal(parseInt(run.split('_')[0] ?? '', 36), now)
  t.match(testDatabaseName(run), new RegExp(`^broker_test_${run}_[0-9a-f]{12}$`))
  t.match(testDatabaseName(undefined), /^broker_test_[0-9a-f]{12}$/, 'outside a run: a lone name, dropped by its test')
  t.not(testDatabaseName(run), testDatabaseName(run))
})

const serverUrl = process.env.DATABASE_URL
void t.test(
  'on the server: the stale run and this run are dropped, another live run is not',
  { skip: serverUrl === undefined || serverUrl === '' ? 'needs DATABASE_URL' : false },
  async (t) => {
    const url = serverUrl as string
    const now = Date.now()
    const stale = newRunId(now - 25 * HOUR)
    const live = newRunId(now - 1 * HOUR)
    const mine = newRunId(now)
    const lone = testDatabaseName(undefined)
    const names = {
      stale: testDatabaseName(stale),
      live: testDatabaseName(live),
      mine: [testDatabaseName(mine), testDatabaseName(mine)],
      lone
    }
    const all = [names.stale, names.live, ...names.mine, names.lone]
    const admin = new pg.Client({ connectionString: url })
    await admin.connect()
    t.teardown(async () => {
      for (const name of all) await admin.query(`drop database if exists ${name} with (force)`)
      await admin.end()
    })
    for (const name of all) await admin.query(`create database ${name}`)
    const present = async (): Promise<string[]> =>
      (await admin.query<{ datname: string }>('select datname from pg_database where datname = any($1)', [all])).rows
        .map((r) => r.datname)
        .sort()

    // Someone still connected to this run's database: the drop forces them off.
    const holder = new pg.Client({
      connectionString: Object.assign(new URL(url), { pathname: `/${names.mine[0]}` }).toString()
    })
    await holder.connect()
    holder.on('error', () => {})

    t.equal(await dropStaleRunDatabases(url, 24 * HOUR, now), 1, 'only the run started over a day ago')
    t.same(await present(), [names.live, ...names.mine, names.lone].sort())
    t.equal(await dropRunDatabases(url, mine), 2)
    t.same(await present(), [names.live, names.lone].sort(), 'the live run and the lone database stay')
    await holder.end().catch(() => {})
  }
)
