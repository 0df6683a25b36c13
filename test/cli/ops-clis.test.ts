// The keys and audit CLIs as the processes `npm run keys` and `npm run audit` start, against the database the
// environment configures (a fresh PostgreSQL database with DATABASE_URL, else an embedded one on disk): exit codes,
// output streams, and a data dir held by another process. What they do is specified in-process by
// test/auth/keys-command.test.ts and test/audit/audit-command.test.ts. One run is the documented command itself
// (tsx on the script package.json names); the others run the same entry points bundled (test/support/bundle.ts),
// which start in a fraction of tsx's time.
import { execFile } from 'node:child_process'
import { mkdtemp, readFile, rm } from 'node:fs/promises'
import os from 'node:os'
import path from 'node:path'
import { promisify } from 'node:util'
import { pino } from 'pino'
import t from 'tap'
import { openDatabase } from '../../src/db/database.js'
import { migrateToLatest } from '../../src/db/migrator.js'
import { bundledEntry, ROOT, type EntryPoint } from '../support/bundle.js'
import { copyMigratedDataDir } from '../support/pglite-data-dir.js'
import { createTestDatabase } from '../support/test-database.js'

interface Run {
  code: number
  stdout: string
  stderr: string
}
interface Teardown {
  teardown: (fn: () => Promise<void> | void) => void
}

const pkg = JSON.parse(await readFile(path.join(ROOT, 'package.json'), 'utf8')) as { scripts: Record<string, string> }

/** A migrated database the CLIs can open from their environment. */
async function configuredDatabase(t: Teardown): Promise<Record<string, string>> {
  if (process.env.DATABASE_URL !== undefined && process.env.DATABASE_URL !== '') {
    const test = await createTestDatabase()
    t.teardown(async () => {
      await test.drop()
    })
    const database = await openDatabase(test.config, pino({ level: 'silent' }))
    await migrateToLatest(database.db)
    await database.close()
    return { DATABASE_URL: test.url ?? '' }
  }
  const dir = await mkdtemp(path.join(os.tmpdir(), 'broker-cli-'))
  t.teardown(async () => {
    await rm(dir, { recursive: true, force: true })
  })
  await copyMigratedDataDir(dir)
  return { DATABASE_URL: '', BROKER_DATA_DIR: dir }
}

/** Runs `command` (a file and its first arguments) with `args` and waits for it to exit. */
async function run(command: string[], args: string[], env: Record<string, string>): Promise<Run> {
  const [file = '', ...first] = command
  try {
    const { stdout, stderr } = await promisify(execFile)(file, [...first, ...args], {
      cwd: ROOT,
      env: { ...process.env, ...env },
      timeout: 60_000
    })
    return { code: 0, stdout, stderr }
  } catch (err) {
    const e = err as { code?: number; stdout?: string; stderr?: string }
    return { code: typeof e.code === 'number' ? e.code : -1, stdout: e.stdout ?? '', stderr: e.stderr ?? '' }
  }
}

/** The script `npm run <name>` runs, as npm runs it: tsx from node_modules/.bin. */
function documented(name: 'keys' | 'audit'): string[] {
  const [bin = '', ...rest] = (pkg.scripts[name] ?? '').split(' ')
  return [path.join(ROOT, 'node_modules', '.bin', bin), ...rest]
}

async function bundled(entry: EntryPoint): Promise<string[]> {
  return [process.execPath, await bundledEntry(entry)]
}

void t.test('package.json runs them as `npm run keys` and `npm run audit`', async (t) => {
  t.equal(pkg.scripts.keys, 'tsx src/bin/keys.ts')
  t.equal(pkg.scripts.audit, 'tsx src/bin/audit.ts')
})

void t.test('bootstrap: issue a key, then read the trail', async (t) => {
  const env = await configuredDatabase(t)
  // The documented command as it is, so `npm run keys` stays proven to start.
  const created = await run(documented('keys'), ['create', '--name', 'first admin', '--scopes', 'admin'], env)
  t.equal(created.code, 0, created.stderr)
  const key = /^key\s+(cbk_\S+)$/m.exec(created.stdout)?.[1]
  t.ok(key, 'the key is printed')

  const trail = await run(await bundled('audit'), ['--action', 'api_key.create'], env)
  t.equal(trail.code, 0, trail.stderr)
  t.match(trail.stdout, /cli:\S+\s+api_key\.create\s+success/)
  t.notOk(key !== undefined && trail.stdout.includes(key), 'nor the audit')
})

void t.test('a bad setting stops it naming the variable', async (t) => {
  const res = await run(await bundled('audit'), [], { DATABASE_URL: 'mysql://nope' })
  t.equal(res.code, 2)
  t.match(res.stderr, /DATABASE_URL/)
})

void t.test('beside a process holding the embedded database, a CLI refuses and names that process', async (t) => {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'broker-cli-locked-'))
  t.teardown(async () => {
    await rm(dir, { recursive: true, force: true })
  })
  await copyMigratedDataDir(dir)
  // This test process plays the running broker.
  const holder = await openDatabase({ kind: 'pglite', dataDir: dir }, pino({ level: 'silent' }))
  t.teardown(async () => {
    await holder.close()
  })
  const res = await run(
    await bundled('keys'),
    ['create', '--team', 'platform', '--name', 'late admin', '--scopes', 'admin'],
    { DATABASE_URL: '', BROKER_DATA_DIR: dir }
  )
  t.equal(res.code, 2)
  t.match(res.stderr, new RegExp(`in use by process ${process.pid} on ${os.hostname()} .*Stop that process first`))
  t.equal(
    await holder.db.selectFrom('api_keys').select('id').where('name', '=', 'late admin').executeTakeFirst(),
    undefined,
    'nothing written'
  )
})
