// A local HTTP emulator of the part of HashiCorp Vault the broker relies on (shared/reference/vault.md): KV v2 with
// versions and check-and-set, tokens with TTLs, AppRole and Kubernetes logins, ACL policies, sys/health; plus switches
// (sealed, slow, unreachable, faults, expired or revoked tokens) and a request log. No Vault server can run here.
import http from 'node:http'
import { randomBytes, randomUUID } from 'node:crypto'
import type { AddressInfo, Socket } from 'node:net'

export interface VaultEmulatorOptions {
  host?: string
  /** 0 (default) = any free port. */
  port?: number
  /** The root token's id, as `vault server -dev -dev-root-token-id`. Default 'root'. */
  rootToken?: string
  /** KV v2 mounts present at start, like the dev server's `secret/`. Default ['secret']. */
  kvMounts?: string[]
  /** Mount config of those mounts (Vault's `<mount>/config`): versions kept (0 = Vault's default, 10), cas_required. */
  maxVersions?: number
  casRequired?: boolean
}

export type UnreachableMode =
  | 'refuse' // stop listening: connections are refused (ECONNREFUSED)
  | 'reset' // accept, then destroy the socket at once (ECONNRESET / socket hang up)
  | 'hang' // accept and read requests, never answer (the caller's timeout decides)

export interface RecordedRequest {
  method: string
  /** Path after /v1/, decoded, without the query. */
  path: string
  query: string
  /** 0 while unanswered (or never answered: hang, reset). */
  status: number
}

export interface InjectedFault {
  status: number
  errors?: string[]
  method?: string
  /** Matches the path after /v1/: a prefix string or a RegExp. Default: every path. */
  path?: string | RegExp
  /** How many requests it hits; default 1. Infinity = until clearFaults(). */
  times?: number
}

export interface EmulatedTokenOptions {
  policies?: string[]
  /** Seconds; 0 = never expires (root-like). Default 768h. */
  ttl?: number
  /** Seconds; 0 = only the system max (768h). */
  explicitMaxTtl?: number
  renewable?: boolean
}

export interface EmulatedAppRoleOptions {
  name: string
  /** Auth mount; enabled on the fly when missing. Default 'approle'. */
  mount?: string
  policies?: string[]
  tokenTtl?: number
  tokenMaxTtl?: number
}

export interface VaultEmulatorControl {
  seal(): void
  unseal(): void
  setInitialized(initialized: boolean): void
  setStandby(standby: boolean): void
  /** Every answer waits this long first (0 = off). */
  setDelay(ms: number): void
  setUnreachable(mode: UnreachableMode | false): Promise<void>
  /** The next matching request(s) get `status` with `{"errors": errors}`. */
  injectFault(fault: InjectedFault): void
  clearFaults(): void
  /** Creates a token directly (no API call); the API way is POST auth/token/create. */
  createToken(options?: EmulatedTokenOptions): string
  /** The token stays known but is past its TTL: Vault answers "permission denied" + "invalid token". */
  expireToken(token: string): void
  revokeToken(token: string): void
  /** Expires every token but the root token (e.g. every AppRole login so far). */
  expireAllTokens(): void
  setPolicy(name: string, policy: string): void
  /** Sets up an AppRole role directly; the API way (which also works on a real Vault) is in vault-setup.ts. */
  addAppRole(options: EmulatedAppRoleOptions): { roleId: string; secretId: string }
  requests(): RecordedRequest[]
  count(filter?: { method?: string; path?: string | RegExp; status?: number }): number
  resetRequests(): void
  /** Moves the emulator's clock (token TTLs) forward. */
  advanceClock(ms: number): void
}

export interface VaultEmulator {
  addr: string
  rootToken: string
  control: VaultEmulatorControl
  close(): Promise<void>
}

/** The version the emulator claims in sys/health. */
export const EMULATED_VAULT_VERSION = '1.17.0+emulator'

const SYSTEM_MAX_TTL = 768 * 3600
const DEFAULT_MAX_VERSIONS = 10
const PERMISSION_DENIED = '1 error occurred:\n\t* permission denied\n\n'
const INVALID_TOKEN = '2 errors occurred:\n\t* permission denied\n\t* invalid token\n\n'
const UNSUPPORTED = '1 error occurred:\n\t* unsupported operation\n\n'
const DEFAULT_POLICY = `
path "auth/token/lookup-self" { capabilities = ["read"] }
path "auth/token/renew-self" { capabilities = ["update"] }
path "auth/token/revoke-self" { capabilities = ["update"] }
path "sys/capabilities-self" { capabilities = ["update"] }
`

/** An unsigned service-account JWT, enough for the emulator's Kubernetes login (it does no TokenReview). */
export function serviceAccountJwt(serviceAccount: string, namespace: string): string {
  const part = (value: object): string => Buffer.from(JSON.stringify(value)).toString('base64url')
  return [
    part({ alg: 'RS256', typ: 'JWT' }),
    part({
      iss: 'kubernetes/serviceaccount',
      sub: `system:serviceaccount:${namespace}:${serviceAccount}`,
      'kubernetes.io/serviceaccount/namespace': namespace,
      'kubernetes.io/serviceaccount/service-account.name': serviceAccount
    }),
    'c2lnbmF0dXJl'
  ].join('.')
}

export async function startVaultEmulator(options: VaultEmulatorOptions = {}): Promise<VaultEmulator> {
  const state = new EmulatorState(options)
  await state.listen(options.port ?? 0, options.host ?? '127.0.0.1')
  return {
    addr: state.addr,
    rootToken: state.rootToken,
    control: state.control(),
    close: async () => {
      await state.close()
    }
  }
}

// ---------------------------------------------------------------------------------------------------------------
// State

interface VersionRecord {
  createdTime: string
  deletionTime: string
  destroyed: boolean
  data: Record<string, unknown> | undefined
}
interface KeyRecord {
  currentVersion: number
  oldestVersion: number
  maxVersions: number
  casRequired: boolean
  customMetadata: Record<string, string> | null
  createdTime: string
  updatedTime: string
  versions: Map<number, VersionRecord>
}
interface KvMount {
  maxVersions: number
  casRequired: boolean
  keys: Map<string, KeyRecord>
}
interface TokenRecord {
  id: string
  accessor: string
  policies: string[]
  path: string
  displayName: string
  meta: Record<string, string> | null
  issuedAt: number
  /** The TTL it was created with (seconds); renewals without an increment ask for it again. */
  creationTtl: number
  explicitMaxTtl: number
  /** ms epoch; null = never expires. */
  expiresAt: number | null
  renewable: boolean
  orphan: boolean
  lastRenewal: number | null
  revoked: boolean
}
interface SecretIdRecord {
  accessor: string
  expiresAt: number | null
  usesLeft: number | null
}
interface AppRoleRecord {
  name: string
  roleId: string
  policies: string[]
  tokenTtl: number
  tokenMaxTtl: number
  bindSecretId: boolean
  secretIdTtl: number
  secretIdNumUses: number
  secretIds: Map<string, SecretIdRecord>
}
interface KubernetesRole {
  name: string
  serviceAccounts: string[]
  namespaces: string[]
  policies: string[]
  tokenTtl: number
  tokenMaxTtl: number
}
interface AuthMount {
  type: 'approle' | 'kubernetes'
  appRoles: Map<string, AppRoleRecord>
  k8sRoles: Map<string, KubernetesRole>
}
interface Rule {
  pattern: string
  caps: Set<string>
}

class HttpError extends Error {
  constructor(
    readonly status: number,
    readonly errors: string[]
  ) {
    super(errors[0] ?? `status ${status}`)
  }
}

interface Answer {
  status: number
  body?: unknown
}

interface Ctx {
  method: string
  path: string
  query: URLSearchParams
  body: Record<string, unknown>
  tokenHeader: string | undefined
}

class EmulatorState {
  readonly rootToken: string
  addr = ''
  private readonly server: http.Server
  private port = 0
  private host = '127.0.0.1'
  private readonly sockets = new Set<Socket>()
  private readonly hanging = new Set<http.ServerResponse>()
  private readonly sleepers = new Set<{ timer: NodeJS.Timeout; wake: () => void }>()
  private closed = false

  private sealed = false
  private initialized = true
  private standby = false
  private delayMs = 0
  private unreachable: UnreachableMode | false = false
  private faults: Array<Required<Pick<InjectedFault, 'status' | 'times'>> & InjectedFault> = []
  private log: RecordedRequest[] = []
  private clockOffset = 0

  private readonly kvMounts = new Map<string, KvMount>()
  private readonly authMounts = new Map<string, AuthMount>()
  private readonly tokens = new Map<string, TokenRecord>()
  private readonly policies = new Map<string, { text: string; rules: Rule[] }>()

  constructor(options: VaultEmulatorOptions) {
    this.rootToken = options.rootToken ?? 'root'
    for (const mount of options.kvMounts ?? ['secret']) {
      this.kvMounts.set(mount, {
        maxVersions: options.maxVersions ?? 0,
        casRequired: options.casRequired ?? false,
        keys: new Map()
      })
    }
    this.policies.set('default', { text: DEFAULT_POLICY, rules: parsePolicy(DEFAULT_POLICY) })
    this.tokens.set(this.rootToken, {
      id: this.rootToken,
      accessor: randomId(24),
      policies: ['root'],
      path: 'auth/token/root',
      displayName: 'root',
      meta: null,
      issuedAt: this.now(),
      creationTtl: 0,
      explicitMaxTtl: 0,
      expiresAt: null,
      renewable: false,
      orphan: true,
      lastRenewal: null,
      revoked: false
    })
    this.server = http.createServer((req, res) => {
      void this.onRequest(req, res)
    })
    // Longer than any test: the client, not the server, decides when a kept-alive socket goes.
    this.server.keepAliveTimeout = 65_000
    this.server.on('connection', (socket) => {
      if (this.unreachable === 'reset') {
        socket.destroy()
        return
      }
      this.sockets.add(socket)
      socket.on('close', () => {
        this.sockets.delete(socket)
      })
    })
  }

  async listen(port: number, host: string): Promise<void> {
    await new Promise<void>((resolve, reject) => {
      this.server.once('error', reject)
      this.server.listen(port, host, () => {
        this.server.off('error', reject)
        resolve()
      })
    })
    const address = this.server.address() as AddressInfo
    this.port = address.port
    this.host = host
    this.addr = `http://${host.includes(':') ? `[${host}]` : host}:${this.port}`
  }

  async close(): Promise<void> {
    if (this.closed) return
    this.closed = true
    for (const s of this.sleepers) {
      clearTimeout(s.timer)
      s.wake()
    }
    this.destroySockets()
    if (this.server.listening)
      await new Promise<void>((resolve) => {
        this.server.close(() => {
          resolve()
        })
      })
  }

  control(): VaultEmulatorControl {
    return {
      seal: () => {
        this.sealed = true
      },
      unseal: () => {
        this.sealed = false
      },
      setInitialized: (initialized) => {
        this.initialized = initialized
      },
      setStandby: (standby) => {
        this.standby = standby
      },
      setDelay: (ms) => {
        this.delayMs = Math.max(0, ms)
      },
      setUnreachable: async (mode) => {
        await this.setUnreachable(mode)
      },
      injectFault: (fault) => {
        this.faults.push({ ...fault, times: fault.times ?? 1 })
      },
      clearFaults: () => {
        this.faults = []
      },
      createToken: (options = {}) =>
        this.issueToken({
          policies: options.policies ?? ['default'],
          ttl: options.ttl ?? SYSTEM_MAX_TTL,
          maxTtl: options.explicitMaxTtl ?? 0,
          renewable: options.renewable ?? true,
          path: 'auth/token/create',
          displayName: 'token',
          meta: null,
          orphan: false
        }).id,
      expireToken: (token) => {
        const t = this.tokens.get(token)
        if (t !== undefined) t.expiresAt = this.now() - 1
      },
      revokeToken: (token) => {
        const t = this.tokens.get(token)
        if (t !== undefined) t.revoked = true
      },
      expireAllTokens: () => {
        for (const t of this.tokens.values()) if (t.id !== this.rootToken) t.expiresAt = this.now() - 1
      },
      setPolicy: (name, policy) => {
        this.policies.set(name, { text: policy, rules: parsePolicy(policy) })
      },
      addAppRole: (options) => {
        const mount = options.mount ?? 'approle'
        if (!this.authMounts.has(mount))
          this.authMounts.set(mount, { type: 'approle', appRoles: new Map(), k8sRoles: new Map() })
        const auth = this.authMounts.get(mount)
        if (auth?.type !== 'approle') throw new Error(`${mount} is not an AppRole mount`)
        const role: AppRoleRecord = {
          name: options.name,
          roleId: randomUUID(),
          policies: options.policies ?? [],
          tokenTtl: options.tokenTtl ?? 0,
          tokenMaxTtl: options.tokenMaxTtl ?? 0,
          bindSecretId: true,
          secretIdTtl: 0,
          secretIdNumUses: 0,
          secretIds: new Map()
        }
        auth.appRoles.set(options.name, role)
        return { roleId: role.roleId, secretId: this.newSecretId(role).secretId }
      },
      requests: () => this.log.map((r) => ({ ...r })),
      count: (filter = {}) =>
        this.log.filter(
          (r) =>
            (filter.method === undefined || r.method === filter.method.toUpperCase()) &&
            (filter.status === undefined || r.status === filter.status) &&
            (filter.path === undefined ||
              (typeof filter.path === 'string' ? r.path === filter.path : filter.path.test(r.path)))
        ).length,
      resetRequests: () => {
        this.log = []
      },
      advanceClock: (ms) => {
        this.clockOffset += ms
      }
    }
  }

  private now(): number {
    return Date.now() + this.clockOffset
  }

  private async setUnreachable(mode: UnreachableMode | false): Promise<void> {
    const before = this.unreachable
    this.unreachable = mode
    if (mode === false) {
      for (const res of this.hanging) res.socket?.destroy()
      this.hanging.clear()
      if (before === 'refuse' && !this.closed) await this.listen(this.port, this.host)
      return
    }
    if (mode === 'refuse' && this.server.listening) {
      const closed = new Promise<void>((resolve) => {
        this.server.close(() => {
          resolve()
        })
      })
      this.destroySockets()
      await closed
    } else if (mode === 'reset') {
      this.destroySockets()
    }
  }

  private destroySockets(): void {
    for (const res of this.hanging) res.socket?.destroy()
    this.hanging.clear()
    for (const socket of this.sockets) socket.destroy()
    this.sockets.clear()
  }

  private async sleep(ms: number): Promise<void> {
    await new Promise<void>((resolve) => {
      const sleeper = {
        timer: setTimeout(() => {
          this.sleepers.delete(sleeper)
          resolve()
        }, ms),
        wake: resolve
      }
      this.sleepers.add(sleeper)
    })
  }

  // -------------------------------------------------------------------------------------------------------------
  // HTTP

  private async onRequest(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://vault.invalid')
    const method = (req.method ?? 'GET').toUpperCase()
    const record: RecordedRequest = { method, path: '', query: url.search, status: 0 }
    let raw: string
    try {
      record.path = url.pathname.startsWith('/v1/') ? decodePath(url.pathname.slice(4)) : url.pathname
      raw = await readBody(req)
    } catch {
      this.log.push(record)
      this.send(res, record, { status: 400, body: { errors: ['invalid request path'] } })
      return
    }
    this.log.push(record)
    if (this.unreachable === 'hang') {
      this.hanging.add(res)
      return
    }
    if (this.delayMs > 0) await this.sleep(this.delayMs)
    if (this.closed || this.unreachable !== false) {
      res.socket?.destroy()
      return
    }

    let answer: Answer
    try {
      if (!url.pathname.startsWith('/v1/')) throw new HttpError(404, [])
      let body: Record<string, unknown> = {}
      if (raw.trim() !== '') {
        let parsed: unknown
        try {
          parsed = JSON.parse(raw)
        } catch (err) {
          throw new HttpError(400, [`failed to parse JSON input: ${(err as Error).message}`])
        }
        if (!isRecord(parsed)) throw new HttpError(400, ['failed to parse JSON input: not a JSON object'])
        body = parsed
      }
      const bearer = /^Bearer\s+(.+)$/i.exec(req.headers.authorization ?? '')?.[1]
      const header = req.headers['x-vault-token']
      const tokenHeader = (typeof header === 'string' && header !== '' ? header : undefined) ?? bearer
      answer = this.route({ method, path: record.path, query: url.searchParams, body, tokenHeader })
    } catch (err) {
      // A bug in the emulator shows as a 500, as an internal Vault error would, rather than as a crashed test run.
      answer =
        err instanceof HttpError
          ? { status: err.status, body: { errors: err.errors } }
          : { status: 500, body: { errors: [String(err)] } }
    }
    this.send(res, record, answer, method === 'HEAD')
  }

  private send(res: http.ServerResponse, record: RecordedRequest, answer: Answer, headOnly = false): void {
    if (res.destroyed || res.writableEnded) return
    record.status = answer.status
    // Vault marks every answer uncacheable.
    res.setHeader('Cache-Control', 'no-store')
    if (answer.body === undefined || headOnly) {
      res.statusCode = answer.status
      res.end()
      return
    }
    const text = JSON.stringify(answer.body)
    res.writeHead(answer.status, { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(text) })
    res.end(text)
  }

  private route(ctx: Ctx): Answer {
    const fault = this.takeFault(ctx)
    if (fault !== undefined) return fault
    const { method, path } = ctx
    if (path === 'sys/health' && (method === 'GET' || method === 'HEAD')) return this.health(ctx)
    if (path === 'sys/seal-status' && method === 'GET') return ok(this.sealStatus(), 'system', false)
    if (this.sealed || !this.initialized) throw new HttpError(503, ['Vault is sealed'])

    const login = /^auth\/(.+)\/login$/.exec(path)
    if (login !== null && (method === 'POST' || method === 'PUT')) {
      const mount = this.authMounts.get(login[1] ?? '')
      if (mount?.type === 'approle') return this.approleLogin(login[1] ?? '', mount, ctx.body)
      if (mount?.type === 'kubernetes') return this.kubernetesLogin(login[1] ?? '', mount, ctx.body)
    }

    const token = this.authenticate(ctx)
    if (path.startsWith('auth/token/')) return this.tokenRoutes(ctx, token, path.slice('auth/token/'.length))
    if (path.startsWith('sys/')) return this.sysRoutes(ctx, token, path.slice('sys/'.length))
    if (path.startsWith('auth/')) {
      for (const [name, mount] of this.authMounts) {
        if (path.startsWith(`${name}/`, 'auth/'.length))
          return this.authMountRoutes(ctx, token, name, mount, path.slice(`auth/${name}/`.length))
      }
    }
    for (const [name, mount] of this.kvMounts) {
      if (path === name || path.startsWith(`${name}/`))
        return this.kvRoutes(ctx, token, name, mount, path.slice(name.length + 1))
    }
    return this.noRoute(ctx, token)
  }

  private takeFault(ctx: Ctx): Answer | undefined {
    const i = this.faults.findIndex(
      (f) =>
        (f.method === undefined || f.method.toUpperCase() === ctx.method) &&
        (f.path === undefined || (typeof f.path === 'string' ? ctx.path.startsWith(f.path) : f.path.test(ctx.path)))
    )
    const fault = this.faults[i]
    if (fault === undefined) return undefined
    fault.times--
    if (fault.times <= 0) this.faults.splice(i, 1)
    return { status: fault.status, body: { errors: fault.errors ?? [] } }
  }

  private noRoute(ctx: Ctx, token: TokenRecord): Answer {
    this.authorize(token, ctx.path, 'read')
    throw new HttpError(404, [`no handler for route "${ctx.path}". route entry not found.`])
  }

  // -------------------------------------------------------------------------------------------------------------
  // Tokens and policies

  private authenticate(ctx: Ctx): TokenRecord {
    if (ctx.tokenHeader === undefined) throw new HttpError(403, ['permission denied'])
    const token = this.tokens.get(ctx.tokenHeader)
    if (token === undefined || !this.isLive(token)) throw new HttpError(403, [INVALID_TOKEN])
    return token
  }

  private isLive(token: TokenRecord): boolean {
    return !token.revoked && (token.expiresAt === null || token.expiresAt > this.now())
  }

  /** Throws 403 unless one of the token's policies grants `capability` on `path` (the most specific rule wins). */
  private authorize(token: TokenRecord, path: string, capability: string, sudo = false): void {
    if (token.policies.includes('root')) return
    const merged = new Map<string, Set<string>>()
    for (const name of token.policies) {
      for (const rule of this.policies.get(name)?.rules ?? []) {
        const caps = merged.get(rule.pattern) ?? new Set<string>()
        for (const c of rule.caps) caps.add(c)
        merged.set(rule.pattern, caps)
      }
    }
    const best = [...merged.keys()].filter((p) => globMatches(p, path)).sort(comparePatterns)[0]
    const caps = best !== undefined ? merged.get(best) : undefined
    const allowed = caps !== undefined && !caps.has('deny') && caps.has(capability) && (!sudo || caps.has('sudo'))
    if (!allowed) throw new HttpError(403, [PERMISSION_DENIED])
  }

  private issueToken(spec: {
    policies: string[]
    ttl: number
    maxTtl: number
    renewable: boolean
    path: string
    displayName: string
    meta: Record<string, string> | null
    orphan: boolean
  }): TokenRecord {
    const now = this.now()
    const effectiveMax = spec.maxTtl > 0 ? Math.min(spec.maxTtl, SYSTEM_MAX_TTL) : SYSTEM_MAX_TTL
    const ttl = spec.ttl > 0 ? Math.min(spec.ttl, effectiveMax) : 0
    const token: TokenRecord = {
      id: `hvs.${randomId(24)}`,
      accessor: randomId(24),
      policies: spec.policies.includes('root') ? ['root'] : [...new Set(spec.policies)].sort(),
      path: spec.path,
      displayName: spec.displayName,
      meta: spec.meta,
      issuedAt: now,
      creationTtl: ttl,
      explicitMaxTtl: spec.maxTtl,
      expiresAt: ttl > 0 ? now + ttl * 1000 : null,
      renewable: ttl > 0 && spec.renewable,
      orphan: spec.orphan,
      lastRenewal: null,
      revoked: false
    }
    this.tokens.set(token.id, token)
    return token
  }

  private tokenData(t: TokenRecord): Record<string, unknown> {
    const now = this.now()
    return {
      accessor: t.accessor,
      creation_time: Math.floor(t.issuedAt / 1000),
      creation_ttl: t.creationTtl,
      display_name: t.displayName,
      entity_id: '',
      expire_time: t.expiresAt === null ? null : new Date(t.expiresAt).toISOString(),
      explicit_max_ttl: t.explicitMaxTtl,
      id: t.id,
      issue_time: new Date(t.issuedAt).toISOString(),
      meta: t.meta,
      num_uses: 0,
      orphan: t.orphan,
      path: t.path,
      policies: t.policies,
      renewable: t.renewable,
      ttl: t.expiresAt === null ? 0 : Math.max(0, Math.floor((t.expiresAt - now) / 1000)),
      type: 'service',
      ...(t.lastRenewal !== null
        ? { last_renewal: new Date(t.lastRenewal).toISOString(), last_renewal_time: Math.floor(t.lastRenewal / 1000) }
        : {})
    }
  }

  /** `leaseDuration`: what was just granted (a login's TTL, a renewal's), not a recomputed remainder that lost a millisecond. */
  private authBlock(t: TokenRecord, leaseDuration: number): Record<string, unknown> {
    return {
      client_token: t.id,
      accessor: t.accessor,
      policies: t.policies,
      token_policies: t.policies,
      metadata: t.meta,
      lease_duration: leaseDuration,
      renewable: t.renewable,
      entity_id: '',
      token_type: 'service',
      orphan: t.orphan,
      mfa_requirement: null,
      num_uses: 0
    }
  }

  private renew(t: TokenRecord, incrementRaw: unknown): Answer {
    if (!t.renewable || t.expiresAt === null) throw new HttpError(400, ['lease is not renewable'])
    const now = this.now()
    const increment = parseDuration(incrementRaw, 'increment') || t.creationTtl
    const maxTtl = t.explicitMaxTtl > 0 ? Math.min(t.explicitMaxTtl, SYSTEM_MAX_TTL) : SYSTEM_MAX_TTL
    const maxExpiry = t.issuedAt + maxTtl * 1000
    let expiry = now + increment * 1000
    let warnings: string[] | null = null
    if (expiry > maxExpiry) {
      expiry = maxExpiry
      warnings = [
        `TTL of "${goDuration(increment)}" exceeded the effective max_ttl of "${goDuration(Math.floor((maxExpiry - now) / 1000))}"; TTL value is capped accordingly`
      ]
    }
    t.expiresAt = expiry
    t.lastRenewal = now
    return {
      status: 200,
      body: { ...envelope(null, 'token', this.authBlock(t, Math.floor((expiry - now) / 1000))), warnings }
    }
  }

  private tokenRoutes(ctx: Ctx, token: TokenRecord, rest: string): Answer {
    const { method, body } = ctx
    const write = method === 'POST' || method === 'PUT'
    const path = `auth/token/${rest}`
    switch (rest) {
      case 'lookup-self':
        if (method !== 'GET' && !write) break
        this.authorize(token, path, write ? 'update' : 'read')
        return ok(this.tokenData(token), 'token')
      case 'lookup': {
        if (!write) break
        this.authorize(token, path, 'update')
        const other = this.tokens.get(stringOf(body.token))
        if (other === undefined || !this.isLive(other)) throw new HttpError(403, ['bad token'])
        return ok(this.tokenData(other), 'token')
      }
      case 'renew-self':
        if (!write) break
        this.authorize(token, path, 'update')
        return this.renew(token, body.increment)
      case 'renew': {
        if (!write) break
        this.authorize(token, path, 'update')
        const other = this.tokens.get(stringOf(body.token))
        if (other === undefined || !this.isLive(other)) throw new HttpError(400, ['invalid token'])
        return this.renew(other, body.increment)
      }
      case 'create': {
        if (!write) break
        this.authorize(token, path, 'update')
        const isRoot = token.policies.includes('root')
        const policies = Array.isArray(body.policies)
          ? body.policies.filter((p): p is string => typeof p === 'string')
          : token.policies
        if (!isRoot && policies.some((p) => p !== 'default' && !token.policies.includes(p)))
          throw new HttpError(400, ['child policies must be subset of parent'])
        const withDefault =
          policies.includes('root') || body.no_default_policy === true ? policies : ['default', ...policies]
        const requestedTtl = parseDuration(body.ttl, 'ttl')
        const ttl = requestedTtl > 0 ? requestedTtl : withDefault.includes('root') ? 0 : SYSTEM_MAX_TTL
        const created = this.issueToken({
          policies: withDefault,
          ttl,
          maxTtl: parseDuration(body.explicit_max_ttl, 'explicit_max_ttl'),
          renewable: body.renewable !== false,
          path: 'auth/token/create',
          displayName: typeof body.display_name === 'string' ? `token-${body.display_name}` : 'token',
          meta: isRecord(body.meta) ? stringRecord(body.meta) : null,
          orphan: false
        })
        return { status: 200, body: envelope(null, 'token', this.authBlock(created, created.creationTtl)) }
      }
      case 'revoke-self':
        if (!write) break
        this.authorize(token, path, 'update')
        token.revoked = true
        return { status: 204 }
      case 'revoke': {
        if (!write) break
        this.authorize(token, path, 'update')
        const other = this.tokens.get(stringOf(body.token))
        if (other !== undefined) other.revoked = true
        return { status: 204 }
      }
      case 'revoke-accessor': {
        if (!write) break
        this.authorize(token, path, 'update')
        for (const t of this.tokens.values()) if (t.accessor === body.accessor) t.revoked = true
        return { status: 204 }
      }
      default:
        return this.noRoute(ctx, token)
    }
    throw new HttpError(405, [UNSUPPORTED])
  }

  // -------------------------------------------------------------------------------------------------------------
  // sys/

  private health(ctx: Ctx): Answer {
    const code = (name: string, fallback: number): number => {
      const value = Number(ctx.query.get(name) ?? '')
      return ctx.query.has(name) && Number.isInteger(value) ? value : fallback
    }
    let status: number
    if (!this.initialized) status = code('uninitcode', 501)
    else if (this.sealed) status = code('sealedcode', 503)
    else if (this.standby && !parseBool(ctx.query.get('standbyok'))) status = code('standbycode', 429)
    else status = code('activecode', 200)
    return {
      status,
      body: {
        initialized: this.initialized,
        sealed: this.sealed || !this.initialized,
        standby: this.standby || this.sealed,
        performance_standby: false,
        replication_performance_mode: 'disabled',
        replication_dr_mode: 'disabled',
        server_time_utc: Math.floor(this.now() / 1000),
        version: EMULATED_VAULT_VERSION,
        cluster_name: 'vault-emulator',
        cluster_id: '00000000-0000-4000-8000-000000000000'
      }
    }
  }

  private sealStatus(): Record<string, unknown> {
    return {
      type: 'shamir',
      initialized: this.initialized,
      sealed: this.sealed,
      t: 1,
      n: 1,
      progress: 0,
      nonce: '',
      version: EMULATED_VAULT_VERSION,
      storage_type: 'inmem'
    }
  }

  private sysRoutes(ctx: Ctx, token: TokenRecord, rest: string): Answer {
    const { method, body } = ctx
    const write = method === 'POST' || method === 'PUT'
    const path = `sys/${rest}`
    let m: RegExpExecArray | null
    if (rest === 'seal' && write) {
      this.authorize(token, path, 'update', true)
      this.sealed = true
      return { status: 204 }
    }
    if (rest === 'auth' && method === 'GET') {
      this.authorize(token, path, 'read')
      const data: Record<string, unknown> = { 'token/': { type: 'token', description: 'token based credentials' } }
      for (const [name, mount] of this.authMounts) data[`${name}/`] = { type: mount.type, description: '' }
      return ok(data, 'system')
    }
    if ((m = /^auth\/(.+?)\/?$/.exec(rest)) !== null) {
      const name = m[1] ?? ''
      this.authorize(token, path, write ? 'update' : method === 'DELETE' ? 'delete' : 'read', true)
      if (write) {
        if (this.authMounts.has(name) || name === 'token')
          throw new HttpError(400, [`path is already in use at ${name}/`])
        if (body.type !== 'approle' && body.type !== 'kubernetes')
          throw new HttpError(400, [`unknown auth method type: ${stringOf(body.type)}`])
        this.authMounts.set(name, { type: body.type, appRoles: new Map(), k8sRoles: new Map() })
        return { status: 204 }
      }
      if (method === 'DELETE') {
        this.authMounts.delete(name)
        return { status: 204 }
      }
    }
    if ((m = /^mounts\/(.+?)\/?$/.exec(rest)) !== null) {
      const name = m[1] ?? ''
      this.authorize(token, path, write ? 'update' : method === 'DELETE' ? 'delete' : 'read', true)
      if (write) {
        if (this.kvMounts.has(name) || name === 'sys' || name === 'auth')
          throw new HttpError(400, [`path is already in use at ${name}/`])
        const options = isRecord(body.options) ? body.options : {}
        const isKv2 = body.type === 'kv-v2' || (body.type === 'kv' && String(options.version) === '2')
        if (!isKv2)
          throw new HttpError(400, ['the emulator mounts only KV version 2 (type "kv" with options.version "2")'])
        this.kvMounts.set(name, { maxVersions: 0, casRequired: false, keys: new Map() })
        return { status: 204 }
      }
      if (method === 'DELETE') {
        this.kvMounts.delete(name)
        return { status: 204 }
      }
    }
    if ((m = /^(?:policies\/acl|policy)\/(.+)$/.exec(rest)) !== null) {
      const name = (m[1] ?? '').toLowerCase()
      if (write) {
        this.authorize(token, path, 'update', true)
        const text = stringOf(body.policy ?? body.rules)
        if (text === '') throw new HttpError(400, ["'policy' parameter not supplied or empty"])
        if (name === 'root') throw new HttpError(400, ['cannot update "root" policy'])
        this.policies.set(name, { text, rules: parsePolicy(text) })
        return { status: 204 }
      }
      if (method === 'GET') {
        this.authorize(token, path, 'read', true)
        const policy = this.policies.get(name)
        if (policy === undefined) throw new HttpError(404, [])
        return ok({ name, policy: policy.text, rules: policy.text }, 'system')
      }
      if (method === 'DELETE') {
        this.authorize(token, path, 'delete', true)
        if (name === 'default' || name === 'root') throw new HttpError(400, [`cannot delete "${name}" policy`])
        this.policies.delete(name)
        return { status: 204 }
      }
    }
    if ((m = /^leases\/revoke-prefix\/(.+)$/.exec(rest)) !== null && write) {
      this.authorize(token, path, 'update', true)
      const prefix = m[1] ?? ''
      for (const t of this.tokens.values()) if (t.id !== this.rootToken && t.path.startsWith(prefix)) t.revoked = true
      return { status: 204 }
    }
    return this.noRoute(ctx, token)
  }

  // -------------------------------------------------------------------------------------------------------------
  // AppRole and Kubernetes

  private authMountRoutes(ctx: Ctx, token: TokenRecord, name: string, mount: AuthMount, rest: string): Answer {
    const { method, body } = ctx
    const write = method === 'POST' || method === 'PUT'
    const path = `auth/${name}/${rest}`
    const m = /^role\/([^/]+)(?:\/(role-id|secret-id))?$/.exec(rest)
    if (mount.type === 'kubernetes' && rest === 'config' && write) {
      this.authorize(token, path, 'update')
      return { status: 204 }
    }
    if (m === null) return this.noRoute(ctx, token)
    const roleName = m[1] ?? ''
    const sub = m[2]
    if (mount.type === 'kubernetes') {
      if (sub !== undefined) return this.noRoute(ctx, token)
      if (write) {
        this.authorize(token, path, mount.k8sRoles.has(roleName) ? 'update' : 'create')
        mount.k8sRoles.set(roleName, {
          name: roleName,
          serviceAccounts: listOf(body.bound_service_account_names),
          namespaces: listOf(body.bound_service_account_namespaces),
          policies: listOf(body.token_policies ?? body.policies),
          tokenTtl: parseDuration(body.token_ttl ?? body.ttl, 'token_ttl'),
          tokenMaxTtl: parseDuration(body.token_max_ttl ?? body.max_ttl, 'token_max_ttl')
        })
        return { status: 204 }
      }
      const role = mount.k8sRoles.get(roleName)
      if (method === 'GET') {
        this.authorize(token, path, 'read')
        if (role === undefined) throw new HttpError(404, [])
        return ok(
          {
            bound_service_account_names: role.serviceAccounts,
            bound_service_account_namespaces: role.namespaces,
            token_policies: role.policies,
            token_ttl: role.tokenTtl,
            token_max_ttl: role.tokenMaxTtl
          },
          'kubernetes'
        )
      }
      if (method === 'DELETE') {
        this.authorize(token, path, 'delete')
        mount.k8sRoles.delete(roleName)
        return { status: 204 }
      }
      throw new HttpError(405, [UNSUPPORTED])
    }

    const role = mount.appRoles.get(roleName)
    if (sub === undefined) {
      if (write) {
        this.authorize(token, path, role !== undefined ? 'update' : 'create')
        const next: AppRoleRecord = role ?? {
          name: roleName,
          roleId: randomUUID(),
          policies: [],
          tokenTtl: 0,
          tokenMaxTtl: 0,
          bindSecretId: true,
          secretIdTtl: 0,
          secretIdNumUses: 0,
          secretIds: new Map()
        }
        if ('token_policies' in body || 'policies' in body) next.policies = listOf(body.token_policies ?? body.policies)
        if ('token_ttl' in body) next.tokenTtl = parseDuration(body.token_ttl, 'token_ttl')
        if ('token_max_ttl' in body) next.tokenMaxTtl = parseDuration(body.token_max_ttl, 'token_max_ttl')
        if ('bind_secret_id' in body) next.bindSecretId = body.bind_secret_id !== false
        if ('secret_id_ttl' in body) next.secretIdTtl = parseDuration(body.secret_id_ttl, 'secret_id_ttl')
        if ('secret_id_num_uses' in body) next.secretIdNumUses = Number(body.secret_id_num_uses) || 0
        if (next.tokenMaxTtl > 0 && next.tokenTtl > next.tokenMaxTtl)
          throw new HttpError(400, ['"token_ttl" cannot be greater than "token_max_ttl"'])
        mount.appRoles.set(roleName, next)
        return { status: 204 }
      }
      if (method === 'GET') {
        this.authorize(token, path, 'read')
        if (role === undefined) throw new HttpError(404, [])
        return ok(
          {
            bind_secret_id: role.bindSecretId,
            secret_id_bound_cidrs: null,
            secret_id_num_uses: role.secretIdNumUses,
            secret_id_ttl: role.secretIdTtl,
            token_bound_cidrs: [],
            token_explicit_max_ttl: 0,
            token_max_ttl: role.tokenMaxTtl,
            token_no_default_policy: false,
            token_num_uses: 0,
            token_period: 0,
            token_policies: role.policies,
            policies: role.policies,
            token_ttl: role.tokenTtl,
            token_type: 'default'
          },
          'approle'
        )
      }
      if (method === 'DELETE') {
        this.authorize(token, path, 'delete')
        mount.appRoles.delete(roleName)
        return { status: 204 }
      }
      throw new HttpError(405, [UNSUPPORTED])
    }
    if (role === undefined) {
      this.authorize(token, path, write ? 'update' : 'read')
      throw new HttpError(400, [`role "${roleName}" does not exist`])
    }
    if (sub === 'role-id') {
      if (method === 'GET') {
        this.authorize(token, path, 'read')
        return ok({ role_id: role.roleId }, 'approle')
      }
      if (write) {
        this.authorize(token, path, 'update')
        const roleId = stringOf(body.role_id)
        if (roleId === '') throw new HttpError(400, ['missing role_id'])
        role.roleId = roleId
        return { status: 204 }
      }
      throw new HttpError(405, [UNSUPPORTED])
    }
    if (!write) throw new HttpError(405, [UNSUPPORTED])
    this.authorize(token, path, 'update')
    const issued = this.newSecretId(role)
    return ok(
      {
        secret_id: issued.secretId,
        secret_id_accessor: issued.accessor,
        secret_id_ttl: role.secretIdTtl,
        secret_id_num_uses: role.secretIdNumUses
      },
      'approle'
    )
  }

  private newSecretId(role: AppRoleRecord): { secretId: string; accessor: string } {
    const secretId = randomUUID()
    const accessor = randomUUID()
    role.secretIds.set(secretId, {
      accessor,
      expiresAt: role.secretIdTtl > 0 ? this.now() + role.secretIdTtl * 1000 : null,
      usesLeft: role.secretIdNumUses > 0 ? role.secretIdNumUses : null
    })
    return { secretId, accessor }
  }

  private approleLogin(mountName: string, mount: AuthMount, body: Record<string, unknown>): Answer {
    const roleId = stringOf(body.role_id)
    if (roleId === '') throw new HttpError(400, ['missing role_id'])
    const role = [...mount.appRoles.values()].find((r) => r.roleId === roleId)
    if (role === undefined) throw new HttpError(400, ['invalid role or secret ID'])
    if (role.bindSecretId) {
      const secretId = stringOf(body.secret_id)
      if (secretId === '') throw new HttpError(400, ['missing secret_id'])
      const entry = role.secretIds.get(secretId)
      if (entry === undefined || (entry.expiresAt !== null && entry.expiresAt <= this.now()))
        throw new HttpError(400, ['invalid role or secret ID'])
      if (entry.usesLeft !== null && --entry.usesLeft <= 0) role.secretIds.delete(secretId)
    }
    const token = this.issueToken({
      policies: ['default', ...role.policies],
      ttl: role.tokenTtl > 0 ? role.tokenTtl : SYSTEM_MAX_TTL,
      maxTtl: role.tokenMaxTtl,
      renewable: true,
      path: `auth/${mountName}/login`,
      displayName: mountName,
      meta: { role_name: role.name },
      orphan: true
    })
    return { status: 200, body: envelope(null, 'approle', this.authBlock(token, token.creationTtl)) }
  }

  private kubernetesLogin(mountName: string, mount: AuthMount, body: Record<string, unknown>): Answer {
    const roleName = stringOf(body.role)
    if (roleName === '') throw new HttpError(400, ['missing role'])
    const jwt = stringOf(body.jwt)
    if (jwt === '') throw new HttpError(400, ['missing jwt'])
    const role = mount.k8sRoles.get(roleName)
    if (role === undefined) throw new HttpError(400, [`invalid role name "${roleName}"`])
    const claims = jwtClaims(jwt)
    const serviceAccount = stringOf(claims?.['kubernetes.io/serviceaccount/service-account.name'])
    const namespace = stringOf(claims?.['kubernetes.io/serviceaccount/namespace'])
    const matches = (allowed: string[], value: string): boolean =>
      value !== '' && (allowed.includes('*') || allowed.includes(value))
    if (!matches(role.serviceAccounts, serviceAccount) || !matches(role.namespaces, namespace))
      throw new HttpError(403, ['permission denied'])
    const token = this.issueToken({
      policies: ['default', ...role.policies],
      ttl: role.tokenTtl > 0 ? role.tokenTtl : SYSTEM_MAX_TTL,
      maxTtl: role.tokenMaxTtl,
      renewable: true,
      path: `auth/${mountName}/login`,
      displayName: `${mountName}-${namespace}-${serviceAccount}`,
      meta: { role: roleName, service_account_name: serviceAccount, service_account_namespace: namespace },
      orphan: true
    })
    return { status: 200, body: envelope(null, 'kubernetes', this.authBlock(token, token.creationTtl)) }
  }

  // -------------------------------------------------------------------------------------------------------------
  // KV v2

  private kvRoutes(ctx: Ctx, token: TokenRecord, mountName: string, mount: KvMount, rest: string): Answer {
    const { method, body, query } = ctx
    const write = method === 'POST' || method === 'PUT'
    const full = (p: string): string => `${mountName}/${p}`
    const isList = method === 'GET' && parseBool(query.get('list'))

    if (rest === 'config') {
      if (method === 'GET') {
        this.authorize(token, full(rest), 'read')
        return ok(
          { cas_required: mount.casRequired, delete_version_after: '0s', max_versions: mount.maxVersions },
          'kv'
        )
      }
      if (write) {
        this.authorize(token, full(rest), 'update')
        if ('max_versions' in body) mount.maxVersions = Number(body.max_versions) || 0
        if ('cas_required' in body) mount.casRequired = body.cas_required === true || body.cas_required === 'true'
        return { status: 204 }
      }
      throw new HttpError(405, [UNSUPPORTED])
    }

    const m = /^(data|metadata|delete|undelete|destroy)(?:\/(.*))?$/.exec(rest)
    if (m === null) return this.noRoute(ctx, token)
    const kind = m[1] ?? ''
    const key = m[2] ?? ''

    if (kind === 'metadata' && isList) {
      const folder = key === '' || key.endsWith('/') ? key : `${key}/`
      this.authorize(token, full(`metadata/${folder}`), 'list')
      const names = new Set<string>()
      for (const name of mount.keys.keys()) {
        if (!name.startsWith(folder)) continue
        const tail = name.slice(folder.length)
        const slash = tail.indexOf('/')
        names.add(slash === -1 ? tail : tail.slice(0, slash + 1))
      }
      if (names.size === 0) throw new HttpError(404, [])
      return ok({ keys: [...names].sort() }, 'kv')
    }
    // KV v2 paths name a key: never empty, never a folder.
    if (key === '' || key.endsWith('/')) return this.noRoute(ctx, token)
    const record = mount.keys.get(key)
    const path = full(`${kind}/${key}`)

    switch (kind) {
      case 'data':
        if (method === 'GET') {
          this.authorize(token, path, 'read')
          return this.readData(record, query)
        }
        if (write) {
          this.authorize(token, path, record !== undefined ? 'update' : 'create')
          return this.writeData(mount, key, record, body)
        }
        if (method === 'DELETE') {
          this.authorize(token, path, 'delete')
          const latest = record?.versions.get(record.currentVersion)
          if (latest !== undefined && !latest.destroyed && latest.deletionTime === '')
            latest.deletionTime = new Date(this.now()).toISOString()
          return { status: 204 }
        }
        break
      case 'metadata':
        if (method === 'GET') {
          this.authorize(token, path, 'read')
          if (record === undefined) throw new HttpError(404, [])
          return ok(metadataData(record), 'kv')
        }
        if (write) {
          this.authorize(token, path, record !== undefined ? 'update' : 'create')
          const target = record ?? newKeyRecord(new Date(this.now()).toISOString())
          if ('max_versions' in body) target.maxVersions = Number(body.max_versions) || 0
          if ('cas_required' in body) target.casRequired = body.cas_required === true || body.cas_required === 'true'
          if (isRecord(body.custom_metadata)) target.customMetadata = stringRecord(body.custom_metadata)
          mount.keys.set(key, target)
          return { status: 204 }
        }
        if (method === 'DELETE') {
          this.authorize(token, path, 'delete')
          mount.keys.delete(key)
          return { status: 204 }
        }
        break
      default: {
        if (!write) break
        this.authorize(token, path, 'update')
        const versions = listOf(body.versions)
          .map(Number)
          .filter((v) => Number.isInteger(v) && v > 0)
        if (versions.length === 0) throw new HttpError(400, ['no version number provided'])
        for (const v of versions) {
          const version = record?.versions.get(v)
          if (version === undefined) continue
          if (kind === 'destroy') {
            version.destroyed = true
            version.data = undefined
          } else if (!version.destroyed) {
            version.deletionTime =
              kind === 'delete'
                ? version.deletionTime === ''
                  ? new Date(this.now()).toISOString()
                  : version.deletionTime
                : ''
          }
        }
        return { status: 204 }
      }
    }
    throw new HttpError(405, [UNSUPPORTED])
  }

  private readData(record: KeyRecord | undefined, query: URLSearchParams): Answer {
    if (record === undefined) throw new HttpError(404, [])
    const raw = query.get('version')
    let requested = 0
    if (raw !== null && raw !== '') {
      requested = Number(raw)
      if (!Number.isInteger(requested)) throw new HttpError(400, [`error converting input ${raw} for field "version"`])
    }
    const number = requested > 0 ? requested : record.currentVersion
    const version = record.versions.get(number)
    if (version === undefined) throw new HttpError(404, [])
    const data = {
      data: null as Record<string, unknown> | null,
      metadata: {
        created_time: version.createdTime,
        custom_metadata: record.customMetadata,
        deletion_time: version.deletionTime,
        destroyed: version.destroyed,
        version: number
      }
    }
    // A deleted or destroyed version answers 404 with the whole envelope and no "errors": never an older version.
    if ((version.deletionTime !== '' && Date.parse(version.deletionTime) <= this.now()) || version.destroyed) {
      return { status: 404, body: envelope(data, 'kv') }
    }
    data.data = version.data ?? null
    return ok(data, 'kv')
  }

  private writeData(
    mount: KvMount,
    key: string,
    existing: KeyRecord | undefined,
    body: Record<string, unknown>
  ): Answer {
    if (!isRecord(body.data)) throw new HttpError(400, ['no data provided'])
    const now = new Date(this.now()).toISOString()
    const record = existing ?? newKeyRecord(now)
    const options = isRecord(body.options) ? body.options : undefined
    if (options !== undefined && 'cas' in options) {
      const cas = Number(options.cas)
      if (!Number.isInteger(cas) || cas < 0 || (typeof options.cas !== 'number' && typeof options.cas !== 'string')) {
        throw new HttpError(400, ['error parsing check-and-set parameter'])
      }
      if (cas !== record.currentVersion)
        throw new HttpError(400, ['check-and-set parameter did not match the current version'])
    } else if (mount.casRequired || record.casRequired) {
      throw new HttpError(400, ['check-and-set parameter required for this call'])
    }
    record.currentVersion++
    const version: VersionRecord = {
      createdTime: now,
      deletionTime: '',
      destroyed: false,
      data: structuredClone(body.data)
    }
    record.versions.set(record.currentVersion, version)
    record.updatedTime = now
    // As Vault's KeyMetadata.AddVersion: the key's max_versions wins over the mount's; 0 = 10.
    const maxVersions =
      record.maxVersions > 0 ? record.maxVersions : mount.maxVersions > 0 ? mount.maxVersions : DEFAULT_MAX_VERSIONS
    if (record.currentVersion - record.oldestVersion >= maxVersions) {
      const toDelete = record.currentVersion - maxVersions
      for (let v = record.oldestVersion; v <= toDelete; v++) record.versions.delete(v)
      record.oldestVersion = toDelete + 1
    }
    mount.keys.set(key, record)
    return ok(
      {
        created_time: now,
        custom_metadata: record.customMetadata,
        deletion_time: '',
        destroyed: false,
        version: record.currentVersion
      },
      'kv'
    )
  }
}

// ---------------------------------------------------------------------------------------------------------------
// Helpers

function envelope(data: unknown, mountType: string, auth: unknown = null): Record<string, unknown> {
  return {
    request_id: randomUUID(),
    lease_id: '',
    renewable: false,
    lease_duration: 0,
    data,
    wrap_info: null,
    warnings: null,
    auth,
    mount_type: mountType
  }
}

function ok(data: unknown, mountType: string, wrapped = true): Answer {
  return { status: 200, body: wrapped ? envelope(data, mountType) : data }
}

function newKeyRecord(now: string): KeyRecord {
  return {
    currentVersion: 0,
    oldestVersion: 0,
    maxVersions: 0,
    casRequired: false,
    customMetadata: null,
    createdTime: now,
    updatedTime: now,
    versions: new Map()
  }
}

function metadataData(record: KeyRecord): Record<string, unknown> {
  const versions: Record<string, unknown> = {}
  for (const [n, v] of record.versions)
    versions[String(n)] = { created_time: v.createdTime, deletion_time: v.deletionTime, destroyed: v.destroyed }
  return {
    cas_required: record.casRequired,
    created_time: record.createdTime,
    current_version: record.currentVersion,
    custom_metadata: record.customMetadata,
    delete_version_after: '0s',
    max_versions: record.maxVersions,
    oldest_version: record.oldestVersion,
    updated_time: record.updatedTime,
    versions
  }
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value)
}

function stringOf(value: unknown): string {
  return typeof value === 'string' ? value : ''
}

function stringRecord(value: Record<string, unknown>): Record<string, string> {
  return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, typeof v === 'string' ? v : JSON.stringify(v)]))
}

/** Vault takes lists as JSON arrays or comma-separated strings. */
function listOf(value: unknown): string[] {
  if (Array.isArray(value)) return value.map((v) => String(v)).filter((v) => v !== '')
  if (typeof value === 'string')
    return value
      .split(',')
      .map((v) => v.trim())
      .filter((v) => v !== '')
  if (typeof value === 'number') return [String(value)]
  return []
}

/** Go's strconv.ParseBool, which Vault uses for `list`. */
function parseBool(value: string | null): boolean {
  return value !== null && ['1', 't', 'T', 'TRUE', 'true', 'True'].includes(value)
}

/** Seconds from a number or a Go-style duration ("90", "90s", "1m30s", "2h"). */
function parseDuration(value: unknown, field: string): number {
  if (value === undefined || value === null || value === '') return 0
  if (typeof value === 'number' && Number.isFinite(value)) return Math.floor(value)
  if (typeof value === 'string') {
    if (/^\d+$/.test(value)) return Number(value)
    const parts = [...value.matchAll(/(\d+(?:\.\d+)?)(ms|s|m|h|d)/g)]
    if (parts.length > 0 && parts.map((p) => p[0]).join('') === value) {
      const unit: Record<string, number> = { ms: 0.001, s: 1, m: 60, h: 3600, d: 86400 }
      return Math.floor(parts.reduce((sum, p) => sum + Number(p[1]) * (unit[p[2] ?? 's'] ?? 1), 0))
    }
  }
  throw new HttpError(400, [`error converting input ${JSON.stringify(value)} for field "${field}"`])
}

/** Seconds as Go prints a time.Duration: 90 → "1m30s", 3600 → "1h0m0s". */
function goDuration(seconds: number): string {
  const h = Math.floor(seconds / 3600)
  const m = Math.floor((seconds % 3600) / 60)
  const s = seconds % 60
  if (h > 0) return `${h}h${m}m${s}s`
  if (m > 0) return `${m}m${s}s`
  return `${s}s`
}

function decodePath(raw: string): string {
  return raw
    .split('/')
    .map((segment) => decodeURIComponent(segment))
    .join('/')
}

async function readBody(req: http.IncomingMessage): Promise<string> {
  const chunks: Buffer[] = []
  for await (const chunk of req) chunks.push(chunk as Buffer)
  return Buffer.concat(chunks).toString('utf8')
}

function randomId(length: number): string {
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789'
  return [...randomBytes(length)].map((b) => alphabet[b % alphabet.length] ?? 'A').join('')
}

function jwtClaims(jwt: string): Record<string, unknown> | undefined {
  const payload = jwt.split('.')[1]
  if (payload === undefined) return undefined
  try {
    const claims: unknown = JSON.parse(Buffer.from(payload, 'base64url').toString('utf8'))
    return isRecord(claims) ? claims : undefined
  } catch {
    return undefined
  }
}

/** Policies in HCL (`path "x" { capabilities = [...] }`, the subset used here) or JSON. */
function parsePolicy(text: string): Rule[] {
  const trimmed = text.trim()
  if (trimmed.startsWith('{')) {
    let parsed: unknown
    try {
      parsed = JSON.parse(trimmed)
    } catch (err) {
      throw new HttpError(400, [`failed to parse policy: ${(err as Error).message}`])
    }
    const paths = isRecord(parsed) && isRecord(parsed.path) ? parsed.path : {}
    return Object.entries(paths).map(([pattern, body]) => ({
      pattern,
      caps: new Set(listOf(isRecord(body) ? body.capabilities : undefined))
    }))
  }
  const withoutComments = text.replace(/(^|\s)(#|\/\/).*$/gm, '$1')
  const rules: Rule[] = []
  for (const m of withoutComments.matchAll(/path\s+"([^"]+)"\s*\{([^}]*)\}/g)) {
    const caps = /capabilities\s*=\s*\[([^\]]*)\]/.exec(m[2] ?? '')?.[1] ?? ''
    rules.push({ pattern: m[1] ?? '', caps: new Set([...caps.matchAll(/"([^"]+)"/g)].map((c) => c[1] ?? '')) })
  }
  if (rules.length === 0 && trimmed !== '') throw new HttpError(400, ['failed to parse policy: no path blocks found'])
  return rules
}

/** Vault's path globs: `+` is one segment, a trailing `*` any suffix. */
function globMatches(pattern: string, path: string): boolean {
  const prefixGlob = pattern.endsWith('*')
  const body = prefixGlob ? pattern.slice(0, -1) : pattern
  const regex = body
    .split('/')
    .map((segment) => (segment === '+' ? '[^/]+' : segment.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')))
    .join('/')
  return new RegExp(`^${regex}${prefixGlob ? '.*' : ''}$`).test(path)
}

/** Vault's priority between matching patterns, most specific first. */
function comparePatterns(a: string, b: string): number {
  const firstWildcard = (p: string): number => {
    const i = p.search(/\*|(^|\/)\+(\/|$)/)
    return i === -1 ? Number.MAX_SAFE_INTEGER : i
  }
  const plusCount = (p: string): number => p.split('/').filter((s) => s === '+').length
  return (
    firstWildcard(b) - firstWildcard(a) ||
    Number(a.endsWith('*')) - Number(b.endsWith('*')) ||
    plusCount(a) - plusCount(b) ||
    b.length - a.length ||
    (a < b ? 1 : a > b ? -1 : 0)
  )
}
