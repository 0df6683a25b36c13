// Starts the Flow Service + IMS emulator: one node:http server (for control over sockets, which faults need)
// wiring the store, token issuer, faults, request log and control API together.
import { createServer } from 'node:http'
import type { AddressInfo } from 'node:net'
import { Chaos } from './chaos.js'
import { ConnectionRoutes, FLOW_SERVICE_PREFIX } from './connection-routes.js'
import { ConnectionStore } from './connection-store.js'
import { createControl } from './control.js'
import { FaultBook } from './faults.js'
import { TimerSet } from './http-io.js'
import { awsAccountFor, EtagSource } from './identifiers.js'
import { LateLandings } from './late-landings.js'
import { createRequestHandler } from './request-dispatch.js'
import { RequestLog } from './request-log.js'
import { SpecRegistry } from './spec-registry.js'
import { TokenIssuer } from './token-issuer.js'
import type { EmulatorCredentials, EmulatorOptions, RunningEmulator } from './types.js'

export type {
  ChaosOptions,
  EmulatorControl,
  EmulatorOptions,
  FaultSpec,
  Operation,
  RunningEmulator,
  SeedOptions,
  StoredConnectionView
} from './types.js'

export const EMULATOR_DEFAULTS = {
  host: '127.0.0.1',
  port: 0,
  readyDelayMs: 3000,
  clientId: 'broker-dev-client',
  /** A fixed, obviously-fake dev value: the emulator guards nothing. */
  clientSecret: 'broker-dev-client-secret-not-for-production',
  orgId: 'DEV0000000000000000000000@AdobeOrg',
  tokenTtlSeconds: 86399,
  requestLogSize: 1000
} as const

export async function startEmulator(options: EmulatorOptions = {}): Promise<RunningEmulator> {
  const host = options.host ?? EMULATOR_DEFAULTS.host
  const readyDelayMs = options.readyDelayMs ?? EMULATOR_DEFAULTS.readyDelayMs
  if (!Number.isFinite(readyDelayMs) || readyDelayMs < 0)
    throw new RangeError(`readyDelayMs must be >= 0, got ${readyDelayMs}`)
  const credentials: EmulatorCredentials = {
    clientId: options.clientId ?? EMULATOR_DEFAULTS.clientId,
    clientSecret: options.clientSecret ?? EMULATOR_DEFAULTS.clientSecret,
    orgId: options.orgId ?? EMULATOR_DEFAULTS.orgId
  }
  const clock = options.clock?.now ?? ((): number => Date.now())
  const registry = new SpecRegistry()
  const store = new ConnectionStore(clock, new EtagSource())
  const tokens = new TokenIssuer(clock, options.tokenTtlSeconds ?? EMULATOR_DEFAULTS.tokenTtlSeconds)
  const faults = new FaultBook()
  const log = new RequestLog(options.requestLogSize ?? EMULATOR_DEFAULTS.requestLogSize)
  const timers = new TimerSet()
  const chaos = new Chaos()
  const landings = new LateLandings(clock)
  const readyDelay = { ms: readyDelayMs }
  const routes = new ConnectionRoutes({
    store,
    registry,
    awsAccount: awsAccountFor(credentials.orgId),
    orgId: credentials.orgId,
    readyDelayMs: () => readyDelay.ms
  })
  const control = createControl({
    store,
    faults,
    chaos,
    landings,
    log,
    tokens,
    registry,
    credentials,
    configuredReadyDelayMs: readyDelayMs,
    readyDelay
  })
  const server = createServer(
    createRequestHandler({
      clock,
      credentials,
      tokens,
      routes,
      store,
      faults,
      chaos,
      landings,
      log,
      timers,
      control,
      logger: options.logger
    })
  )

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject)
    server.listen(options.port ?? EMULATOR_DEFAULTS.port, host, () => {
      server.off('error', reject)
      resolve()
    })
  })
  const { port } = server.address() as AddressInfo
  const origin = `http://${host.includes(':') ? `[${host}]` : host}:${port}`
  options.logger?.info({ origin, readyDelayMs }, 'Flow Service emulator listening')

  let closing: Promise<void> | undefined
  return {
    origin,
    flowServiceUrl: `${origin}${FLOW_SERVICE_PREFIX}`,
    imsUrl: origin,
    credentials,
    control,
    close: async () => {
      closing ??= new Promise<void>((resolve) => {
        server.close(() => {
          resolve()
        })
        // Held (timeout) and delayed requests would otherwise keep close() waiting for their sockets.
        timers.cancelAll()
        landings.cancelAll()
        server.closeAllConnections()
      })
      await closing
    }
  }
}
