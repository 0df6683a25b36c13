// Keeps the Vault client holding a live token: logs in (AppRole, Kubernetes), renews before expiry while Vault
// allows it, and logs in again when it does not (max TTL reached, token revoked). Never logs a token.
import { readFile } from 'node:fs/promises'
import type { Logger } from 'pino'
import type { VaultAuth } from '../../config.js'
import { SecretStoreError } from '../secret-store.js'
import type { VaultClient, VaultLease } from './vault-client.js'
import { toSecretStoreError } from './to-secret-store-error.js'
import { toVaultRequestError } from './vault-request-error.js'

/** Renew (or log in again) once this fraction of the token's TTL has passed. */
const RENEW_AT_FRACTION = 2 / 3
/** Never schedule sooner than this, so a token with a TTL of a second or less cannot spin the loop. */
const MIN_DELAY_MS = 250
/** When a background renewal or login fails for a passing reason, try again after at most this. */
const MAX_RETRY_DELAY_MS = 30_000

type Next = 'renew' | 'login'

export class VaultTokenSession {
  private generationCounter = 0
  private loginInFlight: Promise<void> | undefined
  private timer: NodeJS.Timeout | undefined
  private readonly background = new Set<Promise<void>>()
  private staticTokenInspected = false
  private closed = false
  /** The TTL we ask for on renewal: what the login (or the token's creation) granted. */
  private requestedTtl = 0
  private expiresAt = 0

  constructor(
    private readonly client: VaultClient,
    private readonly auth: VaultAuth,
    private readonly logger: Logger
  ) {
    if (auth.method === 'token') {
      client.token = auth.token
      this.generationCounter = 1
    }
  }

  /** A static token cannot be replaced: when Vault refuses it, the refusal is final. */
  get canLogin(): boolean {
    return this.auth.method !== 'token'
  }

  /** Changes each time the client gets a new token; lets concurrent failures share one login. */
  get generation(): number {
    return this.generationCounter
  }

  /** Makes sure the client holds a token (logging in the first time) and returns its generation. */
  async ready(): Promise<number> {
    if (this.closed) throw new SecretStoreError('unavailable', 'the Vault secret store is closed')
    if (this.auth.method === 'token') {
      // Learn the static token's TTL in the background: a slow or failing lookup must not delay the call itself.
      if (!this.staticTokenInspected) {
        this.staticTokenInspected = true
        this.track(this.inspectStaticToken())
      }
      return this.generationCounter
    }
    if (this.generationCounter === 0) await this.login('first use')
    return this.generationCounter
  }

  /**
   * Called when Vault refused the token a call used. Logs in again unless another call already did since
   * (then the caller simply retries with the newer token). Concurrent callers share one login.
   */
  async reloginAfter(generationUsed: number, reason: string): Promise<void> {
    if (this.generationCounter !== generationUsed) return
    await this.login(reason)
  }

  async close(): Promise<void> {
    this.closed = true
    clearTimeout(this.timer)
    this.timer = undefined
    await Promise.allSettled([...this.background])
  }

  private async login(reason: string): Promise<void> {
    this.loginInFlight ??= this.doLogin(reason).finally(() => {
      this.loginInFlight = undefined
    })
    await this.loginInFlight
  }

  private async doLogin(reason: string): Promise<void> {
    let lease: VaultLease
    try {
      lease = await this.callLogin()
    } catch (err) {
      const e = toSecretStoreError('Vault login', err)
      this.logger.warn(
        { event: 'vault_login_failed', method: this.auth.method, reason, code: e.code, err: e },
        'Vault login failed'
      )
      throw e
    }
    if (this.closed) return
    this.client.token = lease.clientToken
    this.generationCounter++
    this.requestedTtl = lease.leaseDuration
    this.logger.info(
      {
        event: 'vault_login',
        method: this.auth.method,
        reason,
        ttlSeconds: lease.leaseDuration,
        renewable: lease.renewable
      },
      'logged in to Vault'
    )
    this.schedule(lease.leaseDuration, lease.renewable, false)
  }

  private async callLogin(): Promise<VaultLease> {
    const auth = this.auth
    switch (auth.method) {
      case 'approle': {
        const secretId =
          auth.secretId ??
          (auth.secretIdFile !== undefined
            ? await readCredentialFile(auth.secretIdFile, 'AppRole secret id')
            : undefined)
        return await this.client.approleLogin(auth.mount, auth.roleId, secretId)
      }
      case 'kubernetes':
        // Read at each login: the kubelet rotates projected service-account tokens.
        return await this.client.kubernetesLogin(
          auth.mount,
          auth.role,
          await readCredentialFile(auth.tokenPath, 'service-account token')
        )
      case 'token':
        throw new SecretStoreError('denied', 'a static Vault token cannot log in again')
    }
  }

  private async inspectStaticToken(): Promise<void> {
    try {
      const info = await this.client.lookupSelf()
      this.requestedTtl = info.creationTtl > 0 ? info.creationTtl : info.ttl
      this.logger.info(
        { event: 'vault_token', ttlSeconds: info.ttl, renewable: info.renewable },
        'using a static Vault token'
      )
      this.schedule(info.ttl, info.renewable, false)
    } catch (err) {
      const e = toVaultRequestError('token lookup', err)
      // Look again on a later call when the failure may pass; a refused token will fail those calls anyway.
      if (!e.isAuthFailure) this.staticTokenInspected = false
      this.logger.warn({ event: 'vault_token_lookup_failed', err: e }, 'could not look up the Vault token')
    }
  }

  /**
   * Plans the next step for a token that lives `ttlSeconds` more. `capped`: a renewal granted less than we asked for,
   * so the max TTL is near and renewing again cannot help: the next step is a new login when we can make one.
   */
  private schedule(ttlSeconds: number, renewable: boolean, capped: boolean): void {
    clearTimeout(this.timer)
    this.timer = undefined
    if (this.closed || ttlSeconds <= 0) return
    this.expiresAt = Date.now() + ttlSeconds * 1000
    let next: Next | undefined
    if (renewable && (!capped || !this.canLogin)) next = 'renew'
    else if (this.canLogin) next = 'login'
    if (next === undefined) {
      this.logger.warn(
        { event: 'vault_token_not_renewable', ttlSeconds },
        'the Vault token cannot be renewed and will expire'
      )
      return
    }
    if (capped && next === 'renew') {
      this.logger.warn(
        { event: 'vault_token_max_ttl', ttlSeconds },
        'the Vault token is near its max TTL and a static token cannot log in again'
      )
    }
    this.after(Math.max(ttlSeconds * 1000 * RENEW_AT_FRACTION, MIN_DELAY_MS), next)
  }

  private after(delayMs: number, next: Next): void {
    clearTimeout(this.timer)
    this.timer = setTimeout(() => {
      this.timer = undefined
      this.track(next === 'renew' ? this.renew() : this.loginInBackground('max TTL near'))
    }, delayMs)
    // A pending renewal must not keep the process alive.
    this.timer.unref()
  }

  private async renew(): Promise<void> {
    try {
      const lease = await this.client.renewSelf(this.requestedTtl)
      if (this.closed) return
      this.logger.info({ event: 'vault_token_renewed', ttlSeconds: lease.leaseDuration }, 'renewed the Vault token')
      this.schedule(lease.leaseDuration, lease.renewable, lease.leaseDuration < this.requestedTtl)
    } catch (err) {
      const e = toVaultRequestError('token renewal', err)
      // Refused (revoked, expired, not renewable): only a new login helps. Otherwise Vault may come back in time.
      if (this.canLogin && (e.isAuthFailure || e.status === 400)) {
        this.logger.warn(
          { event: 'vault_token_renewal_refused', err: e },
          'Vault refused to renew the token; logging in again'
        )
        await this.loginInBackground('renewal refused')
        return
      }
      this.logger.warn({ event: 'vault_token_renewal_failed', err: e }, 'could not renew the Vault token')
      if (e.status === undefined || e.status >= 500 || e.status === 429) this.retryLater('renew')
    }
  }

  private async loginInBackground(reason: string): Promise<void> {
    try {
      await this.login(reason)
    } catch (err) {
      // Already logged by doLogin. A call that meets the expired token will try once more on its own.
      if (err instanceof SecretStoreError && err.code === 'unavailable') this.retryLater('login')
    }
  }

  private retryLater(next: Next): void {
    if (this.closed) return
    const remaining = this.expiresAt - Date.now()
    if (remaining <= MIN_DELAY_MS) return
    this.after(Math.min(MAX_RETRY_DELAY_MS, Math.max(remaining / 2, MIN_DELAY_MS)), next)
  }

  private track(work: Promise<void>): void {
    const tracked: Promise<void> = work
      .catch((err: unknown) => {
        this.logger.error(
          { event: 'vault_token_upkeep_failed', err: toVaultRequestError('token upkeep', err) },
          'Vault token upkeep failed'
        )
      })
      .finally(() => {
        this.background.delete(tracked)
      })
    this.background.add(tracked)
  }
}

async function readCredentialFile(path: string, what: string): Promise<string> {
  try {
    return (await readFile(path, 'utf8')).trim()
  } catch (err) {
    const code = (err as { code?: unknown }).code
    throw new SecretStoreError(
      'denied',
      `cannot read the ${what} file ${path} (${typeof code === 'string' ? code : 'error'})`
    )
  }
}
