// The embedded database on disk: BROKER_DATA_DIR 0700 and every file 0600 whatever the umask; one process at a
// time (a lock file naming the holder), a lock left by a dead process taken over, the lock gone once closed.
// Only the umask test creates a data dir (PGlite's initdb, seconds); the others open a copy of one made once per
// run (test/support/pglite-data-dir.ts), as the broker finds it after a stop.
import { chmod, mkdtemp, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises'
import os from 'node:os'
import path from 'node:path'
import { pino } from 'pino'
import t, { type Test } from 'tap'
import { DataDirLockedError, LOCK_FILE_NAME } from '../../src/db/data-dir-lock.js'
import { openDatabase } from '../../src/db/database.js'
import { migrateToLatest } from '../../src/db/migrator.js'
import { copyMigratedDataDir } from '../support/pglite-data-dir.js'

const logger = pino({ level: 'silent' })

async function tempDir(t: Test): Promise<string> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'broker-data-dir-'))
  t.teardown(async () => {
    await rm(dir, { recursive: true, force: true })
  })
  return dir
}

/** Mode (e.g. '600') of every file and directory under `dir`, by kind. */
async function modes(dir: string): Promise<{ dirs: Set<string>; files: Set<string>; count: number }> {
  const dirs = new Set<string>()
  const files = new Set<string>()
  let count = 0
  async function walk(d: string): Promise<void> {
    dirs.add(((await stat(d)).mode & 0o777).toString(8))
    for (const entry of await readdir(d, { withFileTypes: true })) {
      const file = path.join(d, entry.name)
      if (entry.isDirectory()) await walk(file)
      else {
        files.add(((await stat(file)).mode & 0o777).toString(8))
        count++
      }
    }
  }
  await walk(dir)
  return { dirs, files, count }
}

void t.test('under umask 000, the data dir is 0700 and every PGlite file 0600, while open and after', async (t) => {
  const previous = process.umask(0)
  t.teardown(() => {
    process.umask(previous)
  })
  const dataDir = path.join(await tempDir(t), 'fresh', '.data')
  const database = await openDatabase({ kind: 'pglite', dataDir }, logger)
  await migrateToLatest(database.db) // creates tables: new files after the open
  t.equal(((await stat(dataDir)).mode & 0o777).toString(8), '700', 'the data dir')
  const open = await modes(path.join(dataDir, 'pglite'))
  t.ok(open.count > 100, `PGlite's files (${open.count})`)
  t.same([...open.dirs], ['700'], 'directories while open')
  t.same([...open.files], ['600'], 'files while open, tables made by the migrations included')
  await database.close()
  const closed = await modes(path.join(dataDir, 'pglite'))
  t.same([...closed.files], ['600'], 'files after close')
})

void t.test('a data dir left readable by an earlier version is made private at open', async (t) => {
  const dataDir = await tempDir(t)
  await copyMigratedDataDir(dataDir)
  const leftOver = path.join(dataDir, 'pglite', 'PG_VERSION')
  await chmod(leftOver, 0o666)
  await chmod(dataDir, 0o755)
  const second = await openDatabase({ kind: 'pglite', dataDir }, logger)
  t.teardown(async () => {
    await second.close()
  })
  t.equal(((await stat(leftOver)).mode & 0o777).toString(8), '600')
  t.equal(((await stat(dataDir)).mode & 0o777).toString(8), '700')
})

void t.test('a second opener is refused with the holder named; the lock goes with close', async (t) => {
  const dataDir = await tempDir(t)
  await copyMigratedDataDir(dataDir)
  const first = await openDatabase({ kind: 'pglite', dataDir }, logger)
  const lock = JSON.parse(await readFile(path.join(dataDir, LOCK_FILE_NAME), 'utf8')) as { pid: number; host: string }
  t.same({ pid: lock.pid, host: lock.host }, { pid: process.pid, host: os.hostname() }, 'the lock holds pid and host')
  t.equal(((await stat(path.join(dataDir, LOCK_FILE_NAME))).mode & 0o777).toString(8), '600')

  const err = await openDatabase({ kind: 'pglite', dataDir }, logger).then(
    () => undefined,
    (e: unknown) => e
  )
  t.ok(err instanceof DataDirLockedError, 'refused')
  t.match(
    (err as Error).message,
    new RegExp(`in use by process ${process.pid} on ${os.hostname()} .*only one process may open it`)
  )
  t.equal(await first.ping().then(() => 'ok'), 'ok', 'the holder is undisturbed')

  await first.close()
  t.notOk((await readdir(dataDir)).includes(LOCK_FILE_NAME), 'released on close')
  const again = await openDatabase({ kind: 'pglite', dataDir }, logger)
  await again.close()
})

void t.test('a lock left by a process that is gone (same host, pid not running) is taken over', async (t) => {
  const dataDir = await tempDir(t)
  await copyMigratedDataDir(dataDir)
  // The highest pid Linux hands out is below 2^22: this one is not running.
  await writeFile(
    path.join(dataDir, LOCK_FILE_NAME),
    JSON.stringify({
      pid: 2 ** 22 + 7,
      host: os.hostname(),
      since: '2026-01-01T00:00:00.000Z',
      command: 'server.ts',
      token: 'dead'
    })
  )
  const database = await openDatabase({ kind: 'pglite', dataDir }, logger)
  const lock = JSON.parse(await readFile(path.join(dataDir, LOCK_FILE_NAME), 'utf8')) as { pid: number }
  t.equal(lock.pid, process.pid, 'now ours')
  await database.close()
})

void t.test(
  'a lock from another host cannot be judged: refused, saying which file to delete if it is stale',
  async (t) => {
    const dataDir = await tempDir(t)
    const file = path.join(dataDir, LOCK_FILE_NAME)
    await writeFile(
      file,
      JSON.stringify({
        pid: 1,
        host: 'other-host',
        since: '2026-01-01T00:00:00.000Z',
        command: 'server.js',
        token: 'x'
      })
    )
    const err = await openDatabase({ kind: 'pglite', dataDir }, logger).then(
      () => undefined,
      (e: unknown) => e
    )
    t.ok(err instanceof DataDirLockedError)
    t.match((err as Error).message, `in use by process 1 on other-host (server.js, since 2026-01-01T00:00:00.000Z)`)
    t.match((err as Error).message, `delete ${file} if it is no longer running`)
    t.same(await readdir(dataDir), [LOCK_FILE_NAME], 'nothing opened')
  }
)
