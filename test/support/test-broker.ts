// Builds a whole broker for a test: its own database, the in-process emulator, the local secret store,
// captured logs, and helpers to make keys, wait for states and dump every table. startTestApp is the one request
// tests use: loops off, virtual time, and the poller driven by the test itself.
import { randomBytes } from 'node:crypto'
import { mkdtemp, rm } from 'node:fs/promises'
import os from 'node:os'
import path from 'node:path'
import { Writable } from 'node:stream'
import type { TracerProvider } from '@opentelemetry/api'
import type { FastifyInstance, LightMyRequestResponse } from 'fastify'
import { sql, type Kysely } from 'kysely'
import { insertApiKey } from '../../src/auth/api-key-repository.js'
import type { Scope } from '../../src/auth/scopes.js'
import { createBroker, type Broker } from '../../src/broker.js'
import { loadConfig } from '../../src/config.js'
import type { Database } from '../../src/db/schema.js'
import type { RunningEmulator } from '../../src/emulator/emulator.js'
import { createLogger } from '../../src/logging/logger.js'
import type { Clock } from '../../src/shared/clock.js'
import { TestClock } from './test-clock.js'
import { createTestDatabase } from './test-database.js'

export interface TestBrokerOptions {
  /** Extra environment, as the process would see it. */
  env?: Record<string, string>
  readyDelayMs?: number
  poller?: boolean
  /** Run the reconciler loop (default true; tests often call broker.reconciler.sweep() themselves). */
  reconciler?: boolean
  /** PostgreSQL only: the URL the broker connects with, from the test database's (e.g. through a proxy). */
  databaseUrl?: (url: string) => string
  /** What the broker and its emulator read the time from and sleep on; default the system clock. */
  clock?: Clock
  /** Where the broker's spans go (e.g. an in-memory exporter); absent: tracing off. */
  tracerProvider?: TracerProvider
}

export interface TestBroker {
  app: FastifyInstance
  broker: Broker
  emulator: RunningEmulator
  adminKey: string
  /** Every log line written so far, joined. */
  logs: () => string
  /** Every row of every table, as text, to search for secret values. */
  dumpDatabase: () => Promise<string>
  createKey: (team: string, scopes: Scope[]) => Promise<string>
  request: (options: {
    method: 'GET' | 'POST' | 'PATCH' | 'PUT' | 'DELETE'
    url: string
    key?: string | null
    body?: unknown
    headers?: Record<string, string>
  }) => Promise<LightMyRequestResponse>
  /**
   * Until the connection shows `state`. With the poller loop on, reads it every 50 ms; with it off, makes the
   * connection's next poll due, sweeps, and moves a test clock on by one fast poll interval, round after round
   * (`timeoutMs` is then in the clock's time).
   */
  waitForState: (id: string, state: string, timeoutMs?: number) => Promise<Record<string, unknown>>
  /** Makes the connection's scheduled poll due now (the poller's loop would get there in time) and runs one sweep. */
  pollNow: (id: string) => Promise<void>
}

export interface TestApp extends TestBroker {
  clock: TestClock
}

/** Every row of every table of the public schema, as text, to search for secret values. */
export async function dumpTables(db: Kysely<Database>): Promise<string> {
  const tables = await sql<{ tablename: string }>`select tablename from pg_tables where schemaname = 'public'`.execute(
    db
  )
  const parts: string[] = []
  for (const { tablename } of tables.rows) {
    const rows = await sql`select * from ${sql.table(tablename)}`.execute(db)
    parts.push(`${tablename}: ${JSON.stringify(rows.rows)}`)
  }
  return parts.join('\n')
}

interface Teardown {
  teardown: (fn: () => Promise<void> | void) => void
}

export async function startTestBroker(t: Teardown, options: TestBrokerOptions = {}): Promise<TestBroker> {
  const lines: string[] = []
  const sink = new Writable({
    write(chunk: Buffer, _enc, done) {
      lines.push(chunk.toString('utf8'))
      done()
    }
  })
  const logger = createLogger('debug', sink)
  const dataDir = await mkdtemp(path.join(os.tmpdir(), 'broker-test-'))
  const database = await createTestDatabase()
  const config = loadConfig({
    // Tests add Vault settings and the like to a broker that keeps its embedded fallbacks for the rest.
    BROKER_MODE: 'dev',
    BROKER_DATA_DIR: dataDir,
    BROKER_SECRET_KEY: randomBytes(32).toString('base64'),
    EMULATOR_READY_DELAY_MS: String(options.readyDelayMs ?? 300),
    POLL_FAST_INTERVAL_MS: '100',
    POLL_STEADY_INTERVAL_MS: '500',
    GONE_CONFIRM_MS: '200',
    POLLER_ENABLED: options.poller === false ? 'false' : 'true',
    RECONCILER_ENABLED: options.reconciler === false ? 'false' : 'true',
    LOG_LEVEL: 'debug',
    ...options.env
  })
  const databaseConfig =
    database.config.kind === 'postgres' && options.databaseUrl !== undefined
      ? { ...database.config, url: options.databaseUrl(database.config.url) }
      : database.config
  const broker = await createBroker(config, logger, {
    database: databaseConfig,
    devKeyDir: null,
    ...(options.clock !== undefined ? { clock: options.clock } : {}),
    ...(options.tracerProvider !== undefined ? { tracerProvider: options.tracerProvider } : {})
  })
  t.teardown(async () => {
    await broker.app.close()
    await database.drop()
    await rm(dataDir, { recursive: true, force: true })
  })
  if (broker.emulator === undefined || broker.devAdminKey === undefined) throw new Error('test broker expects dev mode')
  const adminKey = broker.devAdminKey
  const app = broker.app

  const request: TestBroker['request'] = async ({ method, url, key, body, headers }) =>
    await app.inject({
      method,
      url,
      headers: {
        ...(key === null ? {} : { authorization: `Bearer ${key ?? adminKey}` }),
        ...(body !== undefined && typeof body !== 'string' ? { 'content-type': 'application/json' } : {}),
        ...headers
      },
      ...(body !== undefined ? { payload: typeof body === 'string' ? body : JSON.stringify(body) } : {})
    })

  const pollNow: TestBroker['pollNow'] = async (id) => {
    // Only a scheduled poll is brought forward: a connection the poller has let go of (next_poll_at null) stays so.
    const now = new Date()
    await broker.database.db
      .updateTable('connections')
      .set({ next_poll_at: now })
      .where('id', '=', id)
      .where('next_poll_at', '>', now)
      .execute()
    await broker.poller.sweep()
  }

  const stateOf = async (id: string): Promise<Record<string, unknown>> =>
    (await request({ method: 'GET', url: `/v1/connections/${id}` })).json<Record<string, unknown>>()

  const waitForState: TestBroker['waitForState'] =
    options.poller !== false
      ? async (id, state, timeoutMs = 10000) => {
          const deadline = Date.now() + timeoutMs
          for (;;) {
            const body = await stateOf(id)
            if (body.state === state) return body
            if (Date.now() > deadline)
              throw new Error(`connection ${id} is ${String(body.state)}, not ${state}, after ${timeoutMs} ms`)
            await new Promise((resolve) => setTimeout(resolve, 50))
          }
        }
      : async (id, state, timeoutMs = 10000) => {
          const clock = options.clock
          const now = clock?.now ?? Date.now
          const startedAt = now()
          for (;;) {
            const body = await stateOf(id)
            if (body.state === state) return body
            if (now() - startedAt > timeoutMs)
              throw new Error(`connection ${id} is ${String(body.state)}, not ${state}, after ${timeoutMs} ms of polls`)
            // Time passes as it would between two polls: the emulator's ready delay runs on the same clock.
            if (clock instanceof TestClock) clock.advance(config.poller.fastIntervalMs)
            else await new Promise((resolve) => setTimeout(resolve, config.poller.fastIntervalMs))
            await pollNow(id)
          }
        }

  return {
    app,
    broker,
    emulator: broker.emulator,
    adminKey,
    logs: () => lines.join(''),
    dumpDatabase: async () => await dumpTables(broker.database.db),
    createKey: async (team, scopes) =>
      (await insertApiKey(broker.database.db, { team, name: `${team} test key`, scopes })).key,
    request,
    waitForState,
    pollNow
  }
}

/**
 * A broker for request tests: the poller and reconciler loops off (tests call broker.poller.sweep(),
 * broker.reconciler.sweep(), pollNow or waitForState) and a TestClock, so waits on Flow Service take no real time.
 */
export async function startTestApp(
  t: Teardown,
  options: Omit<TestBrokerOptions, 'clock' | 'poller' | 'reconciler'> & { clock?: TestClock } = {}
): Promise<TestApp> {
  const clock = options.clock ?? new TestClock()
  const b = await startTestBroker(t, { ...options, poller: false, reconciler: false, clock })
  return { ...b, clock }
}
