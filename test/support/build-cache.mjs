// What the suite's bundles (test/run.mjs) and the child-process bundles (test/support/bundle.ts) share: listing the
// sources a build is keyed by, compiling migrations/ beside a bundle, and pruning builds of sources long gone.
// Plain JavaScript: test/run.mjs imports it before any TypeScript loader is in place.
import { readdir, rm, stat } from 'node:fs/promises'
import path from 'node:path'
import { build } from 'esbuild'

/** Files under `dir` (relative to `root`), as paths relative to `root`, sorted; test/.build/ is never listed. */
export async function filesUnder(root, dir) {
  const entries = await readdir(path.join(root, dir), { recursive: true, withFileTypes: true })
  return entries
    .filter((e) => e.isFile())
    .map((e) => path.relative(root, path.join(e.parentPath, e.name)))
    .filter((f) => !f.startsWith(path.join('test', '.build')))
    .sort()
}

/**
 * Kysely imports migrations by file at run time: a bundle finds these as its nearest migrations/ folder (same
 * names, compiled to JavaScript, as dist/ has them). What they import from kysely is bundled into one shared chunk
 * beside the folder (migration-chunks/): left as an import of the package, it loaded Kysely's ~300 modules a second
 * time in every process that checks its migrations (~0.1 s of CPU each). `outdir` ends in migrations/.
 */
export async function compileMigrations(root, outdir) {
  if (path.basename(outdir) !== 'migrations')
    throw new Error(`compileMigrations: ${outdir} is not a migrations/ folder`)
  await build({
    absWorkingDir: root,
    entryPoints: (await filesUnder(root, 'migrations')).filter((f) => f.endsWith('.ts')),
    outbase: root,
    outdir: path.dirname(outdir),
    bundle: true,
    splitting: true,
    chunkNames: 'migration-chunks/[name]-[hash]',
    platform: 'node',
    format: 'esm',
    target: 'node22',
    logLevel: 'error'
  })
}

/** Removes the entries of `folders` untouched for `maxAgeMs`, except the one named `keep`. */
export async function pruneStale(folders, keep, maxAgeMs) {
  for (const folder of folders) {
    for (const name of await readdir(folder).catch(() => [])) {
      if (name === keep) continue
      const file = path.join(folder, name)
      const old = await stat(file).then(
        (s) => Date.now() - s.mtimeMs > maxAgeMs,
        () => false
      )
      if (old) await rm(file, { recursive: true, force: true })
    }
  }
}
