// Test databases on a PostgreSQL server (DATABASE_URL) belong to the `npm test` run that made them, and that run
// drops them all when tap is done, instead of each test dropping its own.
//
// Why: DROP DATABASE makes PostgreSQL 15 run an immediate checkpoint and wait for it. One per test database (~110 a
// run) cost ~25 s of the machine's CPU and ~13 s of the suite's time on two cores; dropped together at the end, a
// few at a time, their checkpoints coalesce. A run killed before its end leaves its databases behind: the next run
// drops those of runs started over a day ago (never a run still going on the same server).
//
// Plain JavaScript: test/run.mjs imports it before any TypeScript loader is in place.
import { randomBytes } from 'node:crypto'
import pg from 'pg'

const PREFIX = 'broker_test_'
/** broker_test_<run: start time in base 36>_<4 hex>_<12 hex> */
const RUN_DATABASE = /^broker_test_([0-9a-z]+)_[0-9a-f]{4}_[0-9a-f]{12}$/

/** A new run's id: when it started (so later runs can tell it is old) and a random part. */
export function newRunId(now = Date.now()) {
  return `${now.toString(36)}_${randomBytes(2).toString('hex')}`
}

/** A fresh test database name: the run's when there is one (its databases are dropped with it), else a lone one. */
export function testDatabaseName(runId) {
  const own = randomBytes(6).toString('hex')
  return runId === undefined || runId === '' ? `${PREFIX}${own}` : `${PREFIX}${runId}_${own}`
}

/** Drops the run's databases, `parallel` at a time; returns how many. */
export async function dropRunDatabases(serverUrl, runId, parallel = 4) {
  return await dropWhere(serverUrl, (name) => name.startsWith(`${PREFIX}${runId}_`), parallel)
}

/** Drops the databases of runs that started more than `maxAgeMs` ago (killed before they could); returns how many. */
export async function dropStaleRunDatabases(serverUrl, maxAgeMs, now = Date.now(), parallel = 4) {
  return await dropWhere(
    serverUrl,
    (name) => {
      const match = RUN_DATABASE.exec(name)
      return match !== null && now - parseInt(match[1], 36) > maxAgeMs
    },
    parallel
  )
}

async function dropWhere(serverUrl, wanted, parallel) {
  const admin = new pg.Client({ connectionString: serverUrl })
  await admin.connect()
  let names
  try {
    const { rows } = await admin.query('select datname from pg_database where starts_with(datname, $1)', [PREFIX])
    names = rows.map((r) => r.datname).filter(wanted)
  } finally {
    await admin.end()
  }
  const queue = [...names]
  async function worker() {
    const client = new pg.Client({ connectionString: serverUrl })
    await client.connect()
    try {
      for (let name = queue.shift(); name !== undefined; name = queue.shift())
        await client.query(`drop database if exists "${name}" with (force)`)
    } finally {
      await client.end()
    }
  }
  await Promise.all(Array.from({ length: Math.min(parallel, queue.length) }, worker))
  return names.length
}
