// Removes secrets nothing needs: those of failed or deleted connections whose destroy failed earlier, and keys in the
// store whose connection is failed, deleted or was never recorded (a crash between writing and recording).
import type { ConnectionDeps } from './connection-deps.js'
import { findDeadSecretHolders, findStates } from './connection-repository.js'
import { destroyRecordedSecret, destroySecretQuietly } from './destroy-secret.js'

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/
const CHUNK = 500
const DEAD = new Set(['failed', 'deleted'])

/** Failed or deleted connections still recorded as holding a secret. Resolves to how many were destroyed. */
export async function destroyDeadSecrets (deps: Pick<ConnectionDeps, 'db' | 'secrets' | 'logger'>, limit = 100): Promise<number> {
  let destroyed = 0
  for (const { id } of await findDeadSecretHolders(deps.db, limit)) {
    if (await destroyRecordedSecret(deps, id)) destroyed++
  }
  return destroyed
}

/**
 * Every key of the store checked against the connections table. Only keys shaped like broker ids are considered:
 * anything else under the prefix is not ours to delete. A key is written only after its row is committed, so a key
 * without a row is an orphan, never a create in progress.
 */
export async function destroyOrphanSecrets (deps: Pick<ConnectionDeps, 'db' | 'secrets' | 'logger'>): Promise<number> {
  const keys = (await deps.secrets.listKeys()).filter((k) => UUID.test(k))
  let destroyed = 0
  for (let i = 0; i < keys.length; i += CHUNK) {
    const chunk = keys.slice(i, i + CHUNK)
    const states = await findStates(deps.db, chunk)
    for (const key of chunk) {
      const state = states.get(key)
      if (state !== undefined && !DEAD.has(state)) continue
      const ok = state === undefined ? await destroySecretQuietly(deps, key) : await destroyRecordedSecret(deps, key)
      if (ok) {
        destroyed++
        deps.logger.info({ connectionId: key, state: state ?? 'no row' }, 'destroyed an orphan secret')
      }
    }
  }
  return destroyed
}
