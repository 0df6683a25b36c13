// ImsTokenSource: the broker's own Adobe IMS access token (client credentials), cached and refreshed once at a time.
// IMS throttles integrations that mint too many tokens, so every Flow Service call shares one cached token.
import { randomUUID } from 'node:crypto'
import type { Tracer } from '@opentelemetry/api'
import { Pool, type Dispatcher } from 'undici'
import { pino, type Logger } from 'pino'
import { classifyFlowServiceFailure, FlowServiceError } from './flow-service-error.js'
import { sendRequest } from './send-request.js'

export interface ImsTokenSourceOptions {
  /** Base URL (https://ims-na1.adobelogin.com) or the token endpoint itself (…/ims/token/v3): see imsTokenEndpoint. */
  imsUrl: string
  clientId: string
  clientSecret: string
  /** Comma-separated, as IMS takes them. */
  scopes: string
  timeoutMs: number
  logger?: Pick<Logger, 'info' | 'warn' | 'debug'>
  /** Used instead of a Pool of our own (tests pass a MockAgent); the caller then closes it. */
  dispatcher?: Dispatcher
  /** Wall clock in ms; tests pass a fake one. */
  now?: () => number
  /** A client span per token call; absent when tracing is off. */
  tracer?: Tracer | undefined
}

interface CachedToken {
  token: string
  refreshAt: number
  expiresAt: number
}

/** A refresh may start this long before expiry at the earliest... */
const MIN_REFRESH_LEAD_MS = 5 * 60_000
/** ...or this share of the lifetime, whichever leaves more margin. */
const REFRESH_LEAD_SHARE = 0.1
/** A token this close to expiry is not handed out: the call it authorises would fail mid-flight. */
const EXPIRY_SKEW_MS = 30_000
/** After a failed early refresh, the still-valid token is used and IMS left alone for this long. */
const FAILED_REFRESH_PAUSE_MS = 30_000
/** IMS v3 answers expires_in in seconds; older endpoints used milliseconds. Nothing lives ten days. */
const MAX_PLAUSIBLE_SECONDS = 10 * 24 * 3600

export class ImsTokenSource {
  readonly #options: ImsTokenSourceOptions
  readonly #url: URL
  readonly #dispatcher: Dispatcher
  readonly #ownsDispatcher: boolean
  readonly #logger: Pick<Logger, 'info' | 'warn' | 'debug'>
  readonly #now: () => number
  #cached: CachedToken | undefined
  #inflight: Promise<string> | undefined
  #pausedUntil = 0

  constructor(options: ImsTokenSourceOptions) {
    this.#options = options
    this.#url = imsTokenEndpoint(options.imsUrl)
    this.#ownsDispatcher = options.dispatcher === undefined
    this.#dispatcher =
      options.dispatcher ??
      new Pool(this.#url.origin, {
        connect: { timeout: options.timeoutMs },
        headersTimeout: options.timeoutMs,
        bodyTimeout: options.timeoutMs,
        // A token call happens about once a day per replica; a couple of sockets is plenty.
        connections: 2
      })
    this.#logger = options.logger ?? pino({ level: 'silent' })
    this.#now = options.now ?? Date.now
  }

  /** A valid token: the cached one, or a fresh one shared by every caller waiting at the same time. */
  async getToken(): Promise<string> {
    const cached = this.#cached
    const now = this.#now()
    if (cached !== undefined && (now < cached.refreshAt || (now < this.#pausedUntil && this.#usable(cached)))) {
      return cached.token
    }
    this.#inflight ??= this.#refresh().finally(() => {
      this.#inflight = undefined
    })
    try {
      return await this.#inflight
    } catch (error) {
      // An early refresh failed but the old token still works: keep serving it rather than fail every call.
      const still = this.#cached
      if (still !== undefined && this.#usable(still)) {
        this.#pausedUntil = this.#now() + FAILED_REFRESH_PAUSE_MS
        return still.token
      }
      throw error
    }
  }

  /** After a 401 from Flow Service: forget `token` so the next getToken() mints a new one (unless already done). */
  invalidate(token: string): void {
    if (this.#cached?.token === token) {
      this.#cached = undefined
      this.#pausedUntil = 0
    }
  }

  async close(): Promise<void> {
    this.#cached = undefined
    if (this.#ownsDispatcher) await this.#dispatcher.close()
  }

  #usable(cached: CachedToken): boolean {
    return this.#now() < cached.expiresAt - EXPIRY_SKEW_MS
  }

  async #refresh(): Promise<string> {
    const { clientId, clientSecret, scopes, timeoutMs } = this.#options
    const requestId = randomUUID()
    const form = new URLSearchParams({
      grant_type: 'client_credentials',
      client_id: clientId,
      client_secret: clientSecret,
      scope: scopes
    })
    let answer
    try {
      answer = await sendRequest(this.#dispatcher, {
        operation: 'getToken',
        origin: this.#url.origin,
        path: this.#url.pathname,
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded', accept: 'application/json' },
        body: form.toString(),
        timeoutMs,
        requestId,
        tracer: this.#options.tracer
      })
    } catch (error) {
      this.#logFailure(error)
      throw error
    }
    const failure =
      answer.status !== 200
        ? classifyFlowServiceFailure({ operation: 'getToken', response: answer, requestId })
        : undefined
    const grant = failure === undefined ? parseGrant(answer.body) : undefined
    if (grant === undefined) {
      const error =
        failure ??
        classifyFlowServiceFailure({
          operation: 'getToken',
          response: { status: answer.status, headers: answer.headers },
          requestId,
          error: new Error('IMS answered 200 without access_token/expires_in')
        })
      this.#logFailure(error)
      throw error
    }

    const obtainedAt = this.#now()
    const lifetimeMs = grant.expiresIn > MAX_PLAUSIBLE_SECONDS ? grant.expiresIn : grant.expiresIn * 1000
    // Refresh at 90% of the lifetime or 5 minutes before expiry, whichever comes first; never in the first half,
    // so a short-lived token is not re-minted on every call.
    const lead = Math.min(Math.max(lifetimeMs * REFRESH_LEAD_SHARE, MIN_REFRESH_LEAD_MS), lifetimeMs / 2)
    this.#cached = { token: grant.token, refreshAt: obtainedAt + lifetimeMs - lead, expiresAt: obtainedAt + lifetimeMs }
    this.#pausedUntil = 0
    this.#logger.info({ expiresInSeconds: Math.round(lifetimeMs / 1000) }, 'IMS access token obtained')
    return grant.token
  }

  #logFailure(error: unknown): void {
    // Only the classified facts: the request carried the client secret and nothing of it may reach a log line.
    const facts =
      error instanceof FlowServiceError
        ? { kind: error.kind, status: error.status, code: error.code, message: error.downstreamMessage }
        : {}
    this.#logger.warn({ ims: facts }, 'IMS token request failed')
  }
}

const TOKEN_PATH = '/ims/token/v3'

/**
 * The client-credentials endpoint from IMS_URL as people paste it: the base (https://ims-na1.adobelogin.com, or a
 * gateway's base path) or the token endpoint Adobe's developer console shows (…/ims/token/v3). Another IMS endpoint
 * (an older token version, the JWT exchange) is refused: calling it would fail every create with a 503.
 */
export function imsTokenEndpoint(imsUrl: string): URL {
  const url = new URL(imsUrl)
  if (url.search !== '' || url.hash !== '')
    throw new Error(
      `takes no query or fragment; give the base URL (e.g. https://ims-na1.adobelogin.com) or ${TOKEN_PATH} on it`
    )
  const base = url.pathname.replace(/\/+$/, '')
  if (base.endsWith(TOKEN_PATH)) url.pathname = base
  else if (/\/ims(\/|$)/.test(base)) {
    throw new Error(
      `points at ${base}, which is not the client-credentials token endpoint: give the base URL (e.g. https://ims-na1.adobelogin.com) or ${url.origin}${base.replace(/\/ims(\/.*)?$/, '')}${TOKEN_PATH}`
    )
  } else url.pathname = `${base}${TOKEN_PATH}`
  return url
}

function parseGrant(text: string): { token: string; expiresIn: number } | undefined {
  let json: unknown
  try {
    json = JSON.parse(text)
  } catch {
    return undefined
  }
  if (typeof json !== 'object' || json === null) return undefined
  const { access_token: token, expires_in: expiresIn } = json as { access_token?: unknown; expires_in?: unknown }
  const seconds = typeof expiresIn === 'string' ? Number(expiresIn) : expiresIn
  if (
    typeof token !== 'string' ||
    token === '' ||
    typeof seconds !== 'number' ||
    !Number.isFinite(seconds) ||
    seconds <= 0
  )
    return undefined
  return { token, expiresIn: seconds }
}
