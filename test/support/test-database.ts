// A database per test file: in-memory PGlite by default, or a fresh database on the PostgreSQL server named by
// DATABASE_URL (CI), dropped afterwards.
import { randomBytes } from 'node:crypto'
import { createHash } from 'node:crypto'
import { readdir, readFile, rename, writeFile } from 'node:fs/promises'
import os from 'node:os'
import path from 'node:path'
import { PGlite } from '@electric-sql/pglite'
import { Kysely } from 'kysely'
import pg from 'pg'
import { MIGRATIONS_DIR, migrateToLatest } from '../../src/db/migrator.js'
import { PGliteDialect } from '../../src/db/pglite-dialect.js'
import type { DatabaseConfig } from '../../src/db/database.js'

export interface TestDatabase {
  config: DatabaseConfig
  /** Connection URL when on a server (for superuser tricks in tests); undefined on PGlite. */
  url: string | undefined
  drop: () => Promise<void>
}

/** `empty`: no tables at all (migration tests); otherwise PGlite starts from a migrated template. */
export async function createTestDatabase (options: { empty?: boolean } = {}): Promise<TestDatabase> {
  const serverUrl = process.env.DATABASE_URL
  if (serverUrl === undefined || serverUrl === '') {
    return {
      config: options.empty === true ? { kind: 'pglite', dataDir: null } : { kind: 'pglite', dataDir: null, snapshot: await pgliteTemplate() },
      url: undefined,
      drop: async () => {}
    }
  }
  const name = `broker_test_${randomBytes(6).toString('hex')}`
  const admin = new pg.Client({ connectionString: serverUrl })
  await admin.connect()
  try {
    await admin.query(`create database ${name}`)
  } finally {
    await admin.end()
  }
  const url = new URL(serverUrl)
  url.pathname = `/${name}`
  return {
    config: { kind: 'postgres', url: url.toString(), poolSize: 5 },
    url: url.toString(),
    drop: async () => {
      const client = new pg.Client({ connectionString: serverUrl })
      await client.connect()
      try {
        await client.query(`drop database if exists ${name} with (force)`)
      } finally {
        await client.end()
      }
    }
  }
}

/**
 * A migrated PGlite data dir, made once per migration set and kept in the temp dir: PGlite's initdb takes
 * seconds, loading a dump under one, and every test file starts several brokers.
 */
async function pgliteTemplate (): Promise<Blob> {
  const hash = createHash('sha256')
  for (const file of (await readdir(MIGRATIONS_DIR)).sort()) hash.update(file).update(await readFile(path.join(MIGRATIONS_DIR, file)))
  const file = path.join(os.tmpdir(), `broker-pglite-template-${hash.digest('hex').slice(0, 16)}.tar`)
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
