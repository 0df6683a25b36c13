// Issuing, listing and revoking API keys, each change audited with the key row in one transaction, each listing
// audited once read. Shared by the admin routes, the keys CLI and the boot, so all leave the same trail.
import { sql, type Kysely } from 'kysely'
import { actorLabel, appendAuditIn, type AuditContext, type AuditLog } from '../audit/audit-log.js'
import { catalog } from '../catalog/catalog.js'
import type { ApiKeyRow, Database } from '../db/schema.js'
import { AppError, type FieldProblem } from '../errors/app-error.js'
import { cursorPosition } from '../errors/cursor-problem.js'
import { listFilters, pageOf, rowsForPage, type Page } from '../shared/paging.js'
import {
  findApiKey,
  findTeamCollision,
  insertApiKey,
  listApiKeys,
  revokeApiKeyRow,
  type NewApiKey
} from './api-key-repository.js'
import { toApiKeyResource, type ApiKeyResource, type CreateApiKeyRequest } from './api-key-resource.js'
import { REVOCATION_CHANNEL } from './revocation-listener.js'
import { ADMIN_TEAM } from './scopes.js'

export interface ApiKeyDeps {
  db: Kysely<Database>
  audit: AuditLog
}

/** Team names nobody may take, compared case-insensitively: they read as the admins' team. */
const RESERVED_TEAMS = ['admin', 'admins', 'administrator']

/** The key itself is in the answer only: stored as a hash, never audited, never shown again. */
export async function issueApiKey(
  deps: ApiKeyDeps,
  ctx: AuditContext,
  input: CreateApiKeyRequest
): Promise<ApiKeyResource & { key: string }> {
  const scopes = [...new Set(input.scopes)]
  const newKey = await checkedNewKey(deps.db, { ...input, scopes })
  return await deps.db.transaction().execute(async (tx) => {
    const { row, key } = await insertApiKey(tx, { ...newKey, createdBy: actorLabel(ctx.actor) })
    await deps.audit.appendIn(tx, {
      ...ctx,
      action: 'api_key.create',
      outcome: 'success',
      changedFields: [
        'team',
        'name',
        'scopes',
        ...(newKey.sandboxes != null ? ['sandboxes'] : []),
        ...(newKey.connectionSpecs != null ? ['connectionSpecs'] : [])
      ],
      // Which access was granted to whom is the point of this row; the free-text name is left out.
      detail: {
        apiKeyId: row.id,
        team: row.team,
        scopes,
        sandboxes: row.sandboxes,
        connectionSpecs: row.connection_specs
      }
    })
    return { ...toApiKeyResource(row), key }
  })
}

/**
 * Admin keys belong to ADMIN_TEAM and carry no limits; every other key names a team nobody else's key could be
 * mistaken for, and only connection specs the catalogue has.
 */
async function checkedNewKey(db: Kysely<Database>, input: CreateApiKeyRequest): Promise<NewApiKey> {
  const sandboxes = input.sandboxes ?? null
  const connectionSpecs = input.connectionSpecs ?? null
  if (input.scopes.includes('admin')) {
    const problems: FieldProblem[] = []
    if (input.team !== undefined)
      problems.push({ path: '/team', message: 'admin keys belong to no team (they act for every team); omit team' })
    if (sandboxes !== null)
      problems.push({ path: '/sandboxes', message: 'admin keys act in every sandbox; limits are for team keys' })
    if (connectionSpecs !== null)
      problems.push({
        path: '/connectionSpecs',
        message: 'admin keys act on every connection spec; limits are for team keys'
      })
    if (problems.length > 0)
      throw new AppError(
        'validation_failed',
        `An admin key cannot be issued like this: ${problems.map((p) => p.message).join('; ')}.`,
        { errors: problems }
      )
    return { team: ADMIN_TEAM, name: input.name, scopes: input.scopes }
  }
  const team = input.team
  if (team === undefined)
    throw new AppError('validation_failed', 'team is required for keys without the admin scope.', {
      errors: [{ path: '/team', message: 'required: the team the key acts for' }]
    })
  if (RESERVED_TEAMS.includes(team.toLowerCase())) {
    throw new AppError('validation_failed', `The team name "${team}" is reserved; choose another.`, {
      errors: [{ path: '/team', message: 'reserved name' }]
    })
  }
  const unknown = (connectionSpecs ?? []).flatMap((id, i) =>
    catalog.some((spec) => spec.id === id)
      ? []
      : [{ path: `/connectionSpecs/${i}`, message: `unknown connection spec "${id}"` }]
  )
  if (unknown.length > 0) {
    throw new AppError(
      'validation_failed',
      `Unknown connection spec id; send ids from GET /v1/connection-specs: ${catalog.map((s) => `${s.id} (${s.name})`).join(', ')}.`,
      { errors: unknown }
    )
  }
  const collision = await findTeamCollision(db, team)
  if (collision?.kind === 'former_admin_team') {
    throw new AppError(
      'conflict',
      `Admin keys used to belong to team "${team}", and its audit history holds their rows; choose another team name.`,
      { errors: [{ path: '/team', message: 'a former admin team' }] }
    )
  }
  if (collision?.kind === 'case_variant') {
    throw new AppError(
      'conflict',
      `Team "${collision.existing}" exists; a team differing only in case would be mistaken for it. Send "${collision.existing}" or another name.`,
      { errors: [{ path: '/team', message: `differs from "${collision.existing}" only in case` }] }
    )
  }
  return { team, name: input.name, scopes: input.scopes, sandboxes, connectionSpecs }
}

export interface ApiKeyPageQuery {
  team?: string
  limit: number
  cursor?: string
}

/** A page of keys (never the key nor its hash), audited once read: who holds which key is itself sensitive. */
export async function listApiKeyPage(
  deps: ApiKeyDeps,
  ctx: AuditContext,
  query: ApiKeyPageQuery
): Promise<Page<ApiKeyResource>> {
  const afterId = cursorPosition(query.cursor)
  const rows = await listApiKeys(deps.db, query.team === undefined ? {} : { team: query.team }, {
    limit: rowsForPage(query.limit),
    ...(afterId !== undefined ? { afterId } : {})
  })
  const page = pageOf(rows, query.limit, (row) => row.id)
  await deps.audit.append({
    ...ctx,
    action: 'api_key.list',
    outcome: 'success',
    detail: { filters: listFilters(query), returned: page.items.length }
  })
  return { items: page.items.map(toApiKeyResource), nextCursor: page.nextCursor }
}

/**
 * Revokes at once: the commit notifies every replica (REVOCATION_CHANNEL), whose caller caches forget the key, so
 * its next request is looked up and refused; the replica that revoked also forgets it directly. Revoking a revoked key changes nothing and says so; an unknown id is not_found.
 */
export async function revokeApiKey(
  deps: ApiKeyDeps,
  ctx: AuditContext,
  id: string
): Promise<{ key: ApiKeyResource; alreadyRevoked: boolean }> {
  return await deps.db.transaction().execute(async (tx) => {
    const revoked = await revokeInTransaction(tx, ctx, id)
    if (revoked === undefined) {
      const existing = await findApiKey(tx, id)
      if (existing === undefined) throw new AppError('not_found', `No API key ${id}.`)
      return { key: toApiKeyResource(existing), alreadyRevoked: true }
    }
    return { key: toApiKeyResource(revoked), alreadyRevoked: false }
  })
}

/**
 * Revokes, audits and announces in the caller's transaction (the boot's too, which has no AuditLog: a row in a
 * transaction needs none); undefined when the key was unknown or revoked.
 */
export async function revokeInTransaction(
  tx: Kysely<Database>,
  ctx: AuditContext,
  id: string,
  reason?: string
): Promise<ApiKeyRow | undefined> {
  const revoked = await revokeApiKeyRow(tx, id, new Date())
  if (revoked === undefined) return undefined
  await appendAuditIn(tx, {
    ...ctx,
    action: 'api_key.revoke',
    outcome: 'success',
    changedFields: ['revokedAt'],
    detail: { apiKeyId: revoked.id, team: revoked.team, ...(reason !== undefined ? { reason } : {}) }
  })
  await sql`select pg_notify(${REVOCATION_CHANNEL}, ${revoked.id})`.execute(tx)
  return revoked
}
