// What a sweep costs and how it schedules: polls that find nothing new are rescheduled in one statement per batch
// and leave the row's updated_at alone; a connection that stays initializing is polled less and less often;
// a call the request budget refuses is deferred, not counted as a failure.
import t from 'tap'
import type {
  Kysely,
  KyselyPlugin,
  PluginTransformQueryArgs,
  PluginTransformResultArgs,
  QueryResult,
  RootOperationNode,
  UnknownRow
} from 'kysely'
import type { Database } from '../../src/db/schema.js'
import { budgetFlowServiceClient } from '../../src/flow-service/budgeted-flow-service-client.js'
import { RequestBudget } from '../../src/flow-service/request-budget.js'
import { StatePoller } from '../../src/poller/state-poller.js'
import { openMigratedDatabase } from '../support/migrated-database.js'
import {
  FAST_MS,
  holdLists,
  POLLER_DEFAULTS,
  startPollerScene,
  STEADY_MS,
  type Tracked
} from '../support/poller-scene.js'

/** Counts the statements a Kysely instance sends, by kind. */
class StatementCounter implements KyselyPlugin {
  readonly kinds: string[] = []
  transformQuery(args: PluginTransformQueryArgs): RootOperationNode {
    this.kinds.push(args.node.kind)
    return args.node
  }

  async transformResult(args: PluginTransformResultArgs): Promise<QueryResult<UnknownRow>> {
    return args.result
  }

  count(kind: string): number {
    return this.kinds.filter((k) => k === kind).length
  }
}

const ago = (ms: number): Date => new Date(Date.now() - ms)

void t.test('a sweep', async (t) => {
  const { db } = await openMigratedDatabase(t)

  void t.test('polls that find nothing new cost one statement per batch, not one per connection', async (t) => {
    const scene = await startPollerScene(t, db)
    const connections = await scene.track(250, { downstream: 'enabled', state: 'enabled' })
    const counter = new StatementCounter()
    const counted: Kysely<Database> = db.withPlugin(counter)
    const poller = new StatePoller(
      { db: counted, flow: scene.flow, secrets: scene.secrets, logger: scene.log.logger },
      { ...POLLER_DEFAULTS, fastIntervalMs: 60000, steadyIntervalMs: 60000 }
    )

    t.match(await poller.sweep(), { polled: 250, changed: 0, failed: 0, downstreamCalls: 3 })

    // Per batch of 100: the claim's select and update, then one update for the whole batch; and a last empty claim.
    t.ok(counter.kinds.length <= 3 * 3 + 1, `${counter.kinds.length} statements for 250 connections`)
    t.equal(counter.count('UpdateQueryNode') + counter.count('RawNode'), 6, 'three claims, three reschedules')
    t.equal(await scene.eventCount(connections), 0, 'nothing recorded')
    for (const c of connections.slice(0, 3)) {
      const row = await scene.row(c)
      t.match(row, { lease_owner: null, lease_until: null, poll_failures: 0, state: 'enabled' })
      t.ok((row.next_poll_at?.getTime() ?? 0) > Date.now() + 50000, 'rescheduled at the steady interval')
    }
  })

  void t.test('a poll that finds nothing new leaves updated_at alone; a change moves it', async (t) => {
    const scene = await startPollerScene(t, db)
    const [same, moved] = await scene.track(2, { downstream: 'enabled', state: 'enabled' })
    if (same === undefined || moved === undefined) throw new Error('no connection')
    const longAgo = ago(3600000)
    for (const c of [same, moved]) {
      // The etag Flow Service holds is known already: the poll learns nothing new about `same`.
      const etag = scene.emulator.control.storedConnection(c.flowId)?.etag ?? null
      await db.updateTable('connections').set({ updated_at: longAgo, etag }).where('id', '=', c.id).execute()
    }
    scene.emulator.control.forceState(moved.flowId, 'disabled')

    t.match(await scene.poller().sweep(), { polled: 2, changed: 1 })

    t.equal((await scene.row(same)).updated_at.getTime(), longAgo.getTime(), 'unchanged: updated_at kept')
    t.ok((await scene.row(moved)).updated_at.getTime() > longAgo.getTime(), 'changed: updated_at moved')
  })

  void t.test(
    'a connection that stays initializing is polled less and less often, never slower than steady',
    async (t) => {
      const scene = await startPollerScene(t, db, { readyDelayMs: 3600000 })
      const [fresh, waiting, stuck] = await scene.track(3)
      if (fresh === undefined || waiting === undefined || stuck === undefined) throw new Error('no connection')
      const waitingSince = ago(2000)
      await db.updateTable('connections').set({ updated_at: waitingSince }).where('id', '=', waiting.id).execute()
      await db
        .updateTable('connections')
        .set({ updated_at: ago(3600000) })
        .where('id', '=', stuck.id)
        .execute()

      const before = Date.now()
      t.match(await scene.poller().sweep(), { polled: 3, changed: 0 })
      const after = Date.now()

      /** The poll ran at some instant in before..after, and scheduled `delayAt(instant)` ±10% after it. */
      const scheduledAsIf = async (c: Tracked, delayAt: (now: number) => number, message: string): Promise<void> => {
        const at = (await scene.row(c)).next_poll_at?.getTime() ?? Number.NaN
        const low = before + 0.9 * delayAt(before)
        const high = after + 1.1 * delayAt(after)
        t.ok(
          at >= low && at <= high,
          `${message}: next poll at +${at - before} ms, expected +${Math.round(low - before)}..+${Math.round(high - before)}`
        )
      }
      await scheduledAsIf(fresh, () => FAST_MS, 'just created: the fast interval')
      await scheduledAsIf(
        waiting,
        (now) => Math.max(FAST_MS, (now - waitingSince.getTime()) / 4),
        'initializing for 2 s: a quarter of the wait'
      )
      await scheduledAsIf(stuck, () => STEADY_MS, 'initializing for an hour: the steady interval')
    }
  )

  void t.test(
    'a row that moved between the claim and the answer is recorded the careful way, not overwritten',
    async (t) => {
      const scene = await startPollerScene(t, db)
      const [c] = await scene.track(1, { downstream: 'enabled', state: 'enabled' })
      if (c === undefined) throw new Error('no connection')
      const held = holdLists(scene.flow)
      const sweep = scene.poller({}, held.flow).sweep()
      // While the batch call is held, another writer (say, a delete through the API) changes the row.
      await held.asked.promise
      await db
        .updateTable('connections')
        .set({ state: 'disabled', downstream_state: 'disabled' })
        .where('id', '=', c.id)
        .execute()
      held.answer.open()

      t.match(await sweep, { polled: 1, changed: 1 })

      t.match(
        await scene.row(c),
        { state: 'enabled', downstream_state: 'enabled', lease_owner: null },
        'what Flow Service said, recorded as a change'
      )
      t.equal(await scene.eventCount([c]), 1)
    }
  )

  void t.test('a call the request budget refuses defers the batch without counting a failure', async (t) => {
    const scene = await startPollerScene(t, db)
    const connections = await scene.track(3, { downstream: 'enabled', state: 'enabled' })
    const budget = new RequestBudget({ ratePerSecond: 0, maxWaitMs: 100 })
    const flow = budgetFlowServiceClient(scene.flow, budget, { defaultRetryAfterMs: 1000 })
    budget.pause(5000)
    const poller = new StatePoller({ db, flow, secrets: scene.secrets, logger: scene.log.logger }, POLLER_DEFAULTS)

    const calls = await scene.callsDuring(async () => {
      t.match(await poller.sweep(), { polled: 0, failed: 0 })
    })

    t.match(calls, { list: 0, get: 0 }, 'nothing sent')
    for (const c of connections) {
      const row = await scene.row(c)
      t.match(row, { poll_failures: 0, lease_owner: null }, 'released, no failure counted')
      t.ok((row.next_poll_at?.getTime() ?? 0) >= Date.now() + 4000, 'not due again before the budget allows')
    }
  })
})
