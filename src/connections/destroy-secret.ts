// Destroys a connection's secret without letting a secret-store outage hide the outcome being recorded.
import type { Kysely } from 'kysely'
import type { Logger } from 'pino'
import type { Database } from '../db/schema.js'
import type { SecretStore } from '../secrets/secret-store.js'
import { updateConnection } from './connection-repository.js'

/** A failed destroy leaves an orphan the reconciler removes later; it must not hide the original outcome. */
export async function destroySecretQuietly(
  deps: { secrets: SecretStore; logger: Pick<Logger, 'warn'> },
  id: string
): Promise<boolean> {
  try {
    await deps.secrets.destroy(id)
    return true
  } catch (err) {
    deps.logger.warn({ err, connectionId: id }, 'could not destroy the secret now; the reconciler will')
    return false
  }
}

/**
 * Destroys the secret of a connection already recorded as failed or deleted, then records that it is gone.
 * The row keeps its secret_version until the destroy succeeded, which is how the reconciler finds leftovers.
 */
export async function destroyRecordedSecret(
  deps: { db: Kysely<Database>; secrets: SecretStore; logger: Pick<Logger, 'warn'> },
  id: string
): Promise<boolean> {
  if (!(await destroySecretQuietly(deps, id))) return false
  await updateConnection(deps.db, id, { secret_version: null })
  return true
}
