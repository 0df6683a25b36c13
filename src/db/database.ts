// The database: Kysely over a pg pool (PostgreSQL server) or over embedded PGlite, with readiness and close.
// Embedded data on disk is private to the broker's user and opened by one process at a time.
import path from 'node:path'
import { PGlite } from '@electric-sql/pglite'
import type { Tracer } from '@opentelemetry/api'
import { Kysely, PostgresDialect, sql, type LogEvent } from 'kysely'
import pg from 'pg'
import type { Logger } from 'pino'
import { lockDataDir, type DataDirLock } from './data-dir-lock.js'
import { PGliteDialect } from './pglite-dialect.js'
import { ensurePrivateDir, restrictTree } from './private-dir.js'
import { PrivateNodeFS } from './private-node-fs.js'
import type { Database } from './schema.js'
import { databaseAttributes, recordStatement } from './statement-spans.js'

export type DatabaseConfig =
  | { kind: 'postgres'; url: string; poolSize: number }
  /**
   * dataDir null: in memory. Else the data dir (BROKER_DATA_DIR): made 0700, locked for this process (a second one
   * gets DataDirLockedError naming the holder), the files under <dataDir>/pglite 0600.
   * snapshot: a dumped data dir to start from (skips initdb; tests).
   */
  | { kind: 'pglite'; dataDir: string | null; snapshot?: Blob }
  /**
   * An in-memory PGlite its owner opened (openMemoryPGlite) and keeps: tests reuse one for many databases, and an
   * embedding program may share its own. close() waits for the queries in flight and leaves it open. One database
   * at a time may use it: PGlite is a single session, and two would run inside each other's transactions.
   */
  | { kind: 'pglite'; dataDir: null; instance: PGlite }

export interface BrokerDatabase {
  readonly kind: DatabaseConfig['kind']
  readonly db: Kysely<Database>
  /** Resolves when the database answers a trivial query (readiness). */
  ping(): Promise<void>
  /** Connections open, idle, and queries waiting for one (metrics); PGlite is one session and tells no more. */
  poolUsage(): { total: number; idle?: number; waiting?: number }
  close(): Promise<void>
}

const INT8_OID = 20
/** int8 ids stay strings: they may exceed 2^53 and are only ever compared and echoed. */
const PGLITE_PARSERS = { [INT8_OID]: (value: string) => value }
/**
 * An in-memory PGlite's files are already in memory: PostgreSQL's default 128 MB of shared buffers only caches them
 * twice, and setting them up took half of every open (~0.9 s of CPU; ~0.5 s with 16 MB).
 */
const MEMORY_PGLITE_CONF = 'shared_buffers = 16MB\n'

/** An in-memory PGlite parsing values as the broker expects, e.g. to pass as `{ kind: 'pglite', instance }`. */
export async function openMemoryPGlite(snapshot?: Blob): Promise<PGlite> {
  // Options as the only argument: PGlite ignores a second argument when the first (dataDir) is undefined,
  // which would drop the int8 parser.
  const pglite = new PGlite({
    ...(snapshot !== undefined ? { loadDataDir: snapshot } : {}),
    parsers: PGLITE_PARSERS,
    postgresqlconf: MEMORY_PGLITE_CONF
  })
  await pglite.waitReady
  return pglite
}

/** Instances given as `{ kind: 'pglite', instance }` that a database opened and has not closed yet. */
const instancesInUse = new WeakSet<PGlite>()

export class PGliteInUseError extends Error {
  override readonly name = 'PGliteInUseError'
}

export interface DatabaseOptions {
  /** Called after every statement with its duration (metrics). */
  onQuery?: (durationMs: number, failed: boolean) => void
  /** A span per statement, child of the active span; absent when tracing is off. */
  tracer?: Tracer | undefined
}

export async function openDatabase(
  config: DatabaseConfig,
  logger: Logger,
  options: DatabaseOptions = {}
): Promise<BrokerDatabase> {
  const { onQuery, tracer } = options
  const spanBase =
    tracer === undefined ? undefined : databaseAttributes(config.kind === 'postgres' ? config.url : undefined)
  const log =
    onQuery === undefined && tracer === undefined
      ? undefined
      : (event: LogEvent): void => {
          onQuery?.(event.queryDurationMillis, event.level === 'error')
          if (tracer !== undefined && spanBase !== undefined) recordStatement(tracer, spanBase, event)
        }
  if (config.kind === 'postgres') {
    const pool = new pg.Pool({
      connectionString: config.url,
      max: config.poolSize,
      connectionTimeoutMillis: 5000,
      idleTimeoutMillis: 30000,
      // A bounded wait on a dead server, so requests answer 503 instead of hanging.
      query_timeout: 15000
    })
    // Without a listener, an idle client's socket error (server restart) would crash the process.
    pool.on('error', (err) => {
      logger.warn({ err }, 'idle PostgreSQL client failed; the pool replaces it')
    })
    // A checked-out client has no pool listener: its socket dying between two queries of a transaction (server
    // restart, pg_terminate_backend) would be an unhandled 'error' event and kill the process. The query in flight
    // still fails (the request answers 503); this listener only keeps the process alive.
    pool.on('connect', (client) => {
      client.on('error', (err) => {
        logger.warn({ err }, 'PostgreSQL connection failed; the pool replaces it')
      })
    })
    // int8 ids stay strings: they may exceed 2^53 and are only ever compared and echoed.
    const db = new Kysely<Database>({ dialect: new PostgresDialect({ pool }), ...(log !== undefined ? { log } : {}) })
    return {
      kind: 'postgres',
      db,
      ping: async () => {
        await sql`select 1`.execute(db)
      },
      poolUsage: () => ({ total: pool.totalCount, idle: pool.idleCount, waiting: pool.waitingCount }),
      close: async () => {
        await db.destroy()
      }
    }
  }
  if ('instance' in config) return useInstance(config.instance, log)
  let dataDir: string | undefined
  let lock: DataDirLock | undefined
  if (config.dataDir !== null) {
    const root = path.resolve(config.dataDir)
    await ensurePrivateDir(root)
    lock = await lockDataDir(root)
    dataDir = path.join(root, 'pglite')
  }
  try {
    if (dataDir !== undefined) {
      await ensurePrivateDir(dataDir)
      // Files an earlier version left readable; from here on PrivateNodeFS creates them private.
      await restrictTree(dataDir)
    }
    // Options as the only argument: PGlite ignores a second argument when the first (dataDir) is undefined,
    // which would drop the int8 parser for in-memory databases.
    const pglite = new PGlite({
      ...(dataDir !== undefined ? { fs: new PrivateNodeFS(dataDir) } : {}),
      ...(config.snapshot !== undefined ? { loadDataDir: config.snapshot } : {}),
      parsers: PGLITE_PARSERS
    })
    await pglite.waitReady
    const db = new Kysely<Database>({ dialect: new PGliteDialect(pglite), ...(log !== undefined ? { log } : {}) })
    return {
      kind: 'pglite',
      db,
      ping: async () => {
        await sql`select 1`.execute(db)
      },
      poolUsage: () => ({ total: 1 }),
      close: async () => {
        try {
          await db.destroy()
          // Kysely destroys its driver only once a query ran: a database opened and closed unused closes here.
          if (!pglite.closed) await pglite.close()
        } finally {
          await lock?.release()
        }
      }
    }
  } catch (err) {
    await lock?.release()
    throw err
  }
}

function useInstance(pglite: PGlite, log: ((event: LogEvent) => void) | undefined): BrokerDatabase {
  if (pglite.closed) throw new Error('the given PGlite is closed')
  if (instancesInUse.has(pglite))
    throw new PGliteInUseError('the given PGlite is in use by another database: close that one first')
  instancesInUse.add(pglite)
  const db = new Kysely<Database>({
    dialect: new PGliteDialect(pglite, { closeOnDestroy: false }),
    ...(log !== undefined ? { log } : {})
  })
  let closed: Promise<void> | undefined
  return {
    kind: 'pglite',
    db,
    ping: async () => {
      await sql`select 1`.execute(db)
    },
    poolUsage: () => ({ total: 1 }),
    close: async () => {
      await (closed ??= (async () => {
        try {
          await db.destroy()
        } finally {
          instancesInUse.delete(pglite)
        }
      })())
    }
  }
}
