// One migrated database for a whole test file (PGlite starts slowly, so files share one and scope their rows),
// closed and dropped when the file ends. In memory by default; on the server named by DATABASE_URL in CI.
import type { Kysely } from 'kysely'
import { pino } from 'pino'
import { openDatabase, type BrokerDatabase } from '../../src/db/database.js'
import { migrateToLatest } from '../../src/db/migrator.js'
import type { Database } from '../../src/db/schema.js'
import { createTestDatabase, type TestDatabase } from './test-database.js'

export interface MigratedDatabase {
  db: Kysely<Database>
  kind: BrokerDatabase['kind']
  test: TestDatabase
  /** Readiness, as the broker checks it. */
  ping: () => Promise<void>
  /** Closes the database (idempotent): tests of an unavailable database call it themselves. */
  close: () => Promise<void>
}

interface Teardown {
  teardown: (fn: () => Promise<void> | void) => void
}

export async function openMigratedDatabase(t: Teardown): Promise<MigratedDatabase> {
  const test = await createTestDatabase()
  const database = await openDatabase(test.config, pino({ level: 'silent' }))
  let closed: Promise<void> | undefined
  const close = async (): Promise<void> => {
    await (closed ??= database.close())
  }
  t.teardown(async () => {
    await close()
    await test.drop()
  })
  await migrateToLatest(database.db)
  return {
    db: database.db,
    kind: database.kind,
    test,
    ping: async () => {
      await database.ping()
    },
    close
  }
}
