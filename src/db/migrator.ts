// Applies the migrations in /migrations (frozen files that never import app code) up to the latest.
import { existsSync, promises as fs } from 'node:fs'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import type { Kysely } from 'kysely'
import { FileMigrationProvider, Migrator, type MigrationResult } from 'kysely/migration'

/**
 * The nearest migrations/ folder above this module: /migrations beside /src in the source tree (tsx), dist/migrations
 * when compiled, and a bundle's own migrations/ (the test suite's and the child-process bundles') at whatever depth
 * the bundler put this code.
 */
export const MIGRATIONS_DIR = nearestMigrationsDir(path.dirname(fileURLToPath(import.meta.url)))

function nearestMigrationsDir(from: string): string {
  for (let dir = from; ; dir = path.dirname(dir)) {
    const candidate = path.join(dir, 'migrations')
    if (existsSync(candidate)) return candidate
    if (path.dirname(dir) === dir) throw new Error(`no migrations folder above ${from}`)
  }
}

export class MigrationError extends Error {
  override readonly name = 'MigrationError'
}

export async function migrateToLatest<T>(db: Kysely<T>, folder = MIGRATIONS_DIR): Promise<MigrationResult[]> {
  const migrator = new Migrator({ db: db as Kysely<unknown>, provider: new CompiledAwareProvider(folder) })
  const { error, results = [] } = await migrator.migrateToLatest()
  if (error !== undefined) {
    const failed = results.find((r) => r.status === 'Error')
    throw new MigrationError(
      `migration ${failed?.migrationName ?? '(unknown)'} failed: ${error instanceof Error ? error.message : JSON.stringify(error)}`,
      { cause: error }
    )
  }
  return results
}

/** Kysely's FileMigrationProvider, minus .d.ts and .map files that a compiled dist/ folder also holds. */
class CompiledAwareProvider extends FileMigrationProvider {
  constructor(folder: string) {
    super({
      fs: {
        readdir: async (p: string) =>
          (await fs.readdir(p)).filter((f) => /\.(ts|js|mjs)$/.test(f) && !f.endsWith('.d.ts'))
      },
      path,
      migrationFolder: folder
    })
  }
}
