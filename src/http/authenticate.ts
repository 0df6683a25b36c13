// Bearer API keys on every /v1 route; each route names the scope it needs and its audit action.
// Callers without a valid key are limited per client address before any database work (no usable header: every
// request counts; a key the database does not know: every failed lookup counts), and their refusals are tallied,
// one audit row per source, reason and minute, never naming a connection. Refusals of a valid key (403 scope,
// 404 missing or another team's connection) stay rows of their own. Per-key rate limiting sits between the key
// lookup and the scope check, so a keyed flood is refused before it can write audit rows.
import rateLimit from '@fastify/rate-limit'
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'
import { keyActor, type AuditContext, type AuditLog } from '../audit/audit-log.js'
import type { DenialReason, DenialTally } from '../audit/denial-tally.js'
import { hashApiKey } from '../auth/api-key-repository.js'
import type { CallerCache } from '../auth/caller-cache.js'
import type { Quota, RateLimiter } from '../auth/rate-limiter.js'
import { hasScope, type Caller, type Scope } from '../auth/scopes.js'
import type { RequestContext } from '../connections/connection-deps.js'
import { AppError } from '../errors/app-error.js'
import { BEARER, sendProblem } from './error-handler.js'

declare module 'fastify' {
  interface FastifyContextConfig {
    /** The scope a key needs (`any`: any valid key); undefined for open routes, which take no key. */
    scope?: Scope | 'any'
    /** Audit action of the route, e.g. connection.read: named by the denials written here (its use case audits the rest). */
    action?: string
  }
  interface FastifyRequest {
    caller: Caller | undefined
    /** Set when the request was refused for want of a valid key (its log lines drop to debug). */
    deniedWithoutKey: boolean
  }
}

/** The caller of an authenticated route (the hook guarantees it is set). */
export function callerOf(request: FastifyRequest): Caller {
  if (request.caller === undefined) throw new AppError('unauthorized', 'This route needs an API key.')
  return request.caller
}

/** Who asks in this request, for the connection use cases. */
export const requestContextOf = (request: FastifyRequest): RequestContext => ({
  caller: callerOf(request),
  requestId: request.id
})

/** Who acts in this request, for the use cases that audit under an actor (audit, API keys). */
export const auditContextOf = (request: FastifyRequest): AuditContext => ({
  actor: keyActor(callerOf(request)),
  requestId: request.id
})

export interface AuthenticationOptions {
  /** Resolves presented keys (through its cache). */
  callers: CallerCache
  /** Absent: no per-key rate limit. */
  rateLimiter?: RateLimiter
  /** Per client address a minute, for requests without a valid key; 0: unlimited. */
  unauthPerMinute: number
  /** Counts refusals of requests without a valid key into aggregated audit rows. */
  denials: DenialTally
  /** How long a 429 for want of a valid key is held back (the tarpit); default 1 s. */
  refusalDelayMs?: number
}

/** What an Authorization header offers. */
export type Credential = { kind: 'none' } | { kind: 'malformed' } | { kind: 'bearer'; key: string }

export function credentialOf(header: string | undefined): Credential {
  if (header === undefined) return { kind: 'none' }
  const key = /^Bearer\s+(\S+)\s*$/i.exec(header)?.[1]
  return key === undefined ? { kind: 'malformed' } : { kind: 'bearer', key }
}

/** Whether a route needs a key. */
export const needsKey = (request: FastifyRequest): boolean => request.routeOptions.config.scope !== undefined

const MINUTE_MS = 60_000

// Made once: a refusal is the flood's hot path, and an Error captures a stack trace when it is made.
const NO_KEY = new AppError('unauthorized', 'Send an API key as "Authorization: Bearer <key>".')
const UNKNOWN_KEY = new AppError(
  'unauthorized',
  'The API key is unknown or revoked. Send "Authorization: Bearer <key>" with a current key.'
)
const TOO_MANY_ATTEMPTS = new AppError(
  'rate_limited',
  'Too many requests without a valid API key from this address. Retry after the seconds in Retry-After, with "Authorization: Bearer <key>" and a current key.'
)

type AddressLimit = ReturnType<FastifyInstance['createRateLimit']>
type LimitState = Extract<Awaited<ReturnType<AddressLimit>>, { isAllowed: false }>

export async function registerAuthentication(
  app: FastifyInstance,
  audit: AuditLog,
  options: AuthenticationOptions
): Promise<void> {
  app.decorateRequest('caller', undefined)
  app.decorateRequest('deniedWithoutKey', false)
  // Only as a store of per-address counters (an LRU, IPv6 grouped by /64): we decide and answer ourselves, so the
  // refusal is a problem+json without going through the error handler's log line.
  await app.register(rateLimit, { global: false })
  const max = options.unauthPerMinute
  const limits =
    max > 0
      ? {
          withoutKey: app.createRateLimit({ max, timeWindow: MINUTE_MS }),
          failedLookups: app.createRateLimit({ max, timeWindow: MINUTE_MS })
        }
      : undefined
  const { denials, callers } = options
  const refusalDelayMs = options.refusalDelayMs ?? 1000
  const provenKeys = new RecentlyValidKeys()
  /** Key lookups in flight per limited address (the limiter's key); an entry lives only while one runs. */
  const lookupsUnderWay = new Map<string, number>()

  const deny = async (
    request: FastifyRequest,
    reply: FastifyReply,
    reason: DenialReason,
    state: LimitState | undefined
  ): Promise<FastifyReply> => {
    request.deniedWithoutKey = true
    const over = reason === 'too many attempts'
    const route = `${request.method} ${request.routeOptions.url ?? ''}`
    denials.record({ source: request.ip, reason, status: over ? 429 : 401, route, requestId: request.id })
    request.log.debug({ reason, source: request.ip }, 'request without a valid API key refused')
    // A window not yet opened (refused for lookups still under way) resets a whole window from now at the latest.
    const resetSeconds =
      state === undefined ? 60 : state.ttlInSeconds > 0 ? state.ttlInSeconds : Math.ceil(state.timeWindow / 1000)
    if (state !== undefined) {
      setQuotaHeaders(reply, { limit: state.max, remaining: over ? 0 : state.remaining, resetSeconds })
    }
    if (!over) {
      // RFC 6750 §3.1: a key that was presented but is not valid is invalid_token; an Authorization header that is
      // not "Bearer <key>" is invalid_request; no header at all gets the bare challenge.
      if (reason === 'unknown or revoked key')
        void reply.header(
          'www-authenticate',
          `${BEARER}, error="invalid_token", error_description="unknown or revoked API key"`
        )
      else if (reason === 'malformed authorization')
        void reply.header(
          'www-authenticate',
          `${BEARER}, error="invalid_request", error_description="expected Authorization: Bearer <key>"`
        )
      return sendProblem(reply, request, reason === 'unknown or revoked key' ? UNKNOWN_KEY : NO_KEY)
    }
    void reply.header('retry-after', resetSeconds)
    // The tarpit: a client looping on one connection gets one answer per delay, so a flood costs us one timer per
    // connection instead of a response per request (on a small machine, writing the answers was most of its cost).
    if (refusalDelayMs > 0) await new Promise((resolve) => setTimeout(resolve, refusalDelayMs))
    return sendProblem(reply, request, TOO_MANY_ATTEMPTS)
  }

  app.addHook('onRequest', async (request, reply) => {
    const scope = request.routeOptions.config.scope
    if (scope === undefined) return
    const action = request.routeOptions.config.action ?? 'unknown'
    const credential = credentialOf(request.headers.authorization)
    if (credential.kind !== 'bearer') {
      const state = limitState(await limits?.withoutKey(request))
      return await deny(
        request,
        reply,
        state?.isExceeded === true
          ? 'too many attempts'
          : credential.kind === 'none'
            ? 'no key'
            : 'malformed authorization',
        state
      )
    }
    // A remembered key costs nothing; any other is looked up in the database, which an address that already
    // failed too often this minute does not get to do.
    let caller = callers.peek(credential.key)
    if (caller === undefined) {
      // A key found valid lately is looked up whatever its address did: a flood from a shared address (a NAT, a
      // proxy) must not lock out a valid key once its cache entry expires. Guessing such a key is the whole attack.
      const before = provenKeys.has(credential.key)
        ? undefined
        : limitState(await limits?.failedLookups(request, { increment: false }))
      // Lookups still under way count as failures-to-be, so a burst of concurrent attempts cannot overshoot.
      const underWay = before === undefined ? 0 : (lookupsUnderWay.get(before.key) ?? 0)
      if (before !== undefined && before.remaining - underWay <= 0)
        return await deny(request, reply, 'too many attempts', { ...before, remaining: 0 })
      if (before !== undefined) lookupsUnderWay.set(before.key, underWay + 1)
      try {
        caller = await callers.find(credential.key)
      } finally {
        if (before !== undefined) release(lookupsUnderWay, before.key)
      }
      if (caller === undefined)
        return await deny(request, reply, 'unknown or revoked key', limitState(await limits?.failedLookups(request)))
      provenKeys.add(credential.key)
    }
    const decision = options.rateLimiter?.take(caller.keyId)
    if (decision !== undefined) setQuotaHeaders(reply, decision.quota)
    if (decision !== undefined && !decision.allowed) {
      request.log.warn(
        { keyId: caller.keyId, team: caller.team, retryAfterSeconds: decision.retryAfterSeconds },
        'API key over its rate limit'
      )
      throw new AppError(
        'rate_limited',
        `This API key is over its request budget. Retry in ${decision.retryAfterSeconds} s.`,
        { retryAfterSeconds: decision.retryAfterSeconds }
      )
    }
    if (scope !== 'any' && !hasScope(caller, scope)) {
      await audit.append({
        actor: keyActor(caller),
        action,
        connectionId: connectionIdOf(request),
        requestId: request.id,
        outcome: 'denied',
        detail: { status: 403, missingScope: scope }
      })
      throw new AppError('forbidden', `This API key lacks the "${scope}" scope needed here.`)
    }
    request.caller = caller
  })
  // A 404 to an authenticated caller is denied access as far as the caller can tell: a missing connection and
  // another team's look the same, and the row says no more (the caller's team can read it). A 412 (If-Match not
  // current) is a change refused before anything was done: a denied row too.
  app.addHook('onError', async (request, _reply, error) => {
    if (!(error instanceof AppError) || request.caller === undefined) return
    if (error.code !== 'not_found' && error.code !== 'precondition_failed') return
    await audit.append({
      actor: keyActor(request.caller),
      action: request.routeOptions.config.action ?? 'unknown',
      connectionId: connectionIdOf(request),
      requestId: request.id,
      outcome: 'denied',
      detail: { status: error.status }
    })
  })
}

/**
 * The quota as draft-ietf-httpapi-ratelimit-headers-06 says it: RateLimit-Limit, -Remaining, -Reset (seconds) and
 * RateLimit-Policy (`<limit>;w=60`: per 60 s window). Set before the handler runs, so every answer carries them.
 */
function setQuotaHeaders(reply: FastifyReply, quota: Quota): void {
  void reply.header('ratelimit-limit', quota.limit)
  void reply.header('ratelimit-remaining', quota.remaining)
  void reply.header('ratelimit-reset', quota.resetSeconds)
  void reply.header('ratelimit-policy', `${quota.limit};w=60`)
}

/** Hashes of keys a lookup found valid within the last hour, the newest 10 000 (revocation is still looked up). */
class RecentlyValidKeys {
  readonly #expiries = new Map<string, number>()

  has(key: string): boolean {
    const expiresAt = this.#expiries.get(hashApiKey(key))
    return expiresAt !== undefined && expiresAt > Date.now()
  }

  add(key: string): void {
    const hash = hashApiKey(key)
    this.#expiries.delete(hash)
    if (this.#expiries.size >= 10_000) {
      const oldest = this.#expiries.keys().next()
      if (oldest.done !== true) this.#expiries.delete(oldest.value)
    }
    this.#expiries.set(hash, Date.now() + 3_600_000)
  }
}

function release(counts: Map<string, number>, key: string): void {
  const left = (counts.get(key) ?? 1) - 1
  if (left <= 0) counts.delete(key)
  else counts.set(key, left)
}

/** We never give the limiter an allow list, so it always answers with counts. */
function limitState(result: Awaited<ReturnType<AddressLimit>> | undefined): LimitState | undefined {
  return result === undefined || result.isAllowed ? undefined : result
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i

/** The connection a request names, for the audit row of a caller with a valid key. */
export function connectionIdOf(request: FastifyRequest): string | null {
  const id = (request.params as { id?: unknown } | undefined)?.id
  return typeof id === 'string' && UUID.test(id) && request.url.startsWith('/v1/connections/') ? id : null
}
