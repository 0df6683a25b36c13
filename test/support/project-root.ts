// The repository's root, found from wherever this module runs: the TypeScript sources (tsx) or the suite's
// bundles in test/.build/ (npm test), which sit at another depth. Paths to fixtures, the README and the vendored
// specs start here rather than at import.meta.url, whose depth changes with the bundling.
import { existsSync } from 'node:fs'
import path from 'node:path'
import { fileURLToPath } from 'node:url'

function findRoot(from: string): string {
  for (let dir = from; ; dir = path.dirname(dir)) {
    if (existsSync(path.join(dir, 'package.json')) && existsSync(path.join(dir, 'migrations'))) return dir
    if (path.dirname(dir) === dir) throw new Error(`no project root above ${from}`)
  }
}

export const ROOT = findRoot(path.dirname(fileURLToPath(import.meta.url)))

/** A path inside the repository, from its root. */
export const fromRoot = (...segments: string[]): string => path.join(ROOT, ...segments)
