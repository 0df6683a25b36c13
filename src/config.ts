// The environment, declared once as a TypeBox schema and validated at boot, and the mode it puts the broker in.
// Embedded fallbacks (PGlite, a local key file, the in-process emulator) exist only in dev mode; production refuses
// to boot without a database, a secret store and Flow Service, so a missing or mistyped setting is never silent.
import { isIP } from 'node:net'
import { Type, type Static } from 'typebox'
import { Value } from 'typebox/value'
import { imsTokenEndpoint } from './flow-service/ims-token-source.js'
import { findUnknownSettings } from './unknown-settings.js'
import { ConfigError } from './errors/config-error.js'

const Port = Type.Integer({ minimum: 0, maximum: 65535 })
const Millis = Type.Integer({ minimum: 1 })

export const EnvSchema = Type.Object(
  {
    BROKER_MODE: Type.Optional(
      Type.Union([Type.Literal('dev'), Type.Literal('production')], {
        description:
          'dev: what is not configured falls back to its embedded form (PGlite, local key file, emulator). production: DATABASE_URL, a secret store and FLOW_SERVICE_URL are required. Unset: dev only when NODE_ENV is not production and none of DATABASE_URL, SECRET_STORE, VAULT_ADDR, FLOW_SERVICE_URL, IMS_* is set.'
      })
    ),
    PORT: Type.Optional(Type.Integer({ ...Port, default: 8080, description: 'HTTP port of the API.' })),
    HOST: Type.Optional(
      Type.String({ default: '127.0.0.1', description: 'Interface to listen on (0.0.0.0 in containers).' })
    ),
    LOG_LEVEL: Type.Optional(
      Type.String({
        pattern: '^(fatal|error|warn|info|debug|trace|silent)$',
        default: 'info',
        description: 'pino log level: fatal, error, warn, info, debug, trace or silent.'
      })
    ),

    DATABASE_URL: Type.Optional(
      Type.String({
        pattern: '^postgres(ql)?://',
        description: 'PostgreSQL URL. Unset: embedded PGlite under BROKER_DATA_DIR (dev mode only).'
      })
    ),
    DATABASE_POOL_SIZE: Type.Optional(
      Type.Integer({ minimum: 1, maximum: 100, default: 10, description: 'pg pool size (server databases only).' })
    ),
    BROKER_DATA_DIR: Type.Optional(
      Type.String({
        minLength: 1,
        default: './.data',
        description:
          'Where embedded data lives (dev mode): PGlite files, the local secret key file; made 0700, its files 0600, locked to one process.'
      })
    ),

    SECRET_STORE: Type.Optional(
      Type.Union([Type.Literal('local'), Type.Literal('vault')], {
        description: 'Secret backend. Default: vault when VAULT_ADDR is set, else local.'
      })
    ),
    BROKER_SECRET_KEY: Type.Optional(
      Type.String({
        description: 'Local store key: base64 of 32 bytes. Unset: a key file (mode 0600) in BROKER_DATA_DIR.'
      })
    ),
    VAULT_ADDR: Type.Optional(
      Type.String({ pattern: '^https?://', description: 'Vault address, e.g. http://127.0.0.1:8200.' })
    ),
    VAULT_KV_MOUNT: Type.Optional(
      Type.String({ pattern: '^[A-Za-z0-9_.-]+$', default: 'secret', description: 'KV v2 mount.' })
    ),
    VAULT_PATH_PREFIX: Type.Optional(
      Type.String({
        pattern: '^[A-Za-z0-9_.-]+(/[A-Za-z0-9_.-]+)*$',
        default: 'credential-broker',
        description: 'Path prefix under the mount.'
      })
    ),
    VAULT_NAMESPACE: Type.Optional(Type.String({ description: 'X-Vault-Namespace (Enterprise/HCP only).' })),
    VAULT_TOKEN: Type.Optional(Type.String({ minLength: 1, description: 'Vault token auth.' })),
    VAULT_ROLE_ID: Type.Optional(Type.String({ minLength: 1, description: 'AppRole role id.' })),
    VAULT_SECRET_ID: Type.Optional(Type.String({ minLength: 1, description: 'AppRole secret id.' })),
    VAULT_SECRET_ID_FILE: Type.Optional(
      Type.String({ minLength: 1, description: 'File holding the AppRole secret id.' })
    ),
    VAULT_APPROLE_MOUNT: Type.Optional(Type.String({ default: 'approle', description: 'AppRole auth mount.' })),
    VAULT_K8S_ROLE: Type.Optional(Type.String({ minLength: 1, description: 'Kubernetes auth role.' })),
    VAULT_K8S_TOKEN_PATH: Type.Optional(
      Type.String({
        default: '/var/run/secrets/kubernetes.io/serviceaccount/token',
        description: 'Service-account token file for Kubernetes auth.'
      })
    ),
    VAULT_K8S_MOUNT: Type.Optional(Type.String({ default: 'kubernetes', description: 'Kubernetes auth mount.' })),
    VAULT_TIMEOUT_MS: Type.Optional(
      Type.Integer({ ...Millis, default: 5000, description: 'Timeout of one Vault call.' })
    ),

    FLOW_SERVICE_URL: Type.Optional(
      Type.String({
        pattern: '^https?://',
        description: 'Flow Service base URL. Unset: the emulator, in-process on loopback.'
      })
    ),
    IMS_URL: Type.Optional(
      Type.String({
        pattern: '^https?://',
        description:
          'Adobe IMS: the base URL (https://ims-na1.adobelogin.com) or the token endpoint as the developer console shows it (…/ims/token/v3).'
      })
    ),
    IMS_CLIENT_ID: Type.Optional(Type.String({ minLength: 1, description: 'IMS client id; also sent as x-api-key.' })),
    IMS_CLIENT_SECRET: Type.Optional(Type.String({ minLength: 1, description: 'IMS client secret.' })),
    IMS_SCOPES: Type.Optional(
      Type.String({
        default: 'openid,AdobeID,read_organizations,additional_info.projectedProductContext,session',
        description: 'Comma-separated IMS scopes.'
      })
    ),
    IMS_ORG_ID: Type.Optional(
      Type.String({ pattern: '@AdobeOrg$', description: 'x-gw-ims-org-id, e.g. ABC123@AdobeOrg.' })
    ),
    FLOW_SERVICE_TIMEOUT_MS: Type.Optional(
      Type.Integer({ ...Millis, default: 10000, description: 'Timeout of one Flow Service call.' })
    ),
    DEFAULT_SANDBOX_NAME: Type.Optional(
      Type.String({
        pattern: '^[a-z0-9-]+$',
        default: 'prod',
        description: 'Sandbox used when a request has no x-sandbox-name.'
      })
    ),

    BROKER_ADMIN_KEY: Type.Optional(
      Type.String({
        minLength: 32,
        description:
          'Admin API key created (or kept) at boot; a revoked value stays revoked, a new value revokes the previous one.'
      })
    ),
    API_RATE_LIMIT_PER_MINUTE: Type.Optional(
      Type.Integer({
        minimum: 0,
        default: 600,
        description:
          'Requests per minute per API key, in each replica (a token bucket that also allows a burst of this size); 0 turns the limit off.'
      })
    ),
    UNAUTH_RATE_LIMIT_PER_MINUTE: Type.Optional(
      Type.Integer({
        minimum: 0,
        default: 60,
        description:
          'Per client address, in each replica: requests a minute to /v1 routes without a usable Authorization header, and, separately, failed key lookups a minute (unknown or revoked keys); beyond either the address gets 429 before any database work. 0 turns both limits off.'
      })
    ),
    TRUST_PROXY: Type.Optional(
      Type.String({
        default: 'false',
        description:
          "Whose X-Forwarded-For to believe for the client address (the rate-limit and audit key): false (the socket peer is the client), true (believe any sender; only behind a proxy that overwrites the header), or a comma-separated list of your proxies' addresses/CIDRs."
      })
    ),
    API_KEY_CACHE_TTL_MS: Type.Optional(
      Type.Integer({
        minimum: 0,
        maximum: 300000,
        default: 10000,
        description:
          'How long a replica trusts a looked-up API key without asking the database again. Revocations reach every replica at once (PostgreSQL NOTIFY); this only bounds how long a lost notification could matter. 0: every request asks the database.'
      })
    ),

    POLL_FAST_INTERVAL_MS: Type.Optional(
      Type.Integer({ ...Millis, default: 2000, description: 'Poll interval while pending/initializing.' })
    ),
    POLL_STEADY_INTERVAL_MS: Type.Optional(
      Type.Integer({ ...Millis, default: 60000, description: 'Poll interval once stable.' })
    ),
    POLL_BATCH_SIZE: Type.Optional(
      Type.Integer({ minimum: 1, maximum: 100, default: 100, description: 'Connections claimed per poll batch.' })
    ),
    POLL_LEASE_MS: Type.Optional(
      Type.Integer({ ...Millis, default: 30000, description: 'How long a replica holds claimed connections.' })
    ),
    POLLER_ENABLED: Type.Optional(
      Type.Boolean({ default: true, description: 'Run the background poller in this process.' })
    ),
    FLOW_SERVICE_MAX_RPS: Type.Optional(
      Type.Integer({
        minimum: 0,
        default: 50,
        description:
          'Request budget towards Flow Service, in calls per second for all replicas together (polling and API traffic alike); each replica paces itself at FLOW_SERVICE_MAX_RPS / BROKER_REPLICAS. 0 turns pacing off (a 429 still pauses calls for Retry-After).'
      })
    ),
    BROKER_REPLICAS: Type.Optional(
      Type.Integer({
        minimum: 1,
        default: 1,
        description:
          'The most broker replicas that ever run at once (count the extra one of a rolling update); each takes an equal share of FLOW_SERVICE_MAX_RPS.'
      })
    ),
    METRICS_REQUIRE_KEY: Type.Optional(
      Type.Boolean({
        default: false,
        description: 'Require an API key (any valid one) for GET /metrics; otherwise it is open.'
      })
    ),

    CREATE_DEADLINE_MS: Type.Optional(
      Type.Integer({
        ...Millis,
        default: 20000,
        description:
          'How long a create keeps retrying Flow Service before answering 503 (the connection stays pending for the reconciler).'
      })
    ),
    CHANGE_DEADLINE_MS: Type.Optional(
      Type.Integer({
        ...Millis,
        default: 10000,
        description:
          'Time budget of a rename, rotation or delete towards Flow Service, waiting for an initializing connection included.'
      })
    ),
    RECONCILE_INTERVAL_MS: Type.Optional(
      Type.Integer({
        ...Millis,
        default: 30000,
        description:
          'How often the reconciler settles pending connections, unfinished rotations and leftover secrets (it also runs at boot).'
      })
    ),
    ORPHAN_SWEEP_INTERVAL_MS: Type.Optional(
      Type.Integer({
        ...Millis,
        default: 600000,
        description: 'How often the secret store is swept for keys no live connection needs (runs with the reconciler).'
      })
    ),
    ORPHAN_GRACE_MS: Type.Optional(
      Type.Integer({
        ...Millis,
        default: 3600000,
        description: 'How long a secret must look orphaned before the sweep removes it.'
      })
    ),
    PENDING_GRACE_MS: Type.Optional(
      Type.Integer({
        ...Millis,
        default: 60000,
        description:
          'Age after which a pending connection is completed or rolled back; at least CREATE_DEADLINE_MS + 2 × FLOW_SERVICE_TIMEOUT_MS.'
      })
    ),
    GONE_CONFIRM_MS: Type.Optional(
      Type.Integer({
        ...Millis,
        default: 10000,
        description:
          'A connection is recorded as deleted downstream only after Flow Service answered 404 twice, at least this long apart.'
      })
    ),
    DUPLICATE_WATCH_MS: Type.Optional(
      Type.Integer({
        ...Millis,
        default: 3600000,
        description:
          "After a create whose POST may have been sent more than once, how long the reconciler keeps looking for late-landing duplicates (found by the broker's marker) and deletes them."
      })
    ),
    RECONCILER_ENABLED: Type.Optional(
      Type.Boolean({ default: true, description: 'Run the reconciler in this process.' })
    ),

    HTTP_HEADERS_TIMEOUT_MS: Type.Optional(
      Type.Integer({
        ...Millis,
        default: 10000,
        description:
          "A request's headers must arrive within this time, or it is answered 408 and its connection closed."
      })
    ),
    HTTP_REQUEST_TIMEOUT_MS: Type.Optional(
      Type.Integer({
        ...Millis,
        default: 30000,
        description:
          'A whole request, body included, must arrive within this time, or it is answered 408 and its connection closed; at least HTTP_HEADERS_TIMEOUT_MS.'
      })
    ),
    HTTP_CONNECTION_TIMEOUT_MS: Type.Optional(
      Type.Integer({
        ...Millis,
        default: 60000,
        description:
          'A connection with no traffic either way for this long is closed; greater than CREATE_DEADLINE_MS + 2 × FLOW_SERVICE_TIMEOUT_MS, the longest a request may wait for its answer.'
      })
    ),
    HTTP_KEEP_ALIVE_TIMEOUT_MS: Type.Optional(
      Type.Integer({
        ...Millis,
        default: 72000,
        description:
          "How long an idle keep-alive connection stays open (longer than a load balancer's idle timeout, so the balancer closes first)."
      })
    ),
    HTTP_MAX_REQUESTS_PER_SOCKET: Type.Optional(
      Type.Integer({
        minimum: 0,
        default: 1000,
        description: 'Requests served on one connection before it is closed; 0: unlimited.'
      })
    ),

    EMULATOR_READY_DELAY_MS: Type.Optional(
      Type.Integer({
        minimum: 0,
        default: 3000,
        description: 'Dev mode: how long the emulator keeps a new connection initializing.'
      })
    ),

    OTEL_EXPORTER_OTLP_ENDPOINT: Type.Optional(
      Type.String({
        pattern: '^https?://',
        description:
          'OpenTelemetry collector (OTLP over HTTP), e.g. http://otel-collector:4318: spans are sent to its /v1/traces. Unset: no tracing at all (no spans are made). The exporter also reads the standard OTEL_EXPORTER_OTLP_HEADERS and OTEL_EXPORTER_OTLP_TIMEOUT.'
      })
    ),
    OTEL_SERVICE_NAME: Type.Optional(
      Type.String({
        minLength: 1,
        default: 'credential-broker',
        description: 'service.name of the spans, when tracing is on.'
      })
    )
  },
  { additionalProperties: true }
)

export type Env = Static<typeof EnvSchema>

export type BrokerMode = 'dev' | 'production'

/** What a process needs configured in production; the ops CLIs need only the database. */
export type Dependency = 'database' | 'secretStore' | 'flowService'
const ALL_DEPENDENCIES: readonly Dependency[] = ['database', 'secretStore', 'flowService']

export interface Config {
  mode: BrokerMode
  /** Why this mode (BROKER_MODE=…, NODE_ENV=production, a production setting, or nothing set), for the boot line. */
  modeReason: string
  /** Dev mode only (production refuses them): variables that look like settings but are not, to log at boot. */
  warnings: string[]
  port: number
  host: string
  logLevel: string
  database: { kind: 'postgres'; url: string; poolSize: number } | { kind: 'pglite'; dataDir: string }
  dataDir: string
  secretStore:
    | { kind: 'local'; key?: Buffer }
    | {
        kind: 'vault'
        addr: string
        mount: string
        prefix: string
        namespace?: string
        timeoutMs: number
        auth: VaultAuth
      }
  flowService:
    | { kind: 'emulator'; readyDelayMs: number; sandbox: string; timeoutMs: number }
    | {
        kind: 'remote'
        url: string
        imsUrl: string
        clientId: string
        clientSecret: string
        scopes: string
        orgId: string
        timeoutMs: number
      }
  defaultSandboxName: string
  adminKey?: string
  /** Per API key, per replica; 0: no limit. */
  apiRateLimitPerMinute: number
  apiKeyCacheTtlMs: number
  /** Per client address, per replica, for callers without a valid key; 0: no limit. */
  unauthRateLimitPerMinute: number
  /** Fastify's trustProxy: which X-Forwarded-For hops decide the client address. */
  trustProxy: TrustProxy
  poller: { enabled: boolean; fastIntervalMs: number; steadyIntervalMs: number; batchSize: number; leaseMs: number }
  /** This replica's share of the request budget towards Flow Service, in calls per second; 0: unpaced. */
  flowServiceRatePerSecond: number
  metrics: { requireKey: boolean }
  /** Present only when OTEL_EXPORTER_OTLP_ENDPOINT is set: spans exported there (OTLP over HTTP). */
  tracing?: { endpoint: string; serviceName: string }
  /** Time budgets of requests that call Flow Service. */
  deadlines: { createMs: number; changeMs: number }
  reconciler: { enabled: boolean; intervalMs: number; pendingGraceMs: number }
  /** How much evidence a downstream answer needs before the broker acts on it. */
  downstreamEvidence: { goneConfirmMs: number; duplicateWatchMs: number }
  orphanSweep: { intervalMs: number; graceMs: number }
  /** Limits on slow or greedy HTTP clients. */
  http: {
    headersTimeoutMs: number
    requestTimeoutMs: number
    connectionTimeoutMs: number
    keepAliveTimeoutMs: number
    maxRequestsPerSocket: number
  }
}

export type TrustProxy = boolean | string[]

export type VaultAuth =
  | { method: 'token'; token: string }
  | { method: 'approle'; mount: string; roleId: string; secretId?: string; secretIdFile?: string }
  | { method: 'kubernetes'; mount: string; role: string; tokenPath: string }

export { ConfigError }

const BOOLEAN_VARS = new Set(['POLLER_ENABLED', 'RECONCILER_ENABLED', 'METRICS_REQUIRE_KEY'])

export interface LoadConfigOptions {
  /** What must be configured in production mode (default: all three). */
  needs?: readonly Dependency[]
}

/** Parses process.env (or another map) into a Config; throws ConfigError naming the variable. */
export function loadConfig(
  source: Record<string, string | undefined> = process.env,
  options: LoadConfigOptions = {}
): Config {
  const raw: Record<string, unknown> = {}
  for (const key of Object.keys(EnvSchema.properties)) {
    const value = source[key]
    if (value === undefined || value === '') continue
    raw[key] = coerce(key, value)
  }
  const withDefaults = Value.Default(EnvSchema, raw) as Record<string, unknown>
  const first = [...Value.Errors(EnvSchema, withDefaults)][0]
  if (first !== undefined) {
    const variable =
      first.instancePath.replace(/^\//, '') ||
      String((first.params as { requiredProperties?: string[] }).requiredProperties?.[0] ?? 'environment')
    const described = (EnvSchema.properties as Record<string, { description?: string }>)[variable]?.description
    throw new ConfigError(variable, `${first.message}${described !== undefined ? ` (${described})` : ''}`)
  }
  const env = withDefaults as Required<Env>
  const { mode, reason } = decideMode(env, source)
  const warnings: string[] = []
  for (const unknown of findUnknownSettings(source, Object.keys(EnvSchema.properties))) {
    const hint = unknown.suggestion !== undefined ? `; did you mean ${unknown.suggestion}?` : ''
    if (mode === 'production') {
      throw new ConfigError(
        unknown.name,
        `is not a setting of the broker${hint} Production mode (${reason}) refuses unknown variables that look like settings: rename or remove it.`
      )
    }
    warnings.push(`${unknown.name} is not a setting of the broker${hint} It is ignored.`)
  }
  // Contradictions first (they name the exact variable), then what production misses.
  const config = toConfig(env)
  if (mode === 'production') requireProductionSettings(env, reason, options.needs ?? ALL_DEPENDENCIES)
  return { mode, modeReason: reason, warnings, ...config }
}

/** Variables that point at real infrastructure: any of them means the broker is meant to run for real. */
const PRODUCTION_SETTINGS = [
  'DATABASE_URL',
  'SECRET_STORE',
  'VAULT_ADDR',
  'FLOW_SERVICE_URL',
  'IMS_URL',
  'IMS_CLIENT_ID',
  'IMS_CLIENT_SECRET',
  'IMS_ORG_ID'
] as const

/** Dev mode only when chosen, or when nothing at all says otherwise (`npm start` on a fresh machine). */
function decideMode(
  env: Required<Env>,
  source: Record<string, string | undefined>
): { mode: BrokerMode; reason: string } {
  if (env.BROKER_MODE !== undefined) return { mode: env.BROKER_MODE, reason: `BROKER_MODE=${env.BROKER_MODE}` }
  if (source.NODE_ENV === 'production') return { mode: 'production', reason: 'NODE_ENV=production' }
  const set = PRODUCTION_SETTINGS.find((name) => env[name] !== undefined)
  if (set !== undefined) return { mode: 'production', reason: `${set} is set` }
  return { mode: 'dev', reason: 'no production setting and NODE_ENV is not production' }
}

/** Production never falls back: each dependency the process needs must be configured, named if it is not. */
function requireProductionSettings(env: Required<Env>, reason: string, needs: readonly Dependency[]): void {
  const missing: Array<[string, string]> = []
  if (needs.includes('database') && env.DATABASE_URL === undefined) {
    missing.push(['DATABASE_URL', 'the PostgreSQL URL (embedded PGlite is for dev mode only)'])
  }
  if (needs.includes('secretStore')) {
    const kind =
      env.SECRET_STORE ??
      (env.VAULT_ADDR !== undefined ? 'vault' : env.BROKER_SECRET_KEY !== undefined ? 'local' : undefined)
    if (kind === undefined)
      missing.push(['SECRET_STORE', 'vault (with VAULT_ADDR and a Vault auth method), or local with BROKER_SECRET_KEY'])
    else if (kind === 'local' && env.BROKER_SECRET_KEY === undefined)
      missing.push(['BROKER_SECRET_KEY', 'the local store key (a key file made at boot is for dev mode only)'])
  }
  if (needs.includes('flowService') && env.FLOW_SERVICE_URL === undefined) {
    missing.push([
      'FLOW_SERVICE_URL',
      'the Flow Service base URL with IMS_URL, IMS_CLIENT_ID, IMS_CLIENT_SECRET, IMS_ORG_ID (the emulator is for dev mode only)'
    ])
  }
  const [first, ...others] = missing
  if (first === undefined) return
  const also = others.length > 0 ? ` Also required: ${others.map(([name]) => name).join(', ')}.` : ''
  throw new ConfigError(
    first[0],
    `is required in production mode (${reason}): ${first[1]}.${also} For embedded fallbacks, set BROKER_MODE=dev.`
  )
}

function coerce(key: string, value: string): unknown {
  const schema = (EnvSchema.properties as Record<string, { type?: string }>)[key]
  if (BOOLEAN_VARS.has(key)) {
    if (/^(1|true|yes|on)$/i.test(value)) return true
    if (/^(0|false|no|off)$/i.test(value)) return false
    throw new ConfigError(key, `expected true or false, got "${value}"`)
  }
  if (schema?.type === 'integer') {
    if (!/^-?\d+$/.test(value.trim())) throw new ConfigError(key, `expected an integer, got "${value}"`)
    return Number(value)
  }
  return value
}

function toConfig(env: Required<Env>): Omit<Config, 'mode' | 'modeReason' | 'warnings'> {
  const dataDir = env.BROKER_DATA_DIR
  const secretStore = secretStoreConfig(env)
  const flowService = flowServiceConfig(env)
  if (env.POLL_FAST_INTERVAL_MS > env.POLL_STEADY_INTERVAL_MS) {
    throw new ConfigError(
      'POLL_FAST_INTERVAL_MS',
      `must not exceed POLL_STEADY_INTERVAL_MS (${env.POLL_FAST_INTERVAL_MS} > ${env.POLL_STEADY_INTERVAL_MS})`
    )
  }
  // A pending row younger than this may still have a create (and its last POST) running: settling it earlier
  // could roll back a connection that is being created, or adopt one twice.
  const createMaxMs = env.CREATE_DEADLINE_MS + 2 * env.FLOW_SERVICE_TIMEOUT_MS
  if (env.PENDING_GRACE_MS < createMaxMs) {
    throw new ConfigError(
      'PENDING_GRACE_MS',
      `must be at least CREATE_DEADLINE_MS + 2 × FLOW_SERVICE_TIMEOUT_MS (${createMaxMs}), got ${env.PENDING_GRACE_MS}`
    )
  }
  if (env.HTTP_HEADERS_TIMEOUT_MS > env.HTTP_REQUEST_TIMEOUT_MS) {
    throw new ConfigError(
      'HTTP_HEADERS_TIMEOUT_MS',
      `must not exceed HTTP_REQUEST_TIMEOUT_MS (${env.HTTP_HEADERS_TIMEOUT_MS} > ${env.HTTP_REQUEST_TIMEOUT_MS})`
    )
  }
  // An idle socket is one whose request is still being worked on, too: closing it earlier would drop the answer.
  if (env.HTTP_CONNECTION_TIMEOUT_MS <= createMaxMs) {
    throw new ConfigError(
      'HTTP_CONNECTION_TIMEOUT_MS',
      `must be greater than CREATE_DEADLINE_MS + 2 × FLOW_SERVICE_TIMEOUT_MS (${createMaxMs}), got ${env.HTTP_CONNECTION_TIMEOUT_MS}`
    )
  }
  return {
    port: env.PORT,
    host: env.HOST,
    logLevel: env.LOG_LEVEL,
    database:
      env.DATABASE_URL !== undefined
        ? { kind: 'postgres', url: env.DATABASE_URL, poolSize: env.DATABASE_POOL_SIZE }
        : { kind: 'pglite', dataDir },
    dataDir,
    secretStore,
    flowService,
    defaultSandboxName: env.DEFAULT_SANDBOX_NAME,
    ...(env.BROKER_ADMIN_KEY !== undefined ? { adminKey: env.BROKER_ADMIN_KEY } : {}),
    apiRateLimitPerMinute: env.API_RATE_LIMIT_PER_MINUTE,
    apiKeyCacheTtlMs: env.API_KEY_CACHE_TTL_MS,
    unauthRateLimitPerMinute: env.UNAUTH_RATE_LIMIT_PER_MINUTE,
    trustProxy: trustProxyOf(env.TRUST_PROXY),
    poller: {
      enabled: env.POLLER_ENABLED,
      fastIntervalMs: env.POLL_FAST_INTERVAL_MS,
      steadyIntervalMs: env.POLL_STEADY_INTERVAL_MS,
      batchSize: env.POLL_BATCH_SIZE,
      leaseMs: env.POLL_LEASE_MS
    },
    flowServiceRatePerSecond: env.FLOW_SERVICE_MAX_RPS / env.BROKER_REPLICAS,
    metrics: { requireKey: env.METRICS_REQUIRE_KEY },
    ...(env.OTEL_EXPORTER_OTLP_ENDPOINT !== undefined
      ? { tracing: { endpoint: env.OTEL_EXPORTER_OTLP_ENDPOINT, serviceName: env.OTEL_SERVICE_NAME } }
      : {}),
    deadlines: { createMs: env.CREATE_DEADLINE_MS, changeMs: env.CHANGE_DEADLINE_MS },
    reconciler: {
      enabled: env.RECONCILER_ENABLED,
      intervalMs: env.RECONCILE_INTERVAL_MS,
      pendingGraceMs: env.PENDING_GRACE_MS
    },
    downstreamEvidence: { goneConfirmMs: env.GONE_CONFIRM_MS, duplicateWatchMs: env.DUPLICATE_WATCH_MS },
    orphanSweep: { intervalMs: env.ORPHAN_SWEEP_INTERVAL_MS, graceMs: env.ORPHAN_GRACE_MS },
    http: {
      headersTimeoutMs: env.HTTP_HEADERS_TIMEOUT_MS,
      requestTimeoutMs: env.HTTP_REQUEST_TIMEOUT_MS,
      connectionTimeoutMs: env.HTTP_CONNECTION_TIMEOUT_MS,
      keepAliveTimeoutMs: env.HTTP_KEEP_ALIVE_TIMEOUT_MS,
      maxRequestsPerSocket: env.HTTP_MAX_REQUESTS_PER_SOCKET
    }
  }
}

/**
 * TRUST_PROXY as Fastify takes it. Believing X-Forwarded-For from anyone would let a flood pick a fresh address per
 * request and escape the per-address limits, hence off by default and precise when on.
 */
function trustProxyOf(value: string): TrustProxy {
  const text = value.trim()
  if (/^(true|yes|on)$/i.test(text)) return true
  if (/^(false|no|off)$/i.test(text)) return false
  // Fastify 5 trusts no proxy for a bare hop count (it cannot tell the peer is one), so it is refused here.
  const entries = text.split(',').map((e) => e.trim())
  for (const entry of entries) {
    const [address, prefix, ...rest] = entry.split('/')
    const family = isIP(address ?? '')
    const prefixOk = prefix === undefined || (/^\d+$/.test(prefix) && Number(prefix) <= (family === 6 ? 128 : 32))
    if (family === 0 || !prefixOk || rest.length > 0) {
      throw new ConfigError(
        'TRUST_PROXY',
        `expected true, false or a comma-separated list of proxy addresses or CIDRs (e.g. 10.0.0.0/8,127.0.0.1); "${entry}" is none of those`
      )
    }
  }
  return entries
}

function secretStoreConfig(env: Required<Env>): Config['secretStore'] {
  const kind = env.SECRET_STORE ?? (env.VAULT_ADDR !== undefined ? 'vault' : 'local')
  if (kind === 'local') {
    if (env.BROKER_SECRET_KEY === undefined) return { kind }
    const key = Buffer.from(env.BROKER_SECRET_KEY, 'base64')
    if (key.length !== 32 || key.toString('base64') !== env.BROKER_SECRET_KEY.trim()) {
      throw new ConfigError(
        'BROKER_SECRET_KEY',
        `must be the base64 encoding of exactly 32 bytes (got ${key.length} bytes); generate one with: openssl rand -base64 32`
      )
    }
    return { kind, key }
  }
  if (env.VAULT_ADDR === undefined) throw new ConfigError('VAULT_ADDR', 'is required when SECRET_STORE=vault')
  const methods = [
    env.VAULT_TOKEN !== undefined && 'VAULT_TOKEN',
    env.VAULT_ROLE_ID !== undefined && 'VAULT_ROLE_ID',
    env.VAULT_K8S_ROLE !== undefined && 'VAULT_K8S_ROLE'
  ].filter((m): m is string => m !== false)
  if (methods.length === 0)
    throw new ConfigError(
      'VAULT_TOKEN',
      'Vault needs one auth method: VAULT_TOKEN, VAULT_ROLE_ID with VAULT_SECRET_ID(_FILE), or VAULT_K8S_ROLE'
    )
  if (methods.length > 1)
    throw new ConfigError(
      methods[1] ?? 'VAULT_TOKEN',
      `contradicts ${methods[0] ?? ''}: set exactly one Vault auth method`
    )
  let auth: VaultAuth
  if (env.VAULT_TOKEN !== undefined) auth = { method: 'token', token: env.VAULT_TOKEN }
  else if (env.VAULT_ROLE_ID !== undefined) {
    if (env.VAULT_SECRET_ID === undefined && env.VAULT_SECRET_ID_FILE === undefined)
      throw new ConfigError('VAULT_SECRET_ID', 'is required with VAULT_ROLE_ID (or VAULT_SECRET_ID_FILE)')
    if (env.VAULT_SECRET_ID !== undefined && env.VAULT_SECRET_ID_FILE !== undefined)
      throw new ConfigError('VAULT_SECRET_ID_FILE', 'contradicts VAULT_SECRET_ID: give the AppRole secret id one way')
    auth = {
      method: 'approle',
      mount: env.VAULT_APPROLE_MOUNT,
      roleId: env.VAULT_ROLE_ID,
      ...(env.VAULT_SECRET_ID !== undefined
        ? { secretId: env.VAULT_SECRET_ID }
        : { secretIdFile: env.VAULT_SECRET_ID_FILE })
    }
  } else
    auth = {
      method: 'kubernetes',
      mount: env.VAULT_K8S_MOUNT,
      role: env.VAULT_K8S_ROLE,
      tokenPath: env.VAULT_K8S_TOKEN_PATH
    }
  return {
    kind: 'vault',
    addr: env.VAULT_ADDR.replace(/\/+$/, ''),
    mount: env.VAULT_KV_MOUNT,
    prefix: env.VAULT_PATH_PREFIX,
    ...(env.VAULT_NAMESPACE !== undefined ? { namespace: env.VAULT_NAMESPACE } : {}),
    timeoutMs: env.VAULT_TIMEOUT_MS,
    auth
  }
}

function flowServiceConfig(env: Required<Env>): Config['flowService'] {
  if (env.FLOW_SERVICE_URL === undefined) {
    for (const v of ['IMS_URL', 'IMS_CLIENT_ID', 'IMS_CLIENT_SECRET', 'IMS_ORG_ID'] as const) {
      if (env[v] !== undefined)
        throw new ConfigError(
          'FLOW_SERVICE_URL',
          `is required when ${v} is set (without it the broker runs the in-process emulator)`
        )
    }
    return {
      kind: 'emulator',
      readyDelayMs: env.EMULATOR_READY_DELAY_MS,
      sandbox: env.DEFAULT_SANDBOX_NAME,
      timeoutMs: env.FLOW_SERVICE_TIMEOUT_MS
    }
  }
  for (const v of ['IMS_URL', 'IMS_CLIENT_ID', 'IMS_CLIENT_SECRET', 'IMS_ORG_ID'] as const) {
    if (env[v] === undefined) throw new ConfigError(v, 'is required when FLOW_SERVICE_URL is set')
  }
  try {
    imsTokenEndpoint(env.IMS_URL)
  } catch (err) {
    throw new ConfigError('IMS_URL', (err as Error).message)
  }
  return {
    kind: 'remote',
    url: env.FLOW_SERVICE_URL.replace(/\/+$/, ''),
    imsUrl: env.IMS_URL.replace(/\/+$/, ''),
    clientId: env.IMS_CLIENT_ID,
    clientSecret: env.IMS_CLIENT_SECRET,
    scopes: env.IMS_SCOPES,
    orgId: env.IMS_ORG_ID,
    timeoutMs: env.FLOW_SERVICE_TIMEOUT_MS
  }
}
