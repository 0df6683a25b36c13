// A whole broker for a benchmark, in this process and listening on loopback: a fresh database (PostgreSQL when
// DATABASE_URL is set, else in-memory PGlite), the local secret store, quiet logs, and no per-key rate limit.
import { randomBytes } from 'node:crypto'
import { mkdtemp, rm } from 'node:fs/promises'
import os from 'node:os'
import path from 'node:path'
import { pino } from 'pino'
import { createBroker, type Broker } from '../../src/broker.js'
import { loadConfig } from '../../src/config.js'
import type { DatabaseConfig } from '../../src/db/database.js'
import { createTestDatabase, type TestDatabase } from '../../test/support/test-database.js'

export interface BenchBroker {
  broker: Broker
  url: string
  /** An admin key (dev mode makes one). */
  key: string
  database: Pick<TestDatabase, 'drop'>
  close: () => Promise<void>
}

export const databaseLabel = (): string =>
  process.env.DATABASE_URL !== undefined && process.env.DATABASE_URL !== ''
    ? 'PostgreSQL (DATABASE_URL)'
    : 'PGlite (embedded, in memory)'

/** `database`: one the benchmark prepared itself (seeded before the broker starts); default a fresh one. */
export async function startBenchBroker(
  env: Record<string, string> = {},
  prepared?: { config: DatabaseConfig; drop: () => Promise<void> }
): Promise<BenchBroker> {
  const dataDir = await mkdtemp(path.join(os.tmpdir(), 'broker-bench-'))
  const database = prepared ?? (await createTestDatabase())
  const config = loadConfig({
    BROKER_MODE: 'dev',
    BROKER_DATA_DIR: dataDir,
    BROKER_SECRET_KEY: randomBytes(32).toString('base64'),
    EMULATOR_READY_DELAY_MS: '0',
    API_RATE_LIMIT_PER_MINUTE: '0',
    LOG_LEVEL: 'warn',
    ...env
  })
  // The broker's default pool, not the small one test files use.
  const dbConfig = database.config.kind === 'postgres' ? { ...database.config, poolSize: 10 } : database.config
  // Quiet: the dev-mode banner, the pool's notes on connections ended by the final DROP DATABASE, and creates still
  // in flight when the load generator stopped (left pending for the reconciler, as designed) are noise here.
  const broker = await createBroker(config, pino({ level: 'fatal' }), { database: dbConfig, devKeyDir: null })
  const url = await broker.app.listen({ host: '127.0.0.1', port: 0 })
  const key = broker.devAdminKey ?? env.BROKER_ADMIN_KEY
  if (key === undefined) throw new Error('the bench broker has no admin key')
  return {
    broker,
    url,
    key,
    database,
    close: async () => {
      await broker.app.close()
      await database.drop()
      await rm(dataDir, { recursive: true, force: true })
    }
  }
}
