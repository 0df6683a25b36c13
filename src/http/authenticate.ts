// Bearer API keys on every /v1 route; each route names the scope it needs. Denials are audited.
import type { FastifyInstance, FastifyRequest } from 'fastify'
import type { Kysely } from 'kysely'
import { appendAudit } from '../audit/audit-log.js'
import { findCallerByKey } from '../auth/api-key-repository.js'
import { hasScope, type Caller, type Scope } from '../auth/scopes.js'
import type { Database } from '../db/schema.js'
import { AppError } from '../errors/app-error.js'

declare module 'fastify' {
  interface FastifyContextConfig {
    /** The scope a key needs; undefined with `auth: 'none'` for open routes. */
    scope?: Scope | 'any'
    /** Audit action name of the route, e.g. connection.read. */
    action?: string
  }
  interface FastifyRequest {
    caller: Caller | undefined
  }
}

/** The caller of an authenticated route (the hook guarantees it is set). */
export function callerOf (request: FastifyRequest): Caller {
  if (request.caller === undefined) throw new AppError('unauthorized', 'This route needs an API key.')
  return request.caller
}

export function registerAuthentication (app: FastifyInstance, db: Kysely<Database>): void {
  app.decorateRequest('caller', undefined)
  app.addHook('onRequest', async (request) => {
    const scope = request.routeOptions.config.scope
    if (scope === undefined) return
    const action = request.routeOptions.config.action ?? 'unknown'
    const header = request.headers.authorization
    const match = header === undefined ? null : /^Bearer\s+(\S+)\s*$/i.exec(header)
    const caller = match?.[1] === undefined ? undefined : await findCallerByKey(db, match[1])
    if (caller === undefined) {
      await appendAudit(db, { actor: { kind: 'anonymous' }, action, connectionId: connectionIdOf(request), requestId: request.id, outcome: 'denied', detail: { status: 401, reason: header === undefined ? 'no key' : 'unknown or revoked key' } })
      throw new AppError('unauthorized', header === undefined
        ? 'Send an API key as "Authorization: Bearer <key>".'
        : 'The API key is unknown or revoked. Send "Authorization: Bearer <key>" with a current key.')
    }
    if (scope !== 'any' && !hasScope(caller, scope)) {
      await appendAudit(db, { actor: { kind: 'key', team: caller.team, keyId: caller.keyId }, action, connectionId: connectionIdOf(request), requestId: request.id, outcome: 'denied', detail: { status: 403, missingScope: scope } })
      throw new AppError('forbidden', `This API key lacks the "${scope}" scope needed here.`)
    }
    request.caller = caller
  })
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i

function connectionIdOf (request: FastifyRequest): string | null {
  const id = (request.params as { id?: unknown } | undefined)?.id
  return typeof id === 'string' && UUID.test(id) && request.url.startsWith('/v1/connections/') ? id : null
}
