// Bearer API keys on every /v1 route; each route names the scope it needs and its audit action.
// Denials are audited: 401 and 403 here, 404 (missing, or another team's) when a handler throws it.
// Per-key rate limiting sits between the two checks, so a flood is refused before it can write audit rows.
import type { FastifyInstance, FastifyRequest } from 'fastify'
import type { Kysely } from 'kysely'
import { appendAudit, keyActor } from '../audit/audit-log.js'
import type { CallerCache } from '../auth/caller-cache.js'
import type { RateLimiter } from '../auth/rate-limiter.js'
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

export interface AuthenticationOptions {
  /** Resolves presented keys (through its cache). */
  callers: CallerCache
  /** Absent: no rate limit. */
  rateLimiter?: RateLimiter
}

export function registerAuthentication (app: FastifyInstance, db: Kysely<Database>, options: AuthenticationOptions): void {
  app.decorateRequest('caller', undefined)
  documentScopes(app)
  app.addHook('onRequest', async (request) => {
    const scope = request.routeOptions.config.scope
    if (scope === undefined) return
    const action = request.routeOptions.config.action ?? 'unknown'
    const header = request.headers.authorization
    const match = header === undefined ? null : /^Bearer\s+(\S+)\s*$/i.exec(header)
    const caller = match?.[1] === undefined ? undefined : await options.callers.find(match[1])
    if (caller === undefined) {
      await appendAudit(db, { actor: { kind: 'anonymous' }, action, connectionId: connectionIdOf(request), requestId: request.id, outcome: 'denied', detail: { status: 401, reason: header === undefined ? 'no key' : 'unknown or revoked key' } })
      throw new AppError('unauthorized', header === undefined
        ? 'Send an API key as "Authorization: Bearer <key>".'
        : 'The API key is unknown or revoked. Send "Authorization: Bearer <key>" with a current key.')
    }
    const decision = options.rateLimiter?.take(caller.keyId)
    if (decision !== undefined && !decision.allowed) {
      request.log.warn({ keyId: caller.keyId, team: caller.team, retryAfterSeconds: decision.retryAfterSeconds }, 'API key over its rate limit')
      throw new AppError('rate_limited', `This API key is over its request budget. Retry in ${decision.retryAfterSeconds} s.`, { retryAfterSeconds: decision.retryAfterSeconds })
    }
    if (scope !== 'any' && !hasScope(caller, scope)) {
      await appendAudit(db, { actor: keyActor(caller), action, connectionId: connectionIdOf(request), requestId: request.id, outcome: 'denied', detail: { status: 403, missingScope: scope } })
      throw new AppError('forbidden', `This API key lacks the "${scope}" scope needed here.`)
    }
    request.caller = caller
  })
  // A 404 to an authenticated caller is denied access as far as the caller can tell: a missing connection and
  // another team's look the same, and the row says no more (the caller's team can read it).
  app.addHook('onError', async (request, _reply, error) => {
    if (!(error instanceof AppError) || error.code !== 'not_found' || request.caller === undefined) return
    await appendAudit(db, { actor: keyActor(request.caller), action: request.routeOptions.config.action ?? 'unknown', connectionId: connectionIdOf(request), requestId: request.id, outcome: 'denied', detail: { status: 404 } })
  })
}

/** Each route's scope appears in the OpenAPI document, as the role its bearer key needs. */
function documentScopes (app: FastifyInstance): void {
  app.addHook('onRoute', (route) => {
    const scope = route.config?.scope
    if (scope === undefined || route.schema === undefined || 'security' in route.schema) return
    route.schema = { ...route.schema, security: [{ apiKey: scope === 'any' ? [] : [scope] }] }
  })
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i

/** The connection a request names, for its audit row. */
export function connectionIdOf (request: FastifyRequest): string | null {
  const id = (request.params as { id?: unknown } | undefined)?.id
  return typeof id === 'string' && UUID.test(id) && request.url.startsWith('/v1/connections/') ? id : null
}
