// `npm run migrate`: applies pending migrations to the configured database and exits non-zero on error.
import pino from 'pino'
import { loadConfig } from '../config.js'
import { openDatabase } from '../db/database.js'
import { migrateToLatest } from '../db/migrator.js'

const logger = pino({ name: 'migrate' })
try {
  // Only the database matters here: production settings for Vault or Flow Service are not asked for.
  const config = loadConfig(process.env, { needs: ['database'] })
  const database = await openDatabase(config.database, logger)
  try {
    const results = await migrateToLatest(database.db)
    for (const r of results) logger.info({ migration: r.migrationName, status: r.status }, 'migration')
    logger.info({ applied: results.length, database: database.kind }, 'database is at the latest migration')
  } finally {
    await database.close()
  }
} catch (err) {
  logger.error({ err }, 'migration failed')
  process.exitCode = 1
}
