// The database the environment configures, opened for an ops CLI; a bad setting exits naming the variable.
import pino from 'pino'
import { ConfigError, loadConfig } from '../config.js'
import { DataDirLockedError } from '../db/data-dir-lock.js'
import { openDatabase, type BrokerDatabase } from '../db/database.js'

export async function openConfiguredDatabase(err: (text: string) => void): Promise<BrokerDatabase | undefined> {
  let config
  try {
    // Only the database matters to a CLI: production settings for Vault or Flow Service are not asked for.
    config = loadConfig(process.env, { needs: ['database'] })
  } catch (e) {
    if (e instanceof ConfigError) {
      err(`${e.message}\n`)
      return undefined
    }
    throw e
  }
  for (const warning of config.warnings) err(`warning: ${warning}\n`)
  try {
    return await openDatabase(config.database, pino({ level: 'warn' }, pino.destination(2)))
  } catch (e) {
    // PGlite is single-process: beside a running broker its writes would be lost, so it refuses and names the holder.
    if (e instanceof DataDirLockedError) {
      err(`${e.message}\n`)
      return undefined
    }
    throw e
  }
}
