#!/usr/bin/env node
// `npm test`: bundles each test file with the code it imports into test/.build/, then has tap run the bundles.
//
// Why: a test process that loads ~1 500 TypeScript and package modules one by one through tsx and tap's loader
// hooks spent ~2.5 s of CPU before its first assertion, most of the suite's time on two cores. One ES module per
// test file (shared code split into chunks) loads in a fraction of that. Tests are unchanged: the same files run
// as they are with `npx tap test/x.test.ts` (tsx), and this script takes the same arguments:
//
//   npm test                                   every test file
//   npm test -- test/http test/db/x.test.ts    those folders and files
//   npm test -- --grep=idempotent -R tap       anything else goes to tap as it is
//
// Bundles are kept by a hash of what went into them (sources, migrations, lock file, recipe), so a rerun without
// changes starts at once and two suites running side by side share one build (it is written beside and renamed).
import { spawn, spawnSync } from 'node:child_process'
import { createHash, randomBytes } from 'node:crypto'
import { existsSync } from 'node:fs'
import { mkdir, readdir, readFile, rename, rm, writeFile } from 'node:fs/promises'
import path from 'node:path'
import { fileURLToPath, pathToFileURL } from 'node:url'
import { build } from 'esbuild'
import { compileMigrations, filesUnder, pruneStale } from './support/build-cache.mjs'
import { dropRunDatabases, dropStaleRunDatabases, newRunId } from './support/run-databases.mjs'

const ROOT = path.dirname(path.dirname(fileURLToPath(import.meta.url)))
const BUILD = path.join(ROOT, 'test', '.build')
const KEEP_MS = 24 * 3600_000

// Left to node_modules: packages that read their own files at run time (PGlite's wasm, swagger's package.json and
// UI assets, pino's worker threads, Prism's, openapi-typescript's), esbuild's binary, and an optional native module pg asks for only on
// demand. tap is bundled too, as built for this project's plugins (see ensureTapBuilt).
const EXTERNAL = [
  '@electric-sql/pglite',
  '@fastify/swagger',
  '@fastify/swagger-ui',
  'pino',
  'pino-pretty',
  'thread-stream',
  '@stoplight/*',
  'openapi-typescript',
  'esbuild',
  'pg-native'
]
const RECIPE = `v2 esm node22 splitting maps-for-entries external:${EXTERNAL.join(',')}`
// tap's Test class is generated for the configured plugins (package.json tap.plugin); the bundles take it as built.
const TAP_BUILT = path.join(ROOT, 'node_modules', '@tapjs', 'test', 'test-built', 'dist', 'esm', 'index.js')
const TAP_RUN = path.join(ROOT, 'node_modules', 'tap', 'dist', 'esm', 'run.mjs')
const SKIP_PROCESSINFO = path.join(ROOT, 'test', 'support', 'skip-processinfo.mjs')

const { selection, tapArgs } = parseArgs(process.argv.slice(2))
const testFiles = await selectTests(selection)
if (testFiles.length === 0) {
  console.error(`no test files match ${selection.join(' ')}`)
  process.exit(1)
}
const RUN_ID = newRunId()
const serverUrl = process.env.DATABASE_URL || undefined
if (serverUrl !== undefined) await dropStaleRunDatabases(serverUrl, KEEP_MS)
await ensureTapBuilt()
const outDir = await bundle(testFiles)
const bundles = testFiles.map((file) => path.relative(ROOT, path.join(outDir, bundledName(file))))
const tap = spawn(process.execPath, [TAP_RUN, ...tapArgs, ...bundles], {
  cwd: ROOT,
  stdio: 'inherit',
  // Node 22+ keeps compiled code of the bundles on disk, so each test process after the first skips most parsing.
  env: {
    NODE_COMPILE_CACHE: path.join(ROOT, 'node_modules', '.cache', 'node-compile-cache'),
    ...process.env,
    TEST_RUN_ID: RUN_ID,
    // Before tap's own preloads: see the file for why.
    NODE_OPTIONS: [process.env.NODE_OPTIONS, `--import=${pathToFileURL(SKIP_PROCESSINFO)}`].filter(Boolean).join(' ')
  }
})
for (const signal of ['SIGINT', 'SIGTERM']) process.on(signal, () => tap.kill(signal))
tap.on('exit', (code, signal) => {
  void dropDatabases(serverUrl).finally(() => process.exit(code ?? (signal === null ? 1 : 128)))
})

/** The run's test databases on the server, dropped together now that no test uses them (see run-databases.mjs). */
async function dropDatabases(url) {
  if (url === undefined) return
  try {
    await dropRunDatabases(url, RUN_ID)
  } catch (err) {
    console.error(`could not drop this run's test databases (broker_test_${RUN_ID}_*): ${err.message}`)
  }
}

/** Paths (files or folders under test/) select tests; every other argument is tap's. */
function parseArgs(args) {
  const selection = []
  const tapArgs = []
  for (const arg of args) {
    if (!arg.startsWith('-') && existsSync(path.resolve(ROOT, arg)))
      selection.push(path.relative(ROOT, path.resolve(ROOT, arg)))
    else tapArgs.push(arg)
  }
  return { selection, tapArgs }
}

async function selectTests(selection) {
  const all = (await filesUnder(ROOT, 'test')).filter((f) => f.endsWith('.test.ts'))
  if (selection.length === 0) return all
  return all.filter((f) => selection.some((s) => f === s || f.startsWith(`${s}/`)))
}

/** test/http/x.test.ts → http/x.test.mjs inside the build folder. */
function bundledName(file) {
  return path.relative('test', file).replace(/\.ts$/, '.mjs')
}

/**
 * tap generates its Test class for the plugins package.json names, on its first run after they change; the bundles
 * need it generated before they take it in. Done once per plugin list and tap version (a few seconds).
 */
async function ensureTapBuilt() {
  const pkg = JSON.parse(await readFile(path.join(ROOT, 'package.json'), 'utf8'))
  const tapVersion = JSON.parse(await readFile(path.join(ROOT, 'node_modules', 'tap', 'package.json'), 'utf8')).version
  const want = JSON.stringify({ plugins: pkg.tap?.plugin ?? [], tapVersion })
  const stamp = path.join(ROOT, 'node_modules', '.cache', 'broker-tap-build.json')
  if ((await readFile(stamp, 'utf8').catch(() => '')) === want) return
  const built = spawnSync(process.execPath, [TAP_RUN, 'build'], { cwd: ROOT, stdio: ['ignore', 'ignore', 'inherit'] })
  if (built.status !== 0) throw new Error(`tap build failed (exit ${built.status})`)
  await mkdir(path.dirname(stamp), { recursive: true })
  await writeFile(stamp, want)
}

async function bundle(entries) {
  const hash = createHash('sha256').update(RECIPE).update(entries.join('\n'))
  for (const file of [
    ...(await filesUnder(ROOT, 'src')),
    ...(await filesUnder(ROOT, 'test')),
    ...(await filesUnder(ROOT, 'migrations')),
    'package-lock.json',
    path.relative(ROOT, TAP_BUILT)
  ]) {
    hash
      .update(file)
      .update('\0')
      .update(await readFile(path.join(ROOT, file)))
      .update('\0')
  }
  const dir = path.join(BUILD, hash.digest('hex').slice(0, 16))
  if (existsSync(path.join(dir, 'complete'))) return dir

  const partial = `${dir}.${process.pid}.${randomBytes(4).toString('hex')}.partial`
  await mkdir(BUILD, { recursive: true })
  try {
    await build({
      absWorkingDir: ROOT,
      entryPoints: entries,
      outbase: 'test',
      outdir: partial,
      outExtension: { '.js': '.mjs' },
      chunkNames: 'chunks/[name]-[hash]',
      bundle: true,
      splitting: true,
      external: EXTERNAL,
      platform: 'node',
      format: 'esm',
      target: 'node22',
      // Maps are linked from the test files only: tap's --enable-source-maps then shows a failed assertion's line in
      // the .ts file, without every process parsing the large maps of the shared chunks (seconds of CPU in all).
      sourcemap: 'linked',
      // CommonJS packages inside ES module bundles still call require (node: built-ins, the externals).
      banner: {
        js: "import { createRequire as __bundleRequire } from 'node:module'; const require = __bundleRequire(import.meta.url);"
      },
      logLevel: 'error'
    })
    // A single test file with nothing to share has no chunks folder.
    const chunks = await readdir(path.join(partial, 'chunks')).catch(() => [])
    for (const chunk of chunks) {
      if (!chunk.endsWith('.mjs')) continue
      const file = path.join(partial, 'chunks', chunk)
      await writeFile(file, (await readFile(file, 'utf8')).replace(/\n\/\/# sourceMappingURL=\S+\n?$/, '\n'))
    }
    await compileMigrations(ROOT, path.join(partial, 'migrations'))
    await mkdir(path.join(partial, 'complete'))
    await rename(partial, dir).catch((err) => {
      // Another suite got there first with the same sources: use theirs.
      if (!existsSync(path.join(dir, 'complete'))) throw err
    })
  } finally {
    await rm(partial, { recursive: true, force: true })
  }
  // Builds of sources long gone (a day untouched), and tap's saved results of them, so neither grows with every edit.
  await pruneStale([BUILD, path.join(ROOT, '.tap', 'test-results', 'test', '.build')], path.basename(dir), KEEP_MS)
  return dir
}
