// The one boot line: the mode and what is in use (database host/name, secret store kind and address, Flow Service
// URL), so a missing setting shows at a glance. Built from URLs stripped of user, password and query: never a secret.
import path from 'node:path'
import type { Config } from './config.js'
import type { DatabaseConfig } from './db/database.js'
import { imsTokenEndpoint } from './flow-service/ims-token-source.js'
import { KEY_FILE_NAME } from './secrets/local/local-key.js'

export interface BootSummary {
  mode: Config['mode']
  modeReason: string
  database: string
  secretStore: string
  flowService: string
}

/** `database`: the one actually opened (tests pass their own); `emulatorUrl`: where the dev emulator listens. */
export function bootSummary(
  config: Config,
  database: DatabaseConfig,
  emulatorUrl?: string
): { fields: BootSummary; message: string } {
  const fields: BootSummary = {
    mode: config.mode,
    modeReason: config.modeReason,
    database: describeDatabase(database),
    secretStore: describeSecretStore(config),
    flowService:
      config.flowService.kind === 'remote'
        ? `${safeUrl(config.flowService.url)} (IMS ${safeUrl(imsTokenEndpoint(config.flowService.imsUrl).href)}, org ${config.flowService.orgId})`
        : `in-process emulator${emulatorUrl !== undefined ? ` at ${emulatorUrl}` : ''}, not Adobe`
  }
  const message = `credential broker in ${fields.mode.toUpperCase()} mode (${fields.modeReason}): database ${fields.database}; secret store ${fields.secretStore}; Flow Service ${fields.flowService}`
  return { fields, message }
}

function describeDatabase(database: DatabaseConfig): string {
  if (database.kind === 'pglite')
    return database.dataDir === null
      ? 'embedded PGlite in memory'
      : `embedded PGlite in ${path.resolve(database.dataDir, 'pglite')}`
  try {
    const url = new URL(database.url)
    const name = decodeURIComponent(url.pathname.replace(/^\//, ''))
    return `PostgreSQL ${url.hostname || 'localhost'}:${url.port || '5432'}/${name || '(default database)'}`
  } catch {
    return 'PostgreSQL (DATABASE_URL is not a URL the summary can read)'
  }
}

function describeSecretStore(config: Config): string {
  const store = config.secretStore
  if (store.kind === 'vault') {
    return `vault ${safeUrl(store.addr)} (mount ${store.mount}, prefix ${store.prefix}${store.namespace !== undefined ? `, namespace ${store.namespace}` : ''}, ${store.auth.method} auth)`
  }
  return store.key !== undefined
    ? 'local (key from BROKER_SECRET_KEY)'
    : `local (key file ${path.resolve(config.dataDir, KEY_FILE_NAME)})`
}

/** Origin and path only: a URL may carry a user, a password or a token in its query. */
function safeUrl(value: string): string {
  try {
    const url = new URL(value)
    return `${url.origin}${url.pathname === '/' ? '' : url.pathname}`
  } catch {
    return '(not a URL)'
  }
}
