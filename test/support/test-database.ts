// A database per test: in-memory PGlite by default, or a fresh database on the PostgreSQL server named by
// DATABASE_URL (CI), dropped afterwards (under `npm test`, with the rest of the run's when it ends).
//
// Both start migrated from a template made once per migration set. On PGlite, booting an instance costs seconds of
// CPU (wasm, loading the data dir), so a test process keeps the instances its dropped databases used and hands them
// to the next test database, emptied back to what the migrations left.
import { createHash } from 'node:crypto'
import { readdir, readFile, rename, writeFile } from 'node:fs/promises'
import os from 'node:os'
import path from 'node:path'
import { PGlite } from '@electric-sql/pglite'
import { Kysely, PostgresDialect } from 'kysely'
import pg from 'pg'
import { pino } from 'pino'
import { MIGRATIONS_DIR, migrateToLatest } from '../../src/db/migrator.js'
import { openDatabase, openMemoryPGlite, PGliteInUseError, type DatabaseConfig } from '../../src/db/database.js'
import { PGliteDialect } from '../../src/db/pglite-dialect.js'
import { testDatabaseName } from './run-databases.mjs'

export interface TestDatabase {
  config: DatabaseConfig
  /** Connection URL when on a server (for superuser tricks in tests); undefined on PGlite. */
  url: string | undefined
  /** After every database opened on it is closed. */
  drop: () => Promise<void>
}

/** `empty`: no tables at all (migration tests); otherwise the database starts migrated. */
export async function createTestDatabase(options: { empty?: boolean } = {}): Promise<TestDatabase> {
  const serverUrl = process.env.DATABASE_URL
  if (serverUrl === undefined || serverUrl === '') {
    if (options.empty === true)
      return { config: { kind: 'pglite', dataDir: null }, url: undefined, drop: async () => {} }
    return await pooledPGlite()
  }
  // Under `npm test` the run drops its databases when it ends (see run-databases.mjs); alone, the test drops its own.
  const runId = process.env.TEST_RUN_ID
  const name = testDatabaseName(runId)
  // One server connection for both (each costs PostgreSQL ~25 ms of CPU here); the template is looked up once.
  await onServer(serverUrl, async (admin) => {
    const template = options.empty === true ? undefined : await migratedTemplate(admin, serverUrl)
    await admin.query(`create database ${name}${template !== undefined ? ` template ${template}` : ''}`)
  })
  const url = new URL(serverUrl)
  url.pathname = `/${name}`
  return {
    config: { kind: 'postgres', url: url.toString(), poolSize: 5 },
    url: url.toString(),
    drop: async () => {
      if (runId !== undefined && runId !== '') return
      await onServer(serverUrl, async (admin) => {
        await admin.query(`drop database if exists ${name} with (force)`)
      })
    }
  }
}

async function onServer<T>(url: string, use: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: url })
  await client.connect()
  try {
    return await use(client)
  } finally {
    await client.end()
  }
}

async function migrationsHash(): Promise<string> {
  const hash = createHash('sha256')
  for (const file of (await readdir(MIGRATIONS_DIR)).sort())
    hash.update(file).update(await readFile(path.join(MIGRATIONS_DIR, file)))
  return hash.digest('hex').slice(0, 16)
}

let templateName: Promise<string> | undefined

/** The server template's name, looked up (or made) by this process's first test database. */
async function migratedTemplate(admin: pg.Client, serverUrl: string): Promise<string> {
  templateName ??= serverTemplate(admin, serverUrl).catch((err: unknown) => {
    templateName = undefined
    throw err
  })
  return await templateName
}

/** Any value; parallel test processes take it before looking for the template or making it. */
const TEMPLATE_LOCK = 7401902

/**
 * A migrated database on the server to copy test databases from (CREATE DATABASE … TEMPLATE), made once per
 * migration set. Built under another name and renamed when complete, so a process killed half way leaves no
 * half-migrated template behind; nobody stays connected to it, which copying requires.
 */
async function serverTemplate(admin: pg.Client, serverUrl: string): Promise<string> {
  const name = `broker_template_${await migrationsHash()}`
  await admin.query('select pg_advisory_lock($1)', [TEMPLATE_LOCK])
  try {
    const found = await admin.query('select 1 from pg_database where datname = $1', [name])
    if (found.rowCount !== 0) return name
    const building = `${name}_building`
    await admin.query(`drop database if exists ${building} with (force)`)
    await admin.query(`create database ${building}`)
    const url = new URL(serverUrl)
    url.pathname = `/${building}`
    const db = new Kysely<unknown>({
      dialect: new PostgresDialect({ pool: new pg.Pool({ connectionString: url.toString(), max: 1 }) })
    })
    try {
      await migrateToLatest(db)
    } finally {
      await db.destroy()
    }
    await admin.query(`alter database ${building} rename to ${name}`)
    return name
  } finally {
    await admin.query('select pg_advisory_unlock($1)', [TEMPLATE_LOCK])
  }
}

/**
 * A migrated PGlite data dir, made once per migration set and kept in the temp dir: PGlite's initdb takes
 * seconds, loading a dump under one.
 */
async function pgliteTemplate(): Promise<Blob> {
  const file = path.join(os.tmpdir(), `broker-pglite-template-${await migrationsHash()}.tar`)
  try {
    return new Blob([await readFile(file)])
  } catch {
    const pglite = new PGlite()
    const db = new Kysely<unknown>({ dialect: new PGliteDialect(pglite) })
    await migrateToLatest(db)
    const dump = await pglite.dumpDataDir('none')
    await db.destroy()
    // Write then rename: parallel test files never read a half-written template.
    const partial = `${file}.${process.pid}.partial`
    await writeFile(partial, Buffer.from(await dump.arrayBuffer()))
    await rename(partial, file)
    return dump
  }
}

/** What a freshly migrated instance holds besides its tables' shape: rows the migrations seed, sequence positions. */
interface Baseline {
  schema: string
  /** Every table of the application (not Kysely's migration bookkeeping), emptied between uses. */
  tables: string[]
  seeds: Array<{ table: string; rows: string }>
  sequences: Array<{ name: string; lastValue: string | null }>
}

/** Instances whose test databases were dropped, reset and waiting for the next one. */
const idle: PGlite[] = []
/** Every instance of the pool not closed yet. */
const instances = new Set<PGlite>()
let baseline: Promise<Baseline> | undefined

/**
 * A migrated in-memory PGlite that this test database uses alone: a reused one when a dropped database left one,
 * else a new one from the template (also when another test database of this process still holds the others, e.g.
 * a test with two databases at once). Every database opened on it shares the session, one at a time.
 */
async function pooledPGlite(): Promise<TestDatabase> {
  let pglite = idle.pop()
  if (pglite === undefined) {
    if (instances.size === 0) await closeWhenTestsEnd()
    const fresh = await openMemoryPGlite(await pgliteTemplate())
    instances.add(fresh)
    // Read from the first fresh instance, before any test wrote to it.
    baseline ??= readBaseline(fresh)
    await baseline
    pglite = fresh
  }
  const instance = pglite
  let dropped: Promise<void> | undefined
  return {
    config: { kind: 'pglite', dataDir: null, instance },
    url: undefined,
    drop: async () => {
      await (dropped ??= giveBack(instance))
    }
  }
}

/**
 * Empties the instance back to its migrated state and keeps it for the next test database. One whose tables,
 * functions or triggers a test changed, or that a database still has open, is not reused.
 */
async function giveBack(pglite: PGlite): Promise<void> {
  if (pglite.closed) return
  let hold
  try {
    // Also the proof that no database of the test still uses it.
    hold = await openDatabase({ kind: 'pglite', dataDir: null, instance: pglite }, pino({ level: 'silent' }))
  } catch (err) {
    if (err instanceof PGliteInUseError) return
    throw err
  }
  let reusable = false
  try {
    // Set before any instance is handed out.
    if (baseline !== undefined) reusable = await reset(pglite, await baseline)
  } finally {
    await hold.close()
  }
  if (reusable) idle.push(pglite)
  else await close(pglite)
}

async function close(pglite: PGlite): Promise<void> {
  instances.delete(pglite)
  if (!pglite.closed) await pglite.close()
}

/**
 * Closes the pool once every test of the process has ended: an open PGlite keeps the process alive for a while
 * (a timer of its own). Under the tap runner, as a teardown of the root test; bench and other processes exit
 * themselves.
 */
let closing: Promise<void> | undefined
async function closeWhenTestsEnd(): Promise<void> {
  await (closing ??= (async () => {
    if (process.env.TAP_CHILD_ID === undefined) return
    const { t } = await import('tap')
    t.teardown(async () => {
      idle.length = 0
      for (const pglite of [...instances]) await close(pglite)
    })
  })())
}

async function reset(pglite: PGlite, base: Baseline): Promise<boolean> {
  if (pglite.isInTransaction()) await pglite.exec('rollback')
  if ((await schemaOf(pglite)) !== base.schema) return false
  // As replica, no ordinary trigger fires: the audit log refuses TRUNCATE to everyone else.
  await pglite.exec(`
    reset all;
    select pg_advisory_unlock_all();
    unlisten *;
    set session_replication_role = replica;
    truncate ${base.tables.map(quoteIdent).join(', ')} restart identity cascade;
    reset session_replication_role`)
  for (const { table, rows } of base.seeds) {
    await pglite.query(
      `insert into ${quoteIdent(table)} overriding system value select * from jsonb_populate_recordset(null::${quoteIdent(table)}, $1::jsonb)`,
      [rows]
    )
  }
  for (const { name, lastValue } of base.sequences) {
    if (lastValue === null) await pglite.exec(`alter sequence ${quoteIdent(name)} restart`)
    else await pglite.query('select setval($1::regclass, $2::bigint, true)', [quoteIdent(name), lastValue])
  }
  return true
}

async function readBaseline(pglite: PGlite): Promise<Baseline> {
  const tables = (
    await pglite.query<{ name: string }>(`
    select tablename as name from pg_tables
    where schemaname = 'public' and tablename not in ('kysely_migration', 'kysely_migration_lock')
    order by tablename`)
  ).rows.map((r) => r.name)
  const seeds: Baseline['seeds'] = []
  for (const table of tables) {
    const { rows } = await pglite.query<{ n: number; rows: string }>(
      `select count(*)::int as n, coalesce(json_agg(t), '[]')::text as rows from ${quoteIdent(table)} t`
    )
    if (rows[0] !== undefined && rows[0].n > 0) seeds.push({ table, rows: rows[0].rows })
  }
  const sequences = (
    await pglite.query<{ name: string; lastValue: string | null }>(`
    select sequencename as name, last_value::text as "lastValue" from pg_sequences where schemaname = 'public' order by sequencename`)
  ).rows
  return { schema: await schemaOf(pglite), tables, seeds, sequences }
}

/** A digest of everything a test could change besides rows: relations and columns, indexes, constraints, functions, triggers. */
async function schemaOf(pglite: PGlite): Promise<string> {
  const { rows } = await pglite.query<{ digest: string }>(`
    select md5(coalesce(string_agg(item, E'\\n' order by item), '')) as digest from (
      select format('rel %s.%s %s %s', n.nspname, c.relname, c.relkind,
        (select string_agg(format('%s %s %s %s', a.attname, format_type(a.atttypid, a.atttypmod), a.attnotnull, pg_get_expr(d.adbin, d.adrelid)), ', ' order by a.attnum)
         from pg_attribute a left join pg_attrdef d on d.adrelid = a.attrelid and d.adnum = a.attnum
         where a.attrelid = c.oid and a.attnum > 0 and not a.attisdropped)) as item
      from pg_class c join pg_namespace n on n.oid = c.relnamespace
      where n.nspname not in ('pg_catalog', 'information_schema') and n.nspname not like 'pg_toast%'
      union all
      select format('index %s', pg_get_indexdef(i.indexrelid)) from pg_index i join pg_class c on c.oid = i.indrelid
      join pg_namespace n on n.oid = c.relnamespace where n.nspname = 'public'
      union all
      select format('constraint %s %s', conname, pg_get_constraintdef(o.oid)) from pg_constraint o
      join pg_namespace n on n.oid = o.connamespace where n.nspname = 'public'
      union all
      select format('function %s %s', p.oid::regprocedure, md5(pg_get_functiondef(p.oid))) from pg_proc p
      join pg_namespace n on n.oid = p.pronamespace where n.nspname not in ('pg_catalog', 'information_schema')
      union all
      select format('trigger %s %s %s', tgname, tgenabled, pg_get_triggerdef(g.oid)) from pg_trigger g where not tgisinternal
    ) items`)
  return rows[0]?.digest ?? ''
}

function quoteIdent(name: string): string {
  return `"${name.replaceAll('"', '""')}"`
}
