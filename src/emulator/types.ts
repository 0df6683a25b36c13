// Public types of the Flow Service + IMS emulator: its options, the running handle and the control surface tests drive.
import { Type, type Static } from 'typebox'
import { ParamValue } from '../flow-service/types.js'
import type { Clock } from '../shared/clock.js'

/** The subset of a pino logger the emulator uses; a pino instance fits. */
export interface EmulatorLogger {
  info: (obj: object, msg?: string) => void
  debug: (obj: object, msg?: string) => void
  warn: (obj: object, msg?: string) => void
}

export interface EmulatorOptions {
  /** Interface to listen on. Default 127.0.0.1. */
  host?: string
  /** 0 (the default) picks a free port. */
  port?: number
  /** How long a new connection stays `initializing`. 0 = enabled on first read. Default 3000. */
  readyDelayMs?: number
  /** The only IMS client (and x-api-key) the emulator accepts. Default 'broker-dev-client'. */
  clientId?: string
  clientSecret?: string
  /** The only x-gw-ims-org-id accepted. Default 'DEV0000000000000000000000@AdobeOrg'. */
  orgId?: string
  /** `expires_in` of minted tokens, in seconds. Default 86399 (what IMS answers). */
  tokenTtlSeconds?: number
  /** How many recent requests the request log keeps. Default 1000. */
  requestLogSize?: number
  logger?: EmulatorLogger
  /**
   * What `initializing` ends by (readyDelayMs), etags, tokens, late landings' due times and the request log read;
   * default the system clock. Held requests, delays and late landings still fire on real timers: they race the
   * client's real socket timeouts, and a test lands late creates at once with control.landNow().
   */
  clock?: Clock
}

/** The operations faults and counters are keyed by. */
export const OPERATIONS = ['token', 'create', 'get', 'list', 'update', 'delete', 'test'] as const
export type Operation = (typeof OPERATIONS)[number]

/**
 * What an injected fault does to the next matching request(s).
 * - status: answer `status` with the body Adobe sends for it (1102-500, 502 gateway, 1103-503, 1104-504, 404 → 1439-404;
 *   IMS shape for `token`).
 * - rate-limit: 429, with `Retry-After: retryAfterSeconds` when given; `emptyBody` mimics gateways that send nothing.
 * - timeout: hold the request without doing anything for delayMs (default 60 s), then drop the socket unanswered.
 * - lost-answer: perform the operation, then drop the socket unanswered (the connection IS created/updated/deleted);
 *   with `thenBump`, Adobe's own identity then touches the connection once more (same state, new etag).
 * - reset: drop the socket at once without doing anything.
 * - reject: a Flow Service error with the given catalogue code (`1418-400`), status taken from the code;
 *   for `token`, an IMS error `{error: code, error_description: message}` with status 400.
 * - delay: wait delayMs, then handle the request normally.
 * - odd-200: a 200 (201 for create) whose body has no usable answer; nothing is done.
 * - other-item: get/list answer with an item of another id, instead of (`replace`) or besides (`add`) the right ones.
 * - same-id: a create answered 201 with the id and etag of another connection (`id`, default the one created last);
 *   with `create` (default true) the requested connection is created too, under its own id.
 * - late-landing: a create whose answer is lost (`drop`, default; a `504`; or held `timeout` for `holdMs`, default 60 s)
 *   and whose connection appears only `delayMs` later.
 * - echo: an error (default 400 `1100-400`) quoting the request's auth params (create/update) or its query string
 *   (other operations) in every listed encoding; nothing is done.
 * A schema, because the HTTP control API receives faults as JSON.
 */
export const ODD_200_BODIES = ['empty-items', 'no-items', 'null-items', 'empty', 'not-json'] as const
export type Odd200Body = (typeof ODD_200_BODIES)[number]
export const ECHO_ENCODINGS = ['raw', 'json', 'url', 'base64', 'truncated'] as const
export type EchoEncoding = (typeof ECHO_ENCODINGS)[number]
export const LATE_LANDING_ANSWERS = ['drop', '504', 'timeout'] as const

export const FaultSpec = Type.Union([
  Type.Object({
    kind: Type.Literal('status'),
    status: Type.Integer({ minimum: 400, maximum: 599 }),
    retryAfterSeconds: Type.Optional(Type.Integer({ minimum: 0 }))
  }),
  Type.Object({
    kind: Type.Literal('rate-limit'),
    retryAfterSeconds: Type.Optional(Type.Integer({ minimum: 0 })),
    emptyBody: Type.Optional(Type.Boolean())
  }),
  Type.Object({ kind: Type.Literal('timeout'), delayMs: Type.Optional(Type.Integer({ minimum: 0 })) }),
  Type.Object({ kind: Type.Literal('lost-answer'), thenBump: Type.Optional(Type.Boolean()) }),
  Type.Object({ kind: Type.Literal('reset') }),
  Type.Object({
    kind: Type.Literal('reject'),
    code: Type.String({ pattern: '^([0-9]{4}-[0-9]{3}|[a-z_]+)$' }),
    message: Type.Optional(Type.String())
  }),
  Type.Object({ kind: Type.Literal('delay'), delayMs: Type.Integer({ minimum: 0 }) }),
  Type.Object({
    kind: Type.Literal('odd-200'),
    body: Type.Union([
      Type.Literal('empty-items'),
      Type.Literal('no-items'),
      Type.Literal('null-items'),
      Type.Literal('empty'),
      Type.Literal('not-json')
    ])
  }),
  Type.Object({
    kind: Type.Literal('other-item'),
    mode: Type.Union([Type.Literal('replace'), Type.Literal('add')]),
    id: Type.Optional(Type.String({ minLength: 1 }))
  }),
  Type.Object({
    kind: Type.Literal('same-id'),
    id: Type.Optional(Type.String({ minLength: 1 })),
    create: Type.Optional(Type.Boolean())
  }),
  Type.Object({
    kind: Type.Literal('late-landing'),
    delayMs: Type.Integer({ minimum: 0 }),
    answer: Type.Optional(Type.Union([Type.Literal('drop'), Type.Literal('504'), Type.Literal('timeout')])),
    holdMs: Type.Optional(Type.Integer({ minimum: 0 }))
  }),
  Type.Object({
    kind: Type.Literal('echo'),
    status: Type.Optional(Type.Integer({ minimum: 400, maximum: 599 })),
    code: Type.Optional(Type.String({ pattern: '^[0-9]{4}-[0-9]{3}$' })),
    encodings: Type.Array(
      Type.Union([
        Type.Literal('raw'),
        Type.Literal('json'),
        Type.Literal('url'),
        Type.Literal('base64'),
        Type.Literal('truncated')
      ]),
      { minItems: 1 }
    )
  })
])
export type FaultSpec = Static<typeof FaultSpec>

export type FaultKind = FaultSpec['kind']
export const FAULT_KINDS: readonly FaultKind[] = [
  'status',
  'rate-limit',
  'timeout',
  'lost-answer',
  'reset',
  'reject',
  'delay',
  'odd-200',
  'other-item',
  'same-id',
  'late-landing',
  'echo'
]
export const FaultKindSchema = Type.Union(FAULT_KINDS.map((k) => Type.Literal(k)))

/** Chaos mode: a seeded random fault for a share of the Flow Service requests that have no queued fault. */
export const ChaosOptions = Type.Object({
  seed: Type.Integer({ description: 'Same seed, same requests: same faults.' }),
  rate: Type.Number({ minimum: 0, maximum: 1, description: 'Probability that a request gets a fault.' }),
  kinds: Type.Optional(
    Type.Array(Type.Unsafe<FaultKind>(FaultKindSchema), {
      description: 'Draw only these kinds. Default: all that apply.'
    })
  ),
  maxDelayMs: Type.Optional(
    Type.Integer({ minimum: 0, description: 'Bound on timeouts, delays and late landings. Default 200.' })
  )
})
export type ChaosOptions = Static<typeof ChaosOptions>

/** One fault chaos mode injected. */
export interface ChaosLogEntry {
  /** 1 for the first request chaos looked at after setChaos, counting requests it left alone too. */
  request: number
  operation: Operation
  kind: FaultKind
  fault: FaultSpec
}

/** A create whose connection has not landed yet (late-landing). */
export interface PendingLanding {
  sandboxName: string
  name: string
  /** Epoch ms when it lands. */
  dueAt: number
}

export interface PendingFault {
  operation: Operation
  fault: FaultSpec
  /** How many more requests it applies to. */
  remaining: number
}

/** One entry of the bounded request log. Never holds the Authorization header, a body or a secret. */
export interface RequestLogEntry {
  at: number
  method: string
  path: string
  /** The raw query string without '?', with IMS `client_secret` redacted. */
  query: string
  sandbox?: string
  /** The x-request-id header as received, when there was one. */
  requestId?: string
  /** The W3C traceparent header as received, when there was one. */
  traceparent?: string
  operation?: Operation
  /** The status answered, or 'no-answer' when the socket was dropped or the emulator closed first. */
  status?: number | 'no-answer'
  fault?: FaultKind
  /** True when the fault came from chaos mode rather than the queue. */
  chaos?: boolean
}

/** A connection as the emulator keeps it: real secret values, computed state. Tests assert what reached Flow Service. */
export interface StoredConnectionView {
  id: string
  sandboxName: string
  sandboxId: string
  imsOrgId: string
  name: string
  description?: string
  connectionSpec: { id: string; version: string }
  auth: { specName: string; params: Record<string, ParamValue> }
  state: string
  etag: string
  createdAt: number
  updatedAt: number
  createdBy: string
  updatedBy: string
  createdClient: string
  updatedClient: string
  testResult: boolean
}

/** How control.seed fills the store; a schema because POST /_emulator/seed receives it as JSON. */
export const SeedOptions = Type.Object({
  count: Type.Integer({ minimum: 0, maximum: 1_000_000, description: 'How many connections to create.' }),
  sandboxName: Type.Optional(Type.String({ pattern: '^[a-z0-9][a-z0-9-]*$', description: "Default 'prod'." })),
  state: Type.Optional(
    Type.String({
      minLength: 1,
      description: "Default 'enabled'; 'initializing' follows readyDelayMs; any other string is forced."
    })
  ),
  namePrefix: Type.Optional(Type.String({ description: "Names are `${namePrefix}${index}`. Default 'seed-'." })),
  connectionSpecId: Type.Optional(Type.String({ description: 'A catalogue spec id. Default Salesforce.' })),
  specName: Type.Optional(Type.String({ description: 'An auth spec of that connection spec. Default its first one.' })),
  params: Type.Optional(
    Type.Record(Type.String(), ParamValue, { description: 'Default: a dummy value for every param of the auth spec.' })
  )
})
export type SeedOptions = Static<typeof SeedOptions>

export interface CallCounts {
  token: number
  create: number
  get: number
  list: number
  update: number
  delete: number
  test: number
}

/** Drives the emulator from a test, in-process; the same operations exist over HTTP under /_emulator. */
export interface EmulatorControl {
  /** Sets a connection's state as Flow Service itself would (new etag). Any string, e.g. 'enabled-finalizing'. false when unknown. */
  forceState: (id: string, state: string) => boolean
  /** Deletes a connection behind the broker's back. false when unknown. */
  deleteConnection: (id: string) => boolean
  /** What GET /connections/{id}/test answers for this connection. false when unknown. */
  setTestResult: (id: string, result: boolean) => boolean
  /**
   * Queues a fault for the next `count` (default 1) requests of `operation`. Faults of one operation apply in order.
   * Throws RangeError for a kind that cannot apply to the operation (e.g. same-id on get, any new kind on token).
   */
  injectFault: (operation: Operation, fault: FaultSpec, count?: number) => void
  /**
   * Chaos mode (null turns it off): each Flow Service request without a queued fault gets, with probability `rate`,
   * a random fault that applies to its operation, drawn from a PRNG seeded with `seed`. Not for token requests.
   */
  setChaos: (options: ChaosOptions | null) => void
  chaos: () => ChaosOptions | null
  /** What chaos mode injected since it was last set, oldest first. */
  chaosLog: () => ChaosLogEntry[]
  /** Creates of late-landing faults that have not landed yet. */
  pendingLandings: () => PendingLanding[]
  /** Lands every pending late create now; returns the new connections' ids. */
  landNow: () => string[]
  /** Drops queued faults, of one operation or all. */
  clearFaults: (operation?: Operation) => void
  pendingFaults: () => PendingFault[]
  /** Applies to connections created from now on. */
  setReadyDelayMs: (ms: number) => void
  readyDelayMs: () => number
  /** Every token minted so far now answers 401013 (expired). */
  expireTokens: () => void
  /** Revokes one token, or every token minted so far. */
  revokeTokens: (token?: string) => void
  /** Requests received per operation since start or the last reset. */
  callCounts: () => CallCounts
  /** The most recent requests, oldest first. */
  recentRequests: () => RequestLogEntry[]
  /** Connections as stored, with real secret values, in creation order; of one sandbox or all. */
  storedConnections: (sandboxName?: string) => StoredConnectionView[]
  storedConnection: (id: string) => StoredConnectionView | undefined
  /** Creates connections directly in the store, quickly (benchmarks seed 100 000). Returns their ids in order. */
  seed: (options: SeedOptions) => string[]
  /**
   * Forgets connections, faults, chaos, pending late landings, counters and the log, restores the configured readyDelayMs, and invalidates every
   * token minted so far unless keepTokens (so a client's cached token does not cost a 401 after each test's reset).
   */
  reset: (options?: { keepTokens?: boolean }) => void
}

export interface EmulatorCredentials {
  clientId: string
  clientSecret: string
  orgId: string
}

export interface RunningEmulator {
  /** http://host:port */
  origin: string
  /** origin + '/data/foundation/flowservice' */
  flowServiceUrl: string
  /** origin; the token call is POST <imsUrl>/ims/token/v3 */
  imsUrl: string
  credentials: EmulatorCredentials
  control: EmulatorControl
  /** Stops listening and drops every socket, held ones included. */
  close: () => Promise<void>
}
