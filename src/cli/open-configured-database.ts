// The database the environment configures, opened for an ops CLI; a bad setting exits naming the variable.
import pino from 'pino'
import { ConfigError, loadConfig } from '../config.js'
import { openDatabase, type BrokerDatabase } from '../db/database.js'

export async function openConfiguredDatabase (err: (text: string) => void): Promise<BrokerDatabase | undefined> {
  let config
  try {
    config = loadConfig()
  } catch (e) {
    if (e instanceof ConfigError) {
      err(`${e.message}\n`)
      return undefined
    }
    throw e
  }
  if (config.database.kind === 'pglite') {
    // PGlite is single-process: opening its files beside a running broker can corrupt them.
    err(`Using the embedded database in ${config.database.dataDir} (no DATABASE_URL). Stop the broker first: only one process may open it.\n`)
  }
  return await openDatabase(config.database, pino({ level: 'warn' }, pino.destination(2)))
}
