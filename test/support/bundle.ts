// The process entry points of src/ bundled into one ESM file each, for tests that start them as child processes:
// `node <bundle>` starts in a fraction of the seconds `tsx src/…` spends loading TypeScript. Built once per state of
// the sources and packages and kept in node_modules/.cache, so parallel test files and later runs share it. The
// commands the README documents (`tsx src/…`) stay proven by test/cli/ops-clis.test.ts, which runs one as it is.
import { createHash, randomBytes } from 'node:crypto'
import { mkdir, readFile, rename, rm, stat } from 'node:fs/promises'
import path from 'node:path'
import { build } from 'esbuild'
import { compileMigrations, filesUnder, pruneStale } from './build-cache.mjs'
import { ROOT } from './project-root.js'

export { ROOT }

/** The entry points package.json scripts run with tsx. */
export const ENTRY_POINTS = {
  server: 'src/bin/server.ts',
  keys: 'src/bin/keys.ts',
  audit: 'src/bin/audit.ts',
  migrate: 'src/bin/migrate.ts',
  emulator: 'src/bin/emulator.ts'
} as const

export type EntryPoint = keyof typeof ENTRY_POINTS

// Inside the repo's node_modules: imports of packages left external resolve from there, as they do from src/.
const CACHE = path.join(ROOT, 'node_modules', '.cache', 'broker-bundles')
// Packages are bundled too (resolving and loading hundreds of package files was most of a start's CPU), except
// those that read their own files at run time (PGlite's wasm, swagger's package.json and UI assets, pino's worker
// threads) and an optional native one pg asks for only on demand.
const EXTERNAL = [
  '@electric-sql/pglite',
  '@fastify/swagger',
  '@fastify/swagger-ui',
  'pino',
  'pino-pretty',
  'thread-stream',
  'pg-native'
]
// Changing how bundles are made changes this, so an old cache entry is not taken for a new one.
const RECIPE = `v3 esm node22 src/bundle migrations/*.js external:${EXTERNAL.join(',')}`
const STALE_MS = 24 * 3600_000

let built: Promise<string> | undefined

/** The path of `entry`'s bundle (built on first use): run it with `node <path>` from any working directory. */
export async function bundledEntry(entry: EntryPoint): Promise<string> {
  built ??= bundleAll()
  return path.join(await built, 'src', 'bundle', `${entry}.mjs`)
}

async function bundleAll(): Promise<string> {
  const hash = createHash('sha256').update(RECIPE)
  for (const file of [
    ...(await filesUnder(ROOT, 'src')),
    ...(await filesUnder(ROOT, 'migrations')),
    'package-lock.json'
  ]) {
    hash
      .update(file)
      .update('\0')
      .update(await readFile(path.join(ROOT, file)))
      .update('\0')
  }
  const dir = path.join(CACHE, hash.digest('hex').slice(0, 20))
  if (await exists(path.join(dir, 'src', 'bundle', 'server.mjs'))) return dir

  // Written beside, then renamed into place whole: a parallel test file either finds no bundle or a complete one.
  const partial = `${dir}.${process.pid}.${randomBytes(4).toString('hex')}.partial`
  await mkdir(CACHE, { recursive: true })
  try {
    // src/bundle/ mirrors src/<area>/ two levels below the root, so a path src resolves against import.meta.url
    // (src/db/migrator.ts: ../../migrations) lands in this bundle's own migrations/.
    await build({
      absWorkingDir: ROOT,
      entryPoints: Object.entries(ENTRY_POINTS).map(([out, file]) => ({ in: file, out })),
      outdir: path.join(partial, 'src', 'bundle'),
      outExtension: { '.js': '.mjs' },
      bundle: true,
      external: EXTERNAL,
      platform: 'node',
      format: 'esm',
      target: 'node22',
      // CommonJS packages inside an ES module bundle still call require (node: built-ins, the externals).
      banner: {
        js: "import { createRequire as __bundleRequire } from 'node:module'; const require = __bundleRequire(import.meta.url);"
      },
      logLevel: 'error'
    })
    await compileMigrations(ROOT, path.join(partial, 'migrations'))
    await rename(partial, dir).catch(async (err: unknown) => {
      // Another test file got there first with the same sources: use theirs.
      if (!(await exists(path.join(dir, 'src', 'bundle', 'server.mjs')))) throw err
    })
  } finally {
    await rm(partial, { recursive: true, force: true })
  }
  // Bundles of sources long gone (a day untouched), so the cache does not grow with every edit.
  await pruneStale([CACHE], path.basename(dir), STALE_MS)
  return dir
}

async function exists(file: string): Promise<boolean> {
  return await stat(file).then(
    () => true,
    () => false
  )
}
