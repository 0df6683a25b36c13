// API keys: created random and shown once, stored as sha256 hashes, looked up by hash, revoked by time.
import { createHash, randomBytes } from 'node:crypto'
import type { Kysely } from 'kysely'
import { v7 as uuidv7 } from 'uuid'
import type { ApiKeyRow, Database } from '../db/schema.js'
import type { Caller, Scope } from './scopes.js'

const KEY_PREFIX = 'cbk_'

export const hashApiKey = (key: string): string => createHash('sha256').update(key).digest('hex')
export const generateApiKey = (): string => KEY_PREFIX + randomBytes(32).toString('base64url')

export interface NewApiKey { team: string, name: string, scopes: Scope[], createdBy?: string | null }
export interface IssuedApiKey { row: ApiKeyRow, key: string }

export async function insertApiKey (db: Kysely<Database>, input: NewApiKey, key = generateApiKey()): Promise<IssuedApiKey> {
  const row = await db.insertInto('api_keys').values({
    id: uuidv7(),
    team: input.team,
    name: input.name,
    scopes: JSON.stringify(input.scopes),
    key_hash: hashApiKey(key),
    created_by: input.createdBy ?? null
  }).returningAll().executeTakeFirstOrThrow()
  return { row, key }
}

/** The caller a presented key stands for, or undefined for unknown and revoked keys. */
export async function findCallerByKey (db: Kysely<Database>, key: string): Promise<Caller | undefined> {
  return await findCallerByHash(db, hashApiKey(key))
}

export async function findCallerByHash (db: Kysely<Database>, keyHash: string): Promise<Caller | undefined> {
  const row = await db.selectFrom('api_keys').select(['id', 'team', 'scopes', 'revoked_at'])
    .where('key_hash', '=', keyHash).executeTakeFirst()
  if (row === undefined || row.revoked_at !== null) return undefined
  return { keyId: row.id, team: row.team, scopes: row.scopes as Scope[] }
}

/** Ensures a key with exactly this value exists (BROKER_ADMIN_KEY, the dev key); returns its row. */
export async function ensureApiKey (db: Kysely<Database>, key: string, input: NewApiKey): Promise<ApiKeyRow> {
  const existing = await db.selectFrom('api_keys').selectAll().where('key_hash', '=', hashApiKey(key)).executeTakeFirst()
  if (existing !== undefined) {
    if (existing.revoked_at === null) return existing
    return await db.updateTable('api_keys').set({ revoked_at: null }).where('id', '=', existing.id).returningAll().executeTakeFirstOrThrow()
  }
  return (await insertApiKey(db, input, key)).row
}

/** A page of keys in id order (uuid v7: creation order), strictly after `afterId`; revoked ones included. */
export async function listApiKeys (db: Kysely<Database>, filters: { team?: string }, page: { limit: number, afterId?: string }): Promise<ApiKeyRow[]> {
  let query = db.selectFrom('api_keys').selectAll()
  if (filters.team !== undefined) query = query.where('team', '=', filters.team)
  if (page.afterId !== undefined) query = query.where('id', '>', page.afterId)
  return await query.orderBy('id').limit(page.limit).execute()
}

export async function findApiKey (db: Kysely<Database>, id: string): Promise<ApiKeyRow | undefined> {
  return await db.selectFrom('api_keys').selectAll().where('id', '=', id).executeTakeFirst()
}

/** Marks the key revoked; undefined when it was unknown or already revoked (the first revocation time stays). */
export async function revokeApiKeyRow (db: Kysely<Database>, id: string, at: Date): Promise<ApiKeyRow | undefined> {
  return await db.updateTable('api_keys').set({ revoked_at: at })
    .where('id', '=', id).where('revoked_at', 'is', null).returningAll().executeTakeFirst()
}
