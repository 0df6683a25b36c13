// Destroys the secrets of failed or deleted connections that are still recorded as holding one: a destroy that failed
// earlier (store down). Keys the table knows nothing of are the secret orphan sweep's (src/reconciler/orphan-sweep.ts).
import type { ConnectionDeps } from './connection-deps.js'
import { findDeadSecretHolders } from './connection-repository.js'
import { destroyRecordedSecret } from './destroy-secret.js'

/** Resolves to how many were destroyed; a store still down leaves the rest for the next sweep. */
export async function destroyDeadSecrets(
  deps: Pick<ConnectionDeps, 'db' | 'secrets' | 'logger'>,
  limit = 100
): Promise<number> {
  let destroyed = 0
  for (const { id } of await findDeadSecretHolders(deps.db, limit)) {
    if (await destroyRecordedSecret(deps, id)) destroyed++
  }
  return destroyed
}
