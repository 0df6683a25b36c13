// API keys: created random and shown once, stored as sha256 hashes, looked up by hash, revoked by time.
import { createHash, randomBytes } from 'node:crypto'
import { sql, type Insertable, type Kysely } from 'kysely'
import { v7 as uuidv7 } from 'uuid'
import type { ApiKeyRow, ApiKeysTable, Database } from '../db/schema.js'
import type { Caller, Scope } from './scopes.js'

const KEY_PREFIX = 'cbk_'

export const hashApiKey = (key: string): string => createHash('sha256').update(key).digest('hex')
export const generateApiKey = (): string => KEY_PREFIX + randomBytes(32).toString('base64url')

export interface NewApiKey {
  team: string
  name: string
  scopes: Scope[]
  createdBy?: string | null
  /** Null or absent: every sandbox. */
  sandboxes?: string[] | null
  /** Null or absent: every connection spec. */
  connectionSpecs?: string[] | null
  /** Which boot setting made it (see bootstrap-keys). */
  bootstrap?: string | null
}
export interface IssuedApiKey {
  row: ApiKeyRow
  key: string
}

const jsonOrNull = (list: string[] | null | undefined): string | null => (list == null ? null : JSON.stringify(list))

const newRow = (input: NewApiKey, key: string): Insertable<ApiKeysTable> => ({
  id: uuidv7(),
  team: input.team,
  name: input.name,
  scopes: JSON.stringify(input.scopes),
  key_hash: hashApiKey(key),
  created_by: input.createdBy ?? null,
  sandboxes: jsonOrNull(input.sandboxes),
  connection_specs: jsonOrNull(input.connectionSpecs),
  bootstrap: input.bootstrap ?? null
})

export async function insertApiKey(
  db: Kysely<Database>,
  input: NewApiKey,
  key = generateApiKey()
): Promise<IssuedApiKey> {
  const row = await db.insertInto('api_keys').values(newRow(input, key)).returningAll().executeTakeFirstOrThrow()
  return { row, key }
}

/** Inserts unless a key with this value exists (another replica booting at the same time); undefined then. */
export async function insertApiKeyIfAbsent(
  db: Kysely<Database>,
  input: NewApiKey,
  key: string
): Promise<ApiKeyRow | undefined> {
  return await db
    .insertInto('api_keys')
    .values(newRow(input, key))
    .onConflict((oc) => oc.column('key_hash').doNothing())
    .returningAll()
    .executeTakeFirst()
}

/** The caller a presented key stands for, or undefined for unknown and revoked keys. */
export async function findCallerByKey(db: Kysely<Database>, key: string): Promise<Caller | undefined> {
  return await findCallerByHash(db, hashApiKey(key))
}

export async function findCallerByHash(db: Kysely<Database>, keyHash: string): Promise<Caller | undefined> {
  const row = await db
    .selectFrom('api_keys')
    .select(['id', 'team', 'scopes', 'revoked_at', 'sandboxes', 'connection_specs'])
    .where('key_hash', '=', keyHash)
    .executeTakeFirst()
  if (row === undefined || row.revoked_at !== null) return undefined
  return {
    keyId: row.id,
    team: row.team,
    scopes: row.scopes as Scope[],
    sandboxes: row.sandboxes,
    connectionSpecs: row.connection_specs
  }
}

export async function findApiKeyByValue(db: Kysely<Database>, key: string): Promise<ApiKeyRow | undefined> {
  return await db.selectFrom('api_keys').selectAll().where('key_hash', '=', hashApiKey(key)).executeTakeFirst()
}

/** Unrevoked keys made at boot from `bootstrap` other than `keepId`. */
export async function findLiveBootstrapKeys(
  db: Kysely<Database>,
  bootstrap: string,
  keepId: string
): Promise<ApiKeyRow[]> {
  return await db
    .selectFrom('api_keys')
    .selectAll()
    .where('bootstrap', '=', bootstrap)
    .where('revoked_at', 'is', null)
    .where('id', '!=', keepId)
    .orderBy('id')
    .execute()
}

/**
 * How a team name collides with what exists: `former admin team` when admin keys used to belong to it (its old
 * audit rows are theirs), or the spelling of an existing team it differs from only in case.
 */
export async function findTeamCollision(
  db: Kysely<Database>,
  team: string
): Promise<{ kind: 'former_admin_team' } | { kind: 'case_variant'; existing: string } | undefined> {
  const lower = team.toLowerCase()
  const former = await db
    .selectFrom('api_keys')
    .select('id')
    .where(sql<string>`lower(former_team)`, '=', lower)
    .limit(1)
    .executeTakeFirst()
  if (former !== undefined) return { kind: 'former_admin_team' }
  const variant = await db
    .selectFrom('api_keys')
    .select('team')
    .where(sql<string>`lower(team)`, '=', lower)
    .where('team', '!=', team)
    .limit(1)
    .executeTakeFirst()
  return variant === undefined ? undefined : { kind: 'case_variant', existing: variant.team }
}

/** A page of keys in id order (uuid v7: creation order), strictly after `afterId`; revoked ones included. */
export async function listApiKeys(
  db: Kysely<Database>,
  filters: { team?: string },
  page: { limit: number; afterId?: string }
): Promise<ApiKeyRow[]> {
  let query = db.selectFrom('api_keys').selectAll()
  if (filters.team !== undefined) query = query.where('team', '=', filters.team)
  if (page.afterId !== undefined) query = query.where('id', '>', page.afterId)
  return await query.orderBy('id').limit(page.limit).execute()
}

export async function findApiKey(db: Kysely<Database>, id: string): Promise<ApiKeyRow | undefined> {
  return await db.selectFrom('api_keys').selectAll().where('id', '=', id).executeTakeFirst()
}

/** Marks the key revoked; undefined when it was unknown or already revoked (the first revocation time stays). */
export async function revokeApiKeyRow(db: Kysely<Database>, id: string, at: Date): Promise<ApiKeyRow | undefined> {
  return await db
    .updateTable('api_keys')
    .set({ revoked_at: at })
    .where('id', '=', id)
    .where('revoked_at', 'is', null)
    .returningAll()
    .executeTakeFirst()
}
