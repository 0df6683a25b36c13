// The migrations and their runner: they build the whole schema on an empty database, change nothing when run
// again, stay frozen (no application imports), and a failing one stops with its name and leaves nothing behind.
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises'
import os from 'node:os'
import path from 'node:path'
import { sql, type Kysely } from 'kysely'
import { pino } from 'pino'
import t from 'tap'
import { fromRoot } from '../support/project-root.js'
import { openDatabase } from '../../src/db/database.js'
import { migrateToLatest, MigrationError, MIGRATIONS_DIR } from '../../src/db/migrator.js'
import type { Database } from '../../src/db/schema.js'
import { createTestDatabase } from '../support/test-database.js'

const TABLES = ['api_keys', 'audit_events', 'audit_verification', 'connection_events', 'connections', 'local_secrets']

/** Every column and index of the public schema, as text, to compare before and after. */
async function schemaSnapshot(db: Kysely<Database>): Promise<string[]> {
  const columns = await sql<{ d: string }>`
    select table_name || '.' || column_name || ' ' || data_type || ' ' || is_nullable as d
    from information_schema.columns where table_schema = 'public' order by 1`.execute(db)
  const indexes = await sql<{
    d: string
  }>`select indexdef as d from pg_indexes where schemaname = 'public' order by 1`.execute(db)
  const triggers = await sql<{
    d: string
  }>`select tgname::text as d from pg_trigger where not tgisinternal order by 1`.execute(db)
  return [...columns.rows, ...indexes.rows, ...triggers.rows].map((r) => r.d)
}

/** The migrations' names: their files' names without the extension (.ts in the sources, .js once compiled). */
async function migrationNames(): Promise<string[]> {
  return (await readdir(MIGRATIONS_DIR))
    .filter((f) => /\.(ts|js)$/.test(f) && !f.endsWith('.d.ts'))
    .map((f) => f.replace(/\.(ts|js)$/, ''))
    .sort()
}

void t.test('migrations', async (t) => {
  const test = await createTestDatabase({ empty: true })
  const database = await openDatabase(test.config, pino({ level: 'silent' }))
  t.teardown(async () => {
    await database.close()
    await test.drop()
  })
  const { db } = database

  void t.test('apply every migration to an empty database', async (t) => {
    const results = await migrateToLatest(db)
    t.same(
      results.map((r) => r.migrationName),
      await migrationNames(),
      'each file, in order'
    )
    t.ok(results.every((r) => r.status === 'Success' && r.direction === 'Up'))
  })

  void t.test('create every table the broker uses', async (t) => {
    const rows = await sql<{ table_name: string }>`
      select table_name from information_schema.tables where table_schema = 'public' and table_name not like 'kysely_%' order by 1`.execute(
      db
    )
    t.same(
      rows.rows.map((r) => r.table_name),
      TABLES
    )
  })

  void t.test('applying them again changes nothing', async (t) => {
    const before = await schemaSnapshot(db)
    t.same(await migrateToLatest(db), [], 'nothing to apply')
    t.same(await schemaSnapshot(db), before, 'same columns, indexes and triggers')
  })

  void t.test('a failing migration stops with its name, and is not recorded as applied', async (t) => {
    const folder = await mkdtemp(path.join(os.tmpdir(), 'broker-migrations-'))
    t.teardown(async () => {
      await rm(folder, { recursive: true, force: true })
    })
    // The applied migrations must still be listed; their bodies do not run again.
    for (const name of await migrationNames())
      await writeFile(path.join(folder, `${name}.mjs`), 'export async function up () {}\n')
    await writeFile(
      path.join(folder, '2999-01-01T0001_broken.mjs'),
      [
        'export async function up (db) {',
        "  await db.schema.createTable('half_made').addColumn('id', 'integer').execute()",
        "  await db.selectFrom('no_such_table').selectAll().execute()",
        '}'
      ].join('\n')
    )

    await t.rejects(migrateToLatest(db, folder), {
      name: 'MigrationError',
      message: /2999-01-01T0001_broken failed: .*no_such_table/
    })
    await t.rejects(migrateToLatest(db, folder), MigrationError, 'and again next boot')
    const applied = await sql<{ name: string }>`select name from kysely_migration order by name`.execute(db)
    t.same(
      applied.rows.map((r) => r.name),
      await migrationNames(),
      'only the real ones recorded'
    )
    const halfMade = await sql<{
      n: string
    }>`select count(*)::text as n from information_schema.tables where table_name = 'half_made'`.execute(db)
    t.equal(halfMade.rows[0]?.n, '0', 'its work rolled back with it')
  })
})

void t.test('migration files never import application code (they are frozen in time)', async (t) => {
  // The sources, wherever the running code found its migrations (a bundle runs compiled copies of them).
  const sourceDir = fromRoot('migrations')
  for (const file of (await readdir(sourceDir)).filter((f) => f.endsWith('.ts'))) {
    const text = await readFile(path.join(sourceDir, file), 'utf8')
    const sources = [...text.matchAll(/\bfrom\s+['"]([^'"]+)['"]/g)].map((m) => m[1])
    t.same(
      sources.filter((s) => s !== 'kysely'),
      [],
      `${file} imports only kysely`
    )
  }
})
