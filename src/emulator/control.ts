// The in-process control surface: what tests use to force states, inject faults, read counters and seed data.
import type { ParamValue } from '../flow-service/types.js'
import type { ParamSpec } from '../catalog/types.js'
import type { ConnectionStore } from './connection-store.js'
import type { Chaos } from './chaos.js'
import type { FaultBook } from './faults.js'
import type { LateLandings } from './late-landings.js'
import type { RequestLog } from './request-log.js'
import type { SpecRegistry } from './spec-registry.js'
import type { TokenIssuer } from './token-issuer.js'
import type { EmulatorControl, SeedOptions } from './types.js'
import { toStoredView } from './wire-format.js'

export interface ControlDeps {
  store: ConnectionStore
  faults: FaultBook
  chaos: Chaos
  landings: LateLandings
  log: RequestLog
  tokens: TokenIssuer
  registry: SpecRegistry
  credentials: { clientId: string; orgId: string }
  /** The readyDelayMs the emulator was started with; reset() goes back to it. */
  configuredReadyDelayMs: number
  /** Shared with the connection routes, which read it on every create. */
  readyDelay: { ms: number }
}

/** The Salesforce spec with Basic Authentication: what most seeds and tests use. */
const DEFAULT_SEED_SPEC = 'cfc0fee1-7dc0-40ef-b73e-d8b134c436f5'

export function createControl(deps: ControlDeps): EmulatorControl {
  const { store, faults, chaos, landings, log, tokens } = deps
  return {
    forceState(id, state) {
      const conn = store.find(id)
      if (conn === undefined) return false
      store.forceState(conn, state)
      return true
    },
    deleteConnection(id) {
      const conn = store.find(id)
      if (conn === undefined) return false
      store.delete(conn)
      return true
    },
    setTestResult(id, result) {
      const conn = store.find(id)
      if (conn === undefined) return false
      conn.testResult = result
      return true
    },
    injectFault(operation, fault, count = 1) {
      faults.add(operation, fault, count)
    },
    clearFaults(operation) {
      faults.clear(operation)
    },
    pendingFaults: () => faults.pending(),
    setChaos(options) {
      chaos.set(options)
    },
    chaos: () => chaos.current(),
    chaosLog: () => chaos.entries(),
    pendingLandings: () => landings.pending(),
    landNow: () => landings.landNow(),
    setReadyDelayMs(ms) {
      if (!Number.isFinite(ms) || ms < 0) throw new RangeError(`readyDelayMs must be >= 0, got ${ms}`)
      deps.readyDelay.ms = ms
    },
    readyDelayMs: () => deps.readyDelay.ms,
    expireTokens() {
      tokens.expireAll()
    },
    revokeTokens(token) {
      tokens.revoke(token)
    },
    callCounts: () => log.callCounts(),
    recentRequests: () => log.recent(),
    storedConnections: (sandboxName) => store.all(sandboxName).map(toStoredView),
    storedConnection(id) {
      const conn = store.find(id)
      return conn === undefined ? undefined : toStoredView(conn)
    },
    seed: (options) => seed(deps, options),
    reset(options) {
      store.clear()
      faults.clear()
      chaos.set(null)
      landings.cancelAll()
      log.clear()
      if (options?.keepTokens !== true) tokens.clear()
      deps.readyDelay.ms = deps.configuredReadyDelayMs
    }
  }
}

function seed(deps: ControlDeps, options: SeedOptions): string[] {
  if (!Number.isInteger(options.count) || options.count < 0)
    throw new RangeError(`seed count must be a non-negative integer, got ${options.count}`)
  const specId = options.connectionSpecId ?? DEFAULT_SEED_SPEC
  const known = deps.registry.connectionSpec(specId)
  if (known === undefined) throw new Error(`seed: unknown connection spec id ${specId}`)
  const authSpec = options.specName === undefined ? known.spec.authSpecs[0] : known.auth.get(options.specName)?.spec
  if (authSpec === undefined)
    throw new Error(`seed: unknown auth spec '${options.specName ?? ''}' for connection spec ${specId}`)
  // Frozen objects shared by every seeded connection keep 100 000 of them light; updates replace, never mutate.
  const params = Object.freeze({ ...(options.params ?? dummyParams(authSpec.params)) })
  const version = known.spec.versions[0] ?? '1.0'
  const state = options.state ?? 'enabled'
  const prefix = options.namePrefix ?? 'seed-'
  const connectionSpec = Object.freeze({ id: specId, version })
  const auth = Object.freeze({ specName: authSpec.name, params })
  const ids = new Array<string>(options.count)
  for (let i = 0; i < options.count; i++) {
    const conn = deps.store.create({
      sandboxName: options.sandboxName ?? 'prod',
      imsOrgId: deps.credentials.orgId,
      actor: deps.credentials.clientId,
      name: `${prefix}${i}`,
      connectionSpec,
      auth,
      readyDelayMs: deps.readyDelay.ms,
      ...(state === 'initializing' ? {} : { initialState: state })
    })
    ids[i] = conn.id
  }
  return ids
}

function dummyParams(specs: readonly ParamSpec[]): Record<string, ParamValue> {
  const params: Record<string, ParamValue> = {}
  for (const p of specs) {
    if (p.format === 'boolean') params[p.name] = false
    else if (p.secret) params[p.name] = `seed-secret-${p.name}`
    else params[p.name] = p.example ?? `seed-${p.name}`
  }
  return params
}
