// A stage for StatePoller tests: a fresh emulator and Flow Service client over a shared migrated database,
// connections that exist both downstream (seeded in the emulator) and in the broker's table, and pollers
// built with short intervals. Rows of earlier scenes are parked (never due) so each test sees only its own.
import { randomBytes } from 'node:crypto'
import type { Kysely } from 'kysely'
import type { ConnectionRow, Database } from '../../src/db/schema.js'
import { startEmulator, type RunningEmulator } from '../../src/emulator/emulator.js'
import type { CallCounts } from '../../src/emulator/types.js'
import { createFlowServiceClient, type FlowServiceClient } from '../../src/flow-service/flow-service-client.js'
import { StatePoller, type StatePollerOptions } from '../../src/poller/state-poller.js'
import { LocalSecretStore } from '../../src/secrets/local/local-secret-store.js'
import { captureLogger, type CapturedLogger } from './captured-logger.js'
import { gate, type Gate } from './gate.js'
import { testConnectionValues } from './connection-rows.js'
import type { BrokerState } from '../../src/domain/connection-states.js'

export const FAST_MS = 100
export const STEADY_MS = 1000

export const POLLER_DEFAULTS: StatePollerOptions = {
  owner: 'poller-a',
  fastIntervalMs: FAST_MS,
  steadyIntervalMs: STEADY_MS,
  batchSize: 100,
  leaseMs: 10000,
  idleDelayMs: 20,
  goneConfirmMs: 150,
  secretGraceMs: 3600000
}

export interface Tracked {
  /** Broker id. */
  id: string
  /** Flow Service id. */
  flowId: string
}

export interface TrackOptions {
  sandbox?: string
  /** The state Flow Service holds: 'initializing' follows the emulator's readyDelayMs, anything else is forced. */
  downstream?: string
  /** The broker's row. Default initializing. */
  state?: BrokerState
  /** Writes a secret (version 1) for each connection. */
  withSecret?: boolean
}

export interface PollerScene {
  db: Kysely<Database>
  emulator: RunningEmulator
  flow: FlowServiceClient
  secrets: LocalSecretStore
  log: CapturedLogger
  /** A poller over this scene (or over `flow`, say one whose answers a test holds), stopped at teardown. */
  poller: (options?: Partial<StatePollerOptions>, flow?: FlowServiceClient) => StatePoller
  /** Connections that exist downstream and in the broker, due now. */
  track: (count: number, options?: TrackOptions) => Promise<Tracked[]>
  /** Makes the given connections due now (as if their interval had passed), leases untouched. */
  makeDue: (connections: Tracked[]) => Promise<void>
  row: (c: Tracked) => Promise<ConnectionRow>
  /** How many state changes were recorded for these connections. */
  eventCount: (connections: Tracked[]) => Promise<number>
  /** Emulator requests per operation made while `work` ran. */
  callsDuring: (work: () => Promise<unknown>) => Promise<CallCounts>
}

interface Teardown {
  teardown: (fn: () => Promise<void> | void) => void
}

export async function startPollerScene(
  t: Teardown,
  db: Kysely<Database>,
  options: { readyDelayMs?: number; timeoutMs?: number } = {}
): Promise<PollerScene> {
  await db.updateTable('connections').set({ next_poll_at: null, lease_owner: null, lease_until: null }).execute()
  const emulator = await startEmulator({ readyDelayMs: options.readyDelayMs ?? 0 })
  t.teardown(emulator.close)
  const log = captureLogger()
  const flow = createFlowServiceClient({
    url: emulator.flowServiceUrl,
    imsUrl: emulator.imsUrl,
    ...emulator.credentials,
    scopes: 'openid,AdobeID',
    timeoutMs: options.timeoutMs ?? 5000
  })
  t.teardown(flow.close)
  // A token now, so counters and timeouts in the tests concern connection calls only.
  await flow.ping()
  const secrets = new LocalSecretStore(db, randomBytes(32))
  const pollers: StatePoller[] = []
  t.teardown(async () => {
    for (const p of pollers) await p.stop()
  })

  const ids = (connections: Tracked[]): string[] => connections.map((c) => c.id)

  return {
    db,
    emulator,
    flow,
    secrets,
    log,
    poller(overrides = {}, through = flow) {
      const poller = new StatePoller(
        { db, flow: through, secrets, logger: log.logger },
        { ...POLLER_DEFAULTS, ...overrides }
      )
      pollers.push(poller)
      return poller
    },
    async track(count, o = {}) {
      const sandbox = o.sandbox ?? 'prod'
      const flowIds = emulator.control.seed({ count, sandboxName: sandbox, state: o.downstream ?? 'initializing' })
      const dueAt = new Date(Date.now() - 1000)
      const rows = flowIds.map((flowId) =>
        testConnectionValues({
          sandbox_name: sandbox,
          flow_connection_id: flowId,
          state: o.state ?? 'initializing',
          downstream_state: o.state ?? 'initializing',
          next_poll_at: dueAt
        })
      )
      if (rows.length > 0) await db.insertInto('connections').values(rows).execute()
      const tracked = rows.map((r, i) => ({ id: r.id, flowId: flowIds[i] ?? '' }))
      if (o.withSecret === true) {
        for (const c of tracked) {
          const version = await secrets.write(c.id, { password: `pw-${c.id}`, securityToken: 'tok' }, { cas: 0 })
          await db.updateTable('connections').set({ secret_version: version }).where('id', '=', c.id).execute()
        }
      }
      return tracked
    },
    async makeDue(connections) {
      if (connections.length === 0) return
      await db
        .updateTable('connections')
        .set({ next_poll_at: new Date(Date.now() - 1000) })
        .where('id', 'in', ids(connections))
        .execute()
    },
    async row(c) {
      return await db.selectFrom('connections').selectAll().where('id', '=', c.id).executeTakeFirstOrThrow()
    },
    async eventCount(connections) {
      if (connections.length === 0) return 0
      const { n } = await db
        .selectFrom('connection_events')
        .select((eb) => eb.fn.countAll<string>().as('n'))
        .where('connection_id', 'in', ids(connections))
        .executeTakeFirstOrThrow()
      return Number(n)
    },
    async callsDuring(work) {
      const before = emulator.control.callCounts()
      await work()
      const after = emulator.control.callCounts()
      const delta = { ...after }
      for (const op of Object.keys(after) as Array<keyof CallCounts>) delta[op] = after[op] - before[op]
      return delta
    }
  }
}

export async function sleep(ms: number): Promise<void> {
  await new Promise((resolve) => setTimeout(resolve, ms))
}

/** A client whose list calls wait until the test opens `answer`; `asked` opens when the first one arrives. */
export function holdLists(flow: FlowServiceClient): { flow: FlowServiceClient; asked: Gate; answer: Gate } {
  const asked = gate()
  const answer = gate()
  return {
    asked,
    answer,
    flow: {
      ...flow,
      listConnections: async (sandbox, query) => {
        asked.open()
        await answer.promise
        return await flow.listConnections(sandbox, query)
      }
    }
  }
}

/** Polls `check` until it holds, or fails after `timeoutMs`. */
export async function waitFor(what: string, check: () => Promise<boolean> | boolean, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`)
    await sleep(10)
  }
}
