// A typed face over node-vault (whose every call returns `any`): checked answers, one deadline per call,
// and failures as VaultRequestError, which keeps neither the request body nor the token.
import http from 'node:http'
import https from 'node:https'
import nodeVault from 'node-vault'
import { VaultRequestError, toVaultRequestError } from './vault-request-error.js'

export interface VaultClientOptions {
  /** e.g. http://127.0.0.1:8200, without /v1 */
  addr: string
  namespace?: string
  /** Deadline of one HTTP call, connect included. */
  timeoutMs: number
}

/** What a login or a renewal grants. Durations in seconds; 0 = never expires. */
export interface VaultLease {
  clientToken: string
  leaseDuration: number
  renewable: boolean
  policies: string[]
  warnings: string[]
}

export interface VaultTokenInfo {
  ttl: number
  creationTtl: number
  renewable: boolean
  explicitMaxTtl: number
  expireTime: string | null
  policies: string[]
}

export interface VaultHealth {
  initialized: boolean
  sealed: boolean
  standby: boolean
}

/** A Vault answer body (the envelope), parsed JSON. */
export type VaultBody = Record<string, unknown>

export class VaultClient {
  /** Carries our token; used for every call but logins. */
  private readonly api: nodeVault.client
  /**
   * Logins run on a second client without a token: node-vault's login commands store the new token in the
   * client they ran on, and a stale token in the header of a login request must not decide its outcome.
   */
  private readonly loginApi: nodeVault.client
  private readonly httpAgent = new http.Agent({ keepAlive: true })
  private readonly httpsAgent = new https.Agent({ keepAlive: true })

  constructor(private readonly options: VaultClientOptions) {
    this.api = this.createApi()
    this.loginApi = this.createApi()
  }

  get token(): string {
    return this.api.token
  }

  set token(token: string) {
    this.api.token = token
  }

  async read(operation: string, path: string): Promise<VaultBody> {
    return bodyOf(await this.run(operation, async () => await this.api.read(path)))
  }

  /** GET <path>?list=1 (noCustomHTTPVerbs: a LIST method is refused by Node-based servers and some proxies). */
  async list(operation: string, path: string): Promise<VaultBody> {
    return bodyOf(await this.run(operation, async () => await this.api.list(path)))
  }

  /** POST; resolves to the body, or undefined for a 204. */
  async write(operation: string, path: string, body: object): Promise<VaultBody | undefined> {
    const answer = await this.run(operation, async () => await this.api.write(path, body))
    return isObject(answer) ? answer : undefined
  }

  async delete(operation: string, path: string): Promise<void> {
    await this.run(operation, async () => await this.api.delete(path))
  }

  /** sys/health: node-vault resolves its non-200 answers (429, 501, 503) too, so the body tells the state. */
  async health(): Promise<VaultHealth> {
    const body = await this.run('health check', async () => await this.api.read('sys/health'))
    if (!isObject(body) || typeof body.initialized !== 'boolean' || typeof body.sealed !== 'boolean') {
      throw new VaultRequestError('health check', { kind: 'transport', code: 'EBADHEALTH' })
    }
    return { initialized: body.initialized, sealed: body.sealed, standby: body.standby === true }
  }

  async lookupSelf(): Promise<VaultTokenInfo> {
    const data = bodyOf(await this.run('token lookup', async () => await this.api.read('auth/token/lookup-self'))).data
    if (!isObject(data)) throw new VaultRequestError('token lookup', { kind: 'transport', code: 'EBADBODY' })
    return {
      ttl: numberOr(data.ttl, 0),
      creationTtl: numberOr(data.creation_ttl, 0),
      renewable: data.renewable === true,
      explicitMaxTtl: numberOr(data.explicit_max_ttl, 0),
      expireTime: typeof data.expire_time === 'string' ? data.expire_time : null,
      policies: stringsOf(data.policies)
    }
  }

  /** Renews our own token. A plain write rather than node-vault's tokenRenewSelf, which would overwrite the client's token. */
  async renewSelf(incrementSeconds: number | undefined): Promise<VaultLease> {
    const body = incrementSeconds !== undefined && incrementSeconds > 0 ? { increment: incrementSeconds } : {}
    return leaseOf(
      'token renewal',
      await this.run('token renewal', async () => await this.api.write('auth/token/renew-self', body))
    )
  }

  async approleLogin(mount: string, roleId: string, secretId: string | undefined): Promise<VaultLease> {
    const args = { mount_point: mount, role_id: roleId, ...(secretId !== undefined ? { secret_id: secretId } : {}) }
    return await this.login('AppRole login', async () => await this.loginApi.approleLogin(args))
  }

  async kubernetesLogin(mount: string, role: string, jwt: string): Promise<VaultLease> {
    // Without mount_point node-vault posts to /v1/auth//login.
    return await this.login(
      'Kubernetes login',
      async () => await this.loginApi.kubernetesLogin({ mount_point: mount, role, jwt })
    )
  }

  close(): void {
    this.httpAgent.destroy()
    this.httpsAgent.destroy()
  }

  private async login(operation: string, call: () => Promise<unknown>): Promise<VaultLease> {
    try {
      return leaseOf(operation, await this.run(operation, call))
    } finally {
      this.loginApi.token = ''
    }
  }

  /** One call, bounded by the deadline even where axios' own timeout does not reach (DNS, a stalled body). */
  private async run(operation: string, call: () => Promise<unknown>): Promise<unknown> {
    const { timeoutMs } = this.options
    let timer: NodeJS.Timeout | undefined
    const deadline = new Promise<never>((_resolve, reject) => {
      timer = setTimeout(() => {
        reject(new VaultRequestError(operation, { kind: 'timeout', timeoutMs }))
      }, timeoutMs)
    })
    try {
      return await Promise.race([call(), deadline])
    } catch (err) {
      throw toVaultRequestError(operation, err, timeoutMs)
    } finally {
      clearTimeout(timer)
    }
  }

  private createApi(): nodeVault.client {
    const api = nodeVault({
      endpoint: this.options.addr,
      apiVersion: 'v1',
      noCustomHTTPVerbs: true,
      // node-vault's debug output prints request bodies, secret values included.
      debug: () => {},
      requestOptions: { timeout: this.options.timeoutMs, httpAgent: this.httpAgent, httpsAgent: this.httpsAgent }
    })
    // node-vault falls back to VAULT_TOKEN, VAULT_PREFIX and VAULT_NAMESPACE from the environment: only our config counts.
    api.token = ''
    ;(api as any).pathPrefix = ''
    ;(api as any).namespace = this.options.namespace ?? ''
    return api
  }
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value)
}

function bodyOf(value: unknown): VaultBody {
  return isObject(value) ? value : {}
}

function numberOr(value: unknown, fallback: number): number {
  return typeof value === 'number' && Number.isFinite(value) ? value : fallback
}

function stringsOf(value: unknown): string[] {
  return Array.isArray(value) ? value.filter((v): v is string => typeof v === 'string') : []
}

function leaseOf(operation: string, answer: unknown): VaultLease {
  const body = bodyOf(answer)
  const auth = body.auth
  if (!isObject(auth) || typeof auth.client_token !== 'string' || auth.client_token === '') {
    throw new VaultRequestError(operation, { kind: 'transport', code: 'EBADBODY' })
  }
  return {
    clientToken: auth.client_token,
    leaseDuration: numberOr(auth.lease_duration, 0),
    renewable: auth.renewable === true,
    policies: stringsOf(auth.policies),
    warnings: stringsOf(body.warnings)
  }
}
