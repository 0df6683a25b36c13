// Embedded data dirs (BROKER_DATA_DIR) for tests that need one on disk but not its creation: a fresh one costs
// PGlite's initdb (seconds), so one migrated data dir is made per state of the migrations, the database code and
// the packages, kept in the temp dir, and copied. Tests about creating a data dir open an empty one instead.
import { createHash, randomBytes } from 'node:crypto'
import { cp, readdir, readFile, rename, rm, stat } from 'node:fs/promises'
import os from 'node:os'
import path from 'node:path'
import { pino } from 'pino'
import { openDatabase } from '../../src/db/database.js'
import { MIGRATIONS_DIR, migrateToLatest } from '../../src/db/migrator.js'
import { ROOT } from './bundle.js'

let template: Promise<string> | undefined

/** Fills `dir` (absent or empty) with a closed, migrated data dir, as the broker leaves one when it stops. */
export async function copyMigratedDataDir(dir: string): Promise<void> {
  template ??= migratedTemplate()
  await cp(await template, dir, { recursive: true })
}

async function migratedTemplate(): Promise<string> {
  const hash = createHash('sha256')
  const dbCode = path.join(ROOT, 'src', 'db')
  for (const [folder, file] of [
    ...(await readdir(MIGRATIONS_DIR)).map((f) => [MIGRATIONS_DIR, f] as const),
    ...(await readdir(dbCode)).map((f) => [dbCode, f] as const),
    [ROOT, 'package-lock.json'] as const
  ].sort(([a, x], [b, y]) => `${a}/${x}`.localeCompare(`${b}/${y}`))) {
    hash
      .update(file)
      .update('\0')
      .update(await readFile(path.join(folder, file)))
      .update('\0')
  }
  const dir = path.join(os.tmpdir(), `broker-pglite-data-dir-${hash.digest('hex').slice(0, 16)}`)
  if (
    await stat(path.join(dir, 'pglite')).then(
      () => true,
      () => false
    )
  )
    return dir
  // Made beside, then renamed into place whole: a parallel test file never copies a half-made data dir.
  const partial = `${dir}.${process.pid}.${randomBytes(4).toString('hex')}.partial`
  try {
    const database = await openDatabase({ kind: 'pglite', dataDir: partial }, pino({ level: 'silent' }))
    try {
      await migrateToLatest(database.db)
    } finally {
      await database.close()
    }
    await rename(partial, dir).catch(async (err: unknown) => {
      // Another test file made it first: use theirs.
      if (
        !(await stat(path.join(dir, 'pglite')).then(
          () => true,
          () => false
        ))
      )
        throw err
    })
  } finally {
    await rm(partial, { recursive: true, force: true })
  }
  return dir
}
