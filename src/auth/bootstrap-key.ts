// The admin key a boot setting names (BROKER_ADMIN_KEY, the dev key): made valid once, never revived, and
// replacing the one an earlier value made. A revocation is final; a changed value revokes the previous key.
import type { Kysely } from 'kysely'
import { appendAuditIn, type Actor } from '../audit/audit-log.js'
import type { ApiKeyRow, Database } from '../db/schema.js'
import { revokeInTransaction } from './api-key-admin.js'
import { findApiKeyByValue, findLiveBootstrapKeys, insertApiKeyIfAbsent } from './api-key-repository.js'
import { ADMIN_TEAM } from './scopes.js'

/** Which setting made the key: the previous key of the same setting is revoked when its value changes. */
export type BootstrapSource = 'BROKER_ADMIN_KEY' | 'dev'

export type BootstrapOutcome =
  /** Valid now; `revoked` lists the ids of keys earlier values of the setting had made. */
  | { kind: 'created' | 'kept'; row: ApiKeyRow; revoked: string[] }
  /** The value was revoked: it stays revoked, and the previous keys stay as they are. */
  | { kind: 'revoked'; row: ApiKeyRow }
  /** The value is a key issued another way (API, CLI, another setting): left exactly as it is. */
  | { kind: 'foreign'; row: ApiKeyRow }

const BOOT: Actor = { kind: 'system', name: 'boot' }

export async function bootstrapAdminKey(
  db: Kysely<Database>,
  key: string,
  source: BootstrapSource,
  name: string
): Promise<BootstrapOutcome> {
  return await db.transaction().execute(async (tx) => {
    let row = await findApiKeyByValue(tx, key)
    let kind: 'created' | 'kept' = 'kept'
    if (row === undefined) {
      row = await insertApiKeyIfAbsent(
        tx,
        { team: ADMIN_TEAM, name, scopes: ['admin'], createdBy: 'boot', bootstrap: source },
        key
      )
      if (row !== undefined) {
        kind = 'created'
        await appendAuditIn(tx, {
          actor: BOOT,
          action: 'api_key.create',
          requestId: null,
          outcome: 'success',
          changedFields: ['team', 'name', 'scopes'],
          detail: { apiKeyId: row.id, team: row.team, scopes: ['admin'], bootstrap: source }
        })
      } else {
        // Another replica booting with the same value inserted it first (its commit is visible now).
        row = await findApiKeyByValue(tx, key)
        if (row === undefined) throw new Error(`bootstrap key of ${source} vanished while being created`)
      }
    }
    if (row.revoked_at !== null) return { kind: 'revoked', row }
    if (row.bootstrap !== source) return { kind: 'foreign', row }
    const revoked: string[] = []
    for (const previous of await findLiveBootstrapKeys(tx, source, row.id)) {
      const done = await revokeInTransaction(tx, { actor: BOOT, requestId: null }, previous.id, `${source} changed`)
      if (done !== undefined) revoked.push(done.id)
    }
    return { kind, row, revoked }
  })
}
