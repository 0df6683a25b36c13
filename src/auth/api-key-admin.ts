// Issuing, listing and revoking API keys, each change audited with the key row in one transaction.
// Shared by the admin routes and the keys CLI, so both leave the same trail.
import { sql, type Kysely } from 'kysely'
import { actorLabel, appendAudit, type Actor } from '../audit/audit-log.js'
import { decodeCursor, encodeCursor } from '../connections/cursor.js'
import type { Database } from '../db/schema.js'
import { AppError } from '../errors/app-error.js'
import { findApiKey, insertApiKey, listApiKeys, revokeApiKeyRow } from './api-key-repository.js'
import { toApiKeyResource, type ApiKeyResource, type CreateApiKeyRequest } from './api-key-resource.js'
import { REVOCATION_CHANNEL } from './revocation-listener.js'

export interface AuditContext { actor: Actor, requestId: string | null }

/** The key itself is in the answer only: stored as a hash, never audited, never shown again. */
export async function issueApiKey (db: Kysely<Database>, ctx: AuditContext, input: CreateApiKeyRequest): Promise<ApiKeyResource & { key: string }> {
  const scopes = [...new Set(input.scopes)]
  return await db.transaction().execute(async (tx) => {
    const { row, key } = await insertApiKey(tx, { ...input, scopes, createdBy: actorLabel(ctx.actor) })
    await appendAudit(tx, {
      actor: ctx.actor,
      action: 'api_key.create',
      requestId: ctx.requestId,
      outcome: 'success',
      changedFields: ['team', 'name', 'scopes'],
      // Which access was granted to whom is the point of this row; the free-text name is left out.
      detail: { apiKeyId: row.id, team: row.team, scopes }
    })
    return { ...toApiKeyResource(row), key }
  })
}

export interface ApiKeyPageQuery { team?: string, limit: number, cursor?: string }

export async function listApiKeyPage (db: Kysely<Database>, query: ApiKeyPageQuery): Promise<{ items: ApiKeyResource[], nextCursor: string | null }> {
  const afterId = query.cursor === undefined ? undefined : decodeCursor(query.cursor)
  const rows = await listApiKeys(db, query.team === undefined ? {} : { team: query.team }, { limit: query.limit + 1, ...(afterId !== undefined ? { afterId } : {}) })
  const page = rows.slice(0, query.limit)
  const last = page.at(-1)
  return { items: page.map(toApiKeyResource), nextCursor: rows.length > query.limit && last !== undefined ? encodeCursor(last.id) : null }
}

/**
 * Revokes at once: the commit notifies every replica (REVOCATION_CHANNEL), whose caller caches forget the key, so
 * its next request is looked up and refused; the replica that revoked also forgets it directly. Revoking a revoked key changes nothing and says so; an unknown id is not_found.
 */
export async function revokeApiKey (db: Kysely<Database>, ctx: AuditContext, id: string): Promise<{ key: ApiKeyResource, alreadyRevoked: boolean }> {
  return await db.transaction().execute(async (tx) => {
    const revoked = await revokeApiKeyRow(tx, id, new Date())
    if (revoked === undefined) {
      const existing = await findApiKey(tx, id)
      if (existing === undefined) throw new AppError('not_found', `No API key ${id}.`)
      return { key: toApiKeyResource(existing), alreadyRevoked: true }
    }
    await appendAudit(tx, {
      actor: ctx.actor,
      action: 'api_key.revoke',
      requestId: ctx.requestId,
      outcome: 'success',
      changedFields: ['revokedAt'],
      detail: { apiKeyId: revoked.id, team: revoked.team }
    })
    await sql`select pg_notify(${REVOCATION_CHANNEL}, ${revoked.id})`.execute(tx)
    return { key: toApiKeyResource(revoked), alreadyRevoked: false }
  })
}
