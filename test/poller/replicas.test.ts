// Several replicas polling one database: each connection is polled by one replica at a time and each transition
// recorded once, and the connections of a replica that dies holding leases are taken over once the leases expire.
// On PostgreSQL (DATABASE_URL) every replica has its own pool, as separate processes would; on PGlite they share
// the one in-process session.
import t from 'tap'
import type { Kysely } from 'kysely'
import { pino } from 'pino'
import { openDatabase } from '../../src/db/database.js'
import type { Database } from '../../src/db/schema.js'
import { createFlowServiceClient, type FlowServiceClient } from '../../src/flow-service/flow-service-client.js'
import { StatePoller } from '../../src/poller/state-poller.js'
import { FakeClock } from '../support/fake-clock.js'
import { openMigratedDatabase, type MigratedDatabase } from '../support/migrated-database.js'
import { POLLER_DEFAULTS, startPollerScene, waitFor, type PollerScene, type Tracked } from '../support/poller-scene.js'
import type { BrokerState } from '../../src/domain/connection-states.js'

interface Teardown {
  teardown: (fn: () => Promise<void> | void) => void
}

/** Who is asking Flow Service about which connection right now, across replicas; any overlap is recorded. */
class InFlight {
  readonly #asking = new Map<string, string>()
  readonly overlaps: string[] = []
  readonly polls = new Map<string, number>()
  /** When each replica asked, by its own clock. */
  readonly asks: Array<{ replica: string; at: number }> = []

  watch(inner: FlowServiceClient, replica: string, now: () => number = Date.now): FlowServiceClient {
    const around = async <T>(ids: string[], call: () => Promise<T>): Promise<T> => {
      this.asks.push({ replica, at: now() })
      for (const id of ids) {
        const other = this.#asking.get(id)
        if (other !== undefined) this.overlaps.push(`${id}: ${other} and ${replica}`)
        this.#asking.set(id, replica)
        this.polls.set(id, (this.polls.get(id) ?? 0) + 1)
      }
      try {
        return await call()
      } finally {
        for (const id of ids) if (this.#asking.get(id) === replica) this.#asking.delete(id)
      }
    }
    return {
      ...inner,
      listConnections: async (sandbox, query) =>
        await around(query.ids ?? [], async () => await inner.listConnections(sandbox, query)),
      getConnection: async (sandbox, id) => await around([id], async () => await inner.getConnection(sandbox, id))
    }
  }
}

/** A database handle for one replica: its own pool on a server, the shared session on PGlite. */
async function replicaDatabase(t: Teardown, database: MigratedDatabase): Promise<Kysely<Database>> {
  if (database.kind === 'pglite') return database.db
  const own = await openDatabase(database.test.config, pino({ level: 'silent' }))
  t.teardown(async () => {
    await own.close()
  })
  return own.db
}

/** A Flow Service client of its own, as a separate process would have (and no idle socket a busy test could trip on). */
function replicaClient(t: Teardown, scene: PollerScene): FlowServiceClient {
  const { emulator } = scene
  const flow = createFlowServiceClient({
    url: emulator.flowServiceUrl,
    imsUrl: emulator.imsUrl,
    ...emulator.credentials,
    scopes: 'openid,AdobeID',
    timeoutMs: 5000
  })
  t.teardown(flow.close)
  return flow
}

async function replica(
  t: Teardown,
  scene: PollerScene,
  database: MigratedDatabase,
  inFlight: InFlight,
  owner: string,
  overrides: Partial<typeof POLLER_DEFAULTS> = {}
): Promise<StatePoller> {
  const db = await replicaDatabase(t, database)
  const flow = inFlight.watch(replicaClient(t, scene), owner, overrides.clock?.now)
  const poller = new StatePoller(
    { db, flow, secrets: scene.secrets, logger: scene.log.logger },
    { ...POLLER_DEFAULTS, owner, ...overrides }
  )
  t.teardown(async () => {
    await poller.stop()
  })
  return poller
}

async function transitionsRecordedTwice(db: Kysely<Database>, connections: Tracked[]): Promise<number> {
  const rows = await db
    .selectFrom('connection_events')
    .select(['connection_id', 'from_state', 'to_state'])
    .select((eb) => eb.fn.countAll<string>().as('n'))
    .where(
      'connection_id',
      'in',
      connections.map((c) => c.id)
    )
    .groupBy(['connection_id', 'from_state', 'to_state'])
    .execute()
  return rows.filter((r) => Number(r.n) > 1).length
}

void t.test('replicas sharing one database', async (t) => {
  const database = await openMigratedDatabase(t)
  const { db } = database

  void t.test(
    'three replicas poll every connection once between them, never one connection at once, and record each transition once',
    async (t) => {
      const scene = await startPollerScene(t, db)
      const connections = await scene.track(300, { downstream: 'disabled' })
      const inFlight = new InFlight()
      // Batches of 20 and slow answers: the replicas' sweeps overlap in time for certain.
      const options = { batchSize: 20, fastIntervalMs: 60000, steadyIntervalMs: 60000 }
      const replicas = [
        await replica(t, scene, database, inFlight, 'replica-a', options),
        await replica(t, scene, database, inFlight, 'replica-b', options),
        await replica(t, scene, database, inFlight, 'replica-c', options)
      ]
      scene.emulator.control.injectFault('list', { kind: 'delay', delayMs: 20 }, 1000)

      const calls = await scene.callsDuring(async () => {
        const results = await Promise.all(replicas.map(async (r) => await r.sweep()))
        t.ok(
          results.every((r) => r.polled > 0),
          `each replica took a share (${results.map((r) => r.polled).join(' + ')})`
        )
        t.equal(
          results.reduce((n, r) => n + r.polled, 0),
          300,
          'every connection polled once between them'
        )
      })

      t.same(inFlight.overlaps, [], 'no connection was asked about by two replicas at once')
      t.ok(
        [...inFlight.polls.values()].every((n) => n === 1) && inFlight.polls.size === 300,
        'each connection was in exactly one call'
      )
      t.equal(calls.list, 15, '300 connections in batches of 20: 15 list calls in all')
      t.equal(await scene.eventCount(connections), 300, 'one transition each')
      t.equal(await transitionsRecordedTwice(db, connections), 0)
    }
  )

  void t.test(
    'replicas running their loops follow a second change of every connection, each recorded once',
    async (t) => {
      const scene = await startPollerScene(t, db)
      const connections = await scene.track(120, { downstream: 'enabled' })
      const inFlight = new InFlight()
      const options = { batchSize: 10, idleDelayMs: 5 }
      const replicas = [
        await replica(t, scene, database, inFlight, 'loop-a', options),
        await replica(t, scene, database, inFlight, 'loop-b', options),
        await replica(t, scene, database, inFlight, 'loop-c', options)
      ]
      scene.emulator.control.injectFault('list', { kind: 'delay', delayMs: 10 }, 1000)
      for (const r of replicas) r.start()

      const recordedAs = async (state: BrokerState): Promise<boolean> => {
        const { n } = await db
          .selectFrom('connections')
          .select((eb) => eb.fn.countAll<string>().as('n'))
          .where(
            'id',
            'in',
            connections.map((c) => c.id)
          )
          .where('state', '=', state)
          .executeTakeFirstOrThrow()
        return Number(n) === connections.length
      }
      await waitFor('every connection to be recorded enabled', async () => await recordedAs('enabled'), 20000)
      for (const c of connections) scene.emulator.control.forceState(c.flowId, 'disabled')
      await waitFor('every connection to be recorded disabled', async () => await recordedAs('disabled'), 20000)
      for (const r of replicas) await r.stop()

      t.same(inFlight.overlaps, [], 'no connection was asked about by two replicas at once')
      t.equal(await scene.eventCount(connections), 240, 'two transitions each')
      t.equal(await transitionsRecordedTwice(db, connections), 0, 'none recorded twice')
      const owners = await db
        .selectFrom('connections')
        .select('lease_owner')
        .where(
          'id',
          'in',
          connections.map((c) => c.id)
        )
        .where('lease_owner', 'is not', null)
        .execute()
      t.same(owners, [], 'stopped replicas hold no lease')
    }
  )

  void t.test(
    'when a replica dies holding leases, its connections wait for the leases to expire and are then polled by another',
    async (t) => {
      const scene = await startPollerScene(t, db)
      const connections = await scene.track(30, { downstream: 'enabled' })
      const inFlight = new InFlight()
      const leaseMs = 1500
      // Every replica on fake time from the same instant: the leases expire when the test says, not 1.5 s later.
      const startedAt = Date.now()
      // The dying replica claims everything, then never hears back: as if its process were killed mid-batch.
      const hung: FlowServiceClient = {
        ...replicaClient(t, scene),
        listConnections: async () => await new Promise(() => {})
      }
      const dying = new StatePoller(
        { db: await replicaDatabase(t, database), flow: hung, secrets: scene.secrets, logger: scene.log.logger },
        { ...POLLER_DEFAULTS, owner: 'dying', leaseMs, clock: new FakeClock(startedAt) }
      )
      void dying.sweep().catch(() => {})
      const leased = async (): Promise<Date[]> =>
        (
          await db
            .selectFrom('connections')
            .select('lease_until')
            .where(
              'id',
              'in',
              connections.map((c) => c.id)
            )
            .where('lease_owner', '=', 'dying')
            .execute()
        ).map((r) => r.lease_until ?? new Date(0))
      await waitFor('the dying replica to claim every connection', async () => (await leased()).length === 30)
      const leaseEnds = Math.max(...(await leased()).map((d) => d.getTime()))

      const clocks = [new FakeClock(startedAt), new FakeClock(startedAt)]
      const survivors = [
        await replica(t, scene, database, inFlight, 'survivor-a', { idleDelayMs: 20, clock: clocks[0] }),
        await replica(t, scene, database, inFlight, 'survivor-b', { idleDelayMs: 20, clock: clocks[1] })
      ]
      t.match(await survivors[0]?.sweep(), { polled: 0 }, 'nothing to poll while the leases run')
      t.equal((await leased()).length, 30, 'the leases stand')

      for (const clock of clocks) clock.advance(leaseEnds + 1 - clock.now())
      for (const s of survivors) s.start()
      // Their first sweeps, at start, take every expired lease between them.
      await Promise.all(
        clocks.map(async (clock) => {
          await clock.asleep()
        })
      )
      const { n: enabled } = await db
        .selectFrom('connections')
        .select((eb) => eb.fn.countAll<string>().as('n'))
        .where(
          'id',
          'in',
          connections.map((c) => c.id)
        )
        .where('state', '=', 'enabled')
        .executeTakeFirstOrThrow()
      t.equal(Number(enabled), 30, 'the survivors recorded every connection')
      for (const s of survivors) await s.stop()

      const events = await db
        .selectFrom('connection_events')
        .select(['connection_id', 'observed_at', 'observed_by'])
        .where(
          'connection_id',
          'in',
          connections.map((c) => c.id)
        )
        .execute()
      t.equal(events.length, 30, 'one transition each')
      t.ok(
        inFlight.asks.length > 0 && inFlight.asks.every((a) => a.at >= leaseEnds),
        'each polled (so recorded) only after the dead replica’s lease expired, by the survivors’ clocks'
      )
      t.same(inFlight.overlaps, [])
      t.ok([...inFlight.polls.keys()].length === 30, 'the survivors asked about every one of them')
      t.equal((await leased()).length, 0, 'no lease of the dead replica is left')
    }
  )
})
