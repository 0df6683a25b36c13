// StatePoller against the Flow Service emulator and a real database: what it records, how few calls it makes,
// how it survives downstream faults, and how replicas share the work through leases.
import t, { type Test } from 'tap'
import { AuditLog } from '../../src/audit/audit-log.js'
import { createConnection } from '../../src/connections/create/create-connection.js'
import { SecretStoreError } from '../../src/secrets/secret-store.js'
import type { FaultSpec } from '../../src/emulator/types.js'
import { auditRows, connectionEvents, insertTestConnection } from '../support/connection-rows.js'
import { openMigratedDatabase } from '../support/migrated-database.js'
import { SEED_BODIES } from '../support/seed-bodies.js'
import { FakeClock } from '../support/fake-clock.js'
import { settle } from '../support/gate.js'
import {
  FAST_MS,
  holdLists,
  POLLER_DEFAULTS,
  startPollerScene,
  STEADY_MS,
  type PollerScene,
  type Tracked
} from '../support/poller-scene.js'

const GONE_CONFIRM_MS = POLLER_DEFAULTS.goneConfirmMs
const SECRET_GRACE_MS = POLLER_DEFAULTS.secretGraceMs

interface Timed {
  before: number
  after: number
}

/** Runs `work` and returns the wall-clock window it ran in, to bound the delays it scheduled. */
async function timed(work: () => Promise<unknown>): Promise<Timed> {
  const before = Date.now()
  await work()
  return { before, after: Date.now() }
}

/** Asserts `at` was scheduled `minMs`..`maxMs` after some instant inside `window`. */
function scheduledWithin(t: Test, at: Date | null, window: Timed, minMs: number, maxMs: number, message: string): void {
  if (at === null) {
    t.fail(`${message}: not scheduled`)
    return
  }
  t.ok(
    at.getTime() >= window.before + minMs && at.getTime() <= window.after + maxMs,
    `${message}: next poll ${at.getTime() - window.before} ms after the sweep began, expected ${Math.round(minMs)}..${Math.round(maxMs)}`
  )
}

/**
 * What happens between a first 404 and its confirmation, without waiting for it: the reconciler's duplicate watch
 * found nothing carrying the row's marker (the watch is over), goneConfirmMs has passed since the first 404, and the
 * row is due again. Only rows with a suspected deletion are touched.
 */
async function letGoneBeConfirmed(
  scene: PollerScene,
  connections: Tracked[],
  goneConfirmMs = GONE_CONFIRM_MS
): Promise<void> {
  await scene.db
    .updateTable('connections')
    .set({
      duplicate_watch_until: null,
      gone_suspected_at: new Date(Date.now() - goneConfirmMs - 1000),
      next_poll_at: new Date(Date.now() - 1000)
    })
    .where(
      'id',
      'in',
      connections.map((c) => c.id)
    )
    .where('gone_suspected_at', 'is not', null)
    .execute()
}

async function readSecretError(scene: PollerScene, id: string): Promise<string> {
  try {
    await scene.secrets.read(id)
    return 'readable'
  } catch (err) {
    return err instanceof SecretStoreError ? err.code : String(err)
  }
}

void t.test('StatePoller', async (t) => {
  const { db } = await openMigratedDatabase(t)

  void t.test(
    'an initializing connection that Flow Service enabled is recorded as enabled, by the poller',
    async (t) => {
      const scene = await startPollerScene(t, db, { readyDelayMs: 0 })
      const [c] = await scene.track(1)
      if (c === undefined) throw new Error('no connection')

      const window = await timed(async () => {
        t.match(await scene.poller().sweep(), { polled: 1, changed: 1, failed: 0 })
      })

      const row = await scene.row(c)
      t.match(row, {
        state: 'enabled',
        state_reason: null,
        downstream_state: 'enabled',
        poll_failures: 0,
        lease_owner: null,
        lease_until: null
      })
      t.equal(row.etag, scene.emulator.control.storedConnection(c.flowId)?.etag, 'the etag Flow Service holds')
      t.match(await connectionEvents(db, c.id), [
        { from_state: 'initializing', to_state: 'enabled', observed_by: 'poller' }
      ])
      t.match(await auditRows(db, c.id), [{ actor: 'poller', action: 'connection.state_changed' }])
      scheduledWithin(
        t,
        row.next_poll_at,
        window,
        STEADY_MS * 0.9,
        STEADY_MS * 1.1,
        'a stable connection is polled at the steady interval'
      )
    }
  )

  void t.test('a connection made by the create use case is followed to enabled', async (t) => {
    const scene = await startPollerScene(t, db, { readyDelayMs: 0 })
    const deps = {
      db,
      audit: new AuditLog(db),
      secrets: scene.secrets,
      flow: scene.flow,
      logger: scene.log.logger,
      settings: {
        createDeadlineMs: 5000,
        fastPollIntervalMs: FAST_MS,
        changeDeadlineMs: 5000,
        flowTimeoutMs: 5000,
        goneConfirmMs: 200,
        duplicateWatchMs: 60000,
        orphanGraceMs: 3600000
      }
    }
    const caller = {
      keyId: 'key-1',
      team: 'crm',
      scopes: ['connections:write' as const],
      sandboxes: null,
      connectionSpecs: null
    }
    const { row: created } = await createConnection(
      deps,
      { caller, requestId: 'req-1' },
      {
        body: SEED_BODIES.salesforceBasicWithUrl,
        sandboxName: 'prod'
      }
    )
    t.equal(created.state, 'initializing')
    const c = { id: created.id, flowId: created.flow_connection_id ?? '' }
    // A poller whose clock is just past the first poll the create scheduled.
    const clock = new FakeClock(Math.max(Date.now(), (created.next_poll_at?.getTime() ?? 0) + 10))

    t.match(await scene.poller({ clock }).sweep(), { polled: 1, changed: 1 })
    t.equal((await scene.row(c)).state, 'enabled')
    t.same(
      (await connectionEvents(db, c.id)).map((e) => [e.to_state, e.observed_by]),
      [
        ['pending', 'request'],
        ['initializing', 'request'],
        ['enabled', 'poller']
      ]
    )
  })

  void t.test('a connection still initializing downstream records nothing and is polled again soon', async (t) => {
    const scene = await startPollerScene(t, db, { readyDelayMs: 60000 })
    const [c] = await scene.track(1)
    if (c === undefined) throw new Error('no connection')

    const window = await timed(async () => {
      t.match(await scene.poller().sweep(), { polled: 1, changed: 0, failed: 0 })
    })

    const row = await scene.row(c)
    t.equal(row.state, 'initializing')
    t.equal(await scene.eventCount([c]), 0)
    scheduledWithin(
      t,
      row.next_poll_at,
      window,
      FAST_MS * 0.9,
      FAST_MS * 1.1,
      'a settling connection is polled at the fast interval'
    )
  })

  void t.test('a connection disabled downstream is recorded as disabled', async (t) => {
    const scene = await startPollerScene(t, db)
    const [c] = await scene.track(1, { downstream: 'enabled', state: 'enabled' })
    if (c === undefined) throw new Error('no connection')
    scene.emulator.control.forceState(c.flowId, 'disabled')

    await scene.poller().sweep()

    t.equal((await scene.row(c)).state, 'disabled')
    t.match(await connectionEvents(db, c.id), [
      { from_state: 'enabled', to_state: 'disabled', downstream_state: 'disabled', observed_by: 'poller' }
    ])
  })

  void t.test(
    'an unknown downstream state is kept verbatim, recorded once, and polled fast, without failing the sweep',
    async (t) => {
      const scene = await startPollerScene(t, db)
      const [c] = await scene.track(1, { downstream: 'enabled', state: 'enabled' })
      if (c === undefined) throw new Error('no connection')
      scene.emulator.control.forceState(c.flowId, 'enabled-finalizing')
      const poller = scene.poller()

      t.match(await poller.sweep(), { polled: 1, changed: 0, failed: 0 })
      await scene.makeDue([c])
      const window = await timed(async () => {
        t.match(await poller.sweep(), { polled: 1, failed: 0 })
      })

      const row = await scene.row(c)
      t.match(row, { state: 'enabled', downstream_state: 'enabled-finalizing', state_reason: /"enabled-finalizing"/ })
      t.equal(await scene.eventCount([c]), 1, 'recorded on the first poll only')
      scheduledWithin(t, row.next_poll_at, window, FAST_MS * 0.9, FAST_MS * 1.1, 'polled fast until it settles')
    }
  )

  void t.test('a downstream state named like an Object.prototype member is just another unknown state', async (t) => {
    const scene = await startPollerScene(t, db)
    const [c] = await scene.track(1, { downstream: 'enabled', state: 'enabled' })
    if (c === undefined) throw new Error('no connection')
    scene.emulator.control.forceState(c.flowId, 'constructor')

    t.match(await scene.poller().sweep(), { polled: 1, failed: 0 })

    t.match(await scene.row(c), {
      state: 'enabled',
      downstream_state: 'constructor',
      state_reason: /"constructor"/,
      poll_failures: 0
    })
  })

  void t.test(
    'a connection deleted behind the broker’s back is only suspected on the first 404, recorded deleted on a confirmed second one, and keeps its secret for a grace period',
    async (t) => {
      const scene = await startPollerScene(t, db)
      const [c] = await scene.track(1, { downstream: 'enabled', state: 'enabled', withSecret: true })
      if (c === undefined) throw new Error('no connection')
      t.equal(await readSecretError(scene, c.id), 'readable', 'the secret exists before')
      scene.emulator.control.deleteConnection(c.flowId)
      const poller = scene.poller()

      // First 404 (Flow Service's own, on the GET by id): a suspicion, and a duplicate watch for the reconciler.
      let first: Timed = { before: 0, after: 0 }
      const firstCalls = await scene.callsDuring(async () => {
        first = await timed(async () => {
          t.match(await poller.sweep(), { polled: 1, changed: 0, failed: 0 })
        })
      })
      t.match(firstCalls, { list: 1, get: 1 })
      const suspected = await scene.row(c)
      t.match(suspected, {
        state: 'enabled',
        poll_failures: 0,
        lease_owner: null,
        secret_version: 1,
        secret_destroy_after: null
      })
      const suspectedAt = suspected.gone_suspected_at?.getTime() ?? 0
      t.ok(suspectedAt >= first.before && suspectedAt <= first.after, 'the first 404 is remembered')
      scheduledWithin(
        t,
        suspected.duplicate_watch_until,
        first,
        GONE_CONFIRM_MS,
        GONE_CONFIRM_MS,
        'a duplicate watch is started'
      )
      scheduledWithin(
        t,
        suspected.next_poll_at,
        first,
        GONE_CONFIRM_MS,
        GONE_CONFIRM_MS,
        'polled again once a second 404 could confirm it'
      )
      t.equal(await scene.eventCount([c]), 0, 'nothing recorded on one 404')

      // A second 404 while the duplicate watch is still on confirms nothing (the reconciler has not looked yet).
      await scene.makeDue([c])
      t.match(await poller.sweep(), { polled: 1, changed: 0, failed: 0 })
      t.match(
        await scene.row(c),
        { state: 'enabled', secret_version: 1, gone_suspected_at: suspected.gone_suspected_at },
        'still only suspected'
      )
      t.equal(await scene.eventCount([c]), 0)

      // Watch over, goneConfirmMs passed: the next 404 records the deletion.
      await letGoneBeConfirmed(scene, [c])
      let confirmed: Timed = { before: 0, after: 0 }
      const confirmCalls = await scene.callsDuring(async () => {
        confirmed = await timed(async () => {
          t.match(await poller.sweep(), { polled: 1, changed: 1, failed: 0 })
        })
      })
      t.match(confirmCalls, { list: 1, get: 1 })
      const row = await scene.row(c)
      t.match(row, {
        state: 'deleted',
        state_reason: /outside the broker/,
        next_poll_at: null,
        gone_suspected_at: null,
        lease_owner: null
      })
      t.equal(row.secret_version, 1, 'the secret is still recorded as held')
      scheduledWithin(
        t,
        row.secret_destroy_after,
        confirmed,
        SECRET_GRACE_MS,
        SECRET_GRACE_MS,
        'destroyed by the reconciler after the grace period'
      )
      t.match(await connectionEvents(db, c.id), [{ from_state: 'enabled', to_state: 'deleted', observed_by: 'poller' }])
      t.equal(await readSecretError(scene, c.id), 'readable', 'the secret is kept (recoverable by an operator)')
    }
  )

  void t.test(
    'a second 404 sooner than goneConfirmMs after the first confirms nothing, even once the watch is over',
    async (t) => {
      const scene = await startPollerScene(t, db)
      const [c] = await scene.track(1, { downstream: 'enabled', state: 'enabled', withSecret: true })
      if (c === undefined) throw new Error('no connection')
      scene.emulator.control.deleteConnection(c.flowId)
      const poller = scene.poller({ goneConfirmMs: 60000 })
      await poller.sweep()
      const suspectedAt = (await scene.row(c)).gone_suspected_at
      if (suspectedAt === null) throw new Error('not suspected')

      await db.updateTable('connections').set({ duplicate_watch_until: null }).where('id', '=', c.id).execute()
      await scene.makeDue([c])
      const window = await timed(async () => {
        t.match(await poller.sweep(), { polled: 1, changed: 0, failed: 0 })
      })

      const row = await scene.row(c)
      t.match(row, { state: 'enabled', secret_version: 1, gone_suspected_at: suspectedAt, lease_owner: null })
      scheduledWithin(t, row.next_poll_at, window, 60000, 60000, 'polled again goneConfirmMs later')
      t.equal(await scene.eventCount([c]), 0)
    }
  )

  void t.test('a connection that Flow Service shows again after a 404 is no longer suspected', async (t) => {
    const scene = await startPollerScene(t, db)
    const [c] = await scene.track(1, { downstream: 'enabled', state: 'enabled' })
    if (c === undefined) throw new Error('no connection')
    const poller = scene.poller()
    // A peer that does not list it and answers 404 to the GET, for a moment.
    scene.emulator.control.injectFault('list', { kind: 'odd-200', body: 'empty-items' })
    scene.emulator.control.injectFault('get', { kind: 'status', status: 404 })
    t.match(await poller.sweep(), { polled: 1, changed: 0, failed: 0 })
    t.not((await scene.row(c)).gone_suspected_at, null, 'suspected')

    await scene.makeDue([c])
    t.match(await poller.sweep(), { polled: 1, changed: 0, failed: 0 })
    t.match(await scene.row(c), { state: 'enabled', gone_suspected_at: null }, 'listed again: the suspicion is dropped')

    // A later 404 starts over: a first one again, not a confirmation.
    scene.emulator.control.deleteConnection(c.flowId)
    await db.updateTable('connections').set({ duplicate_watch_until: null }).where('id', '=', c.id).execute()
    await scene.makeDue([c])
    t.match(await poller.sweep(), { polled: 1, changed: 0 })
    t.match(await scene.row(c), { state: 'enabled' })
    t.not((await scene.row(c)).gone_suspected_at, null)
  })

  const NOT_A_DELETION: Array<[string, FaultSpec]> = [
    ['a 503', { kind: 'status', status: 503 }],
    ['a 200 with empty items', { kind: 'odd-200', body: 'empty-items' }],
    ['a 200 without items', { kind: 'odd-200', body: 'no-items' }],
    ['a 200 that is not JSON', { kind: 'odd-200', body: 'not-json' }],
    ['a 200 about another connection', { kind: 'other-item', mode: 'replace' }]
  ]
  for (const [name, fault] of NOT_A_DELETION) {
    void t.test(`${name} on the confirming GET is a failed poll, not a deletion nor a suspicion of one`, async (t) => {
      const scene = await startPollerScene(t, db)
      const [c] = await scene.track(1, { downstream: 'enabled', state: 'enabled', withSecret: true })
      if (c === undefined) throw new Error('no connection')
      scene.emulator.control.deleteConnection(c.flowId)
      scene.emulator.control.injectFault('get', fault)

      t.match(await scene.poller().sweep(), { polled: 0, failed: 1 })

      t.match(await scene.row(c), { state: 'enabled', poll_failures: 1, gone_suspected_at: null, secret_version: 1 })
      t.equal(await scene.eventCount([c]), 0)
      t.equal(await readSecretError(scene, c.id), 'readable', 'the secret is kept')
    })
  }

  void t.test(
    'an item carrying another broker connection’s marker is a failed poll that starts a duplicate watch',
    async (t) => {
      const scene = await startPollerScene(t, db)
      const [c] = await scene.track(1, { downstream: 'enabled', state: 'enabled', withSecret: true })
      if (c === undefined) throw new Error('no connection')
      const other = '01900000-0000-7000-8000-0000000a11e5'
      const stored = scene.emulator.control.storedConnection(c.flowId)
      if (stored === undefined) throw new Error('not stored')
      await scene.flow.updateConnection('prod', c.flowId, stored.etag, [
        { op: 'replace', path: '/description', value: `theirs [credential-broker:${other}]` }
      ])
      scene.emulator.control.forceState(c.flowId, 'disabled')
      const poller = scene.poller()

      const window = await timed(async () => {
        t.match(await poller.sweep(), { polled: 0, changed: 0, failed: 1 })
      })

      const row = await scene.row(c)
      t.match(row, {
        state: 'enabled',
        downstream_state: 'enabled',
        poll_failures: 1,
        gone_suspected_at: null,
        secret_version: 1,
        lease_owner: null
      })
      scheduledWithin(
        t,
        row.duplicate_watch_until,
        window,
        GONE_CONFIRM_MS,
        GONE_CONFIRM_MS,
        'the reconciler looks for the connection carrying this one’s marker'
      )
      t.equal(await scene.eventCount([c]), 0, 'nothing recorded from an answer about another connection')
      t.ok(
        scene.log.lines().some((l) => l.level === 40 && l.msg === 'poll failed; rescheduled with backoff'),
        'the failure is logged'
      )

      // The same item brought by the GET (the list leaving it out) fails the same way.
      scene.emulator.control.injectFault('list', { kind: 'odd-200', body: 'empty-items' })
      await scene.makeDue([c])
      const calls = await scene.callsDuring(async () => {
        t.match(await poller.sweep(), { polled: 0, failed: 1 })
      })
      t.match(calls, { list: 1, get: 1 })
      t.match(await scene.row(c), { state: 'enabled', poll_failures: 2, gone_suspected_at: null })
      t.equal(await scene.eventCount([c]), 0)
    }
  )

  void t.test('deleted and failed connections are never polled again', async (t) => {
    const scene = await startPollerScene(t, db)
    const [deleted] = await scene.track(1, { downstream: 'enabled', state: 'enabled' })
    // A create that never completed downstream: Flow Service has no such id.
    const [failed] = await scene.track(1, { downstream: 'enabled', state: 'pending' })
    if (deleted === undefined || failed === undefined) throw new Error('no connection')
    scene.emulator.control.deleteConnection(deleted.flowId)
    scene.emulator.control.deleteConnection(failed.flowId)
    const poller = scene.poller({ fastIntervalMs: 100, steadyIntervalMs: 200 })
    await poller.sweep()
    t.match(await scene.row(deleted), { state: 'enabled' }, 'one 404 is only a suspicion')
    t.match(await scene.row(failed), { state: 'pending' }, 'one 404 is only a suspicion')
    await letGoneBeConfirmed(scene, [deleted, failed])
    await poller.sweep()
    t.match(await scene.row(deleted), { state: 'deleted', next_poll_at: null })
    t.match(await scene.row(failed), { state: 'failed', next_poll_at: null })

    // No next poll at all: however long we wait, neither is due again.
    const calls = await scene.callsDuring(async () => {
      t.match(await poller.sweep(), { polled: 0 })
    })
    t.match(calls, { list: 0, get: 0 })
  })

  void t.test('a connection not yet created downstream is left to its create and not polled', async (t) => {
    const scene = await startPollerScene(t, db)
    const row = await insertTestConnection(db, {
      state: 'pending',
      downstream_state: null,
      flow_connection_id: null,
      next_poll_at: new Date(Date.now() - 1000)
    })

    const calls = await scene.callsDuring(async () => {
      await scene.poller().sweep()
    })

    t.match(calls, { list: 0, get: 0 })
    t.match(await scene.row({ id: row.id, flowId: '' }), { state: 'pending', next_poll_at: null, lease_owner: null })
  })

  void t.test('N connections in one sandbox cost ceil(N / 100) list calls plus one GET per missing one', async (t) => {
    const scene = await startPollerScene(t, db)
    const connections = await scene.track(250, { downstream: 'enabled' })
    const missing = connections.filter((_, i) => i % 100 === 7)
    for (const c of missing) scene.emulator.control.deleteConnection(c.flowId)

    // Long intervals: a connection polled early in the sweep must not fall due again before it ends (nor one
    // suspected gone, due again goneConfirmMs after its first 404).
    const poller = scene.poller({ fastIntervalMs: 60000, steadyIntervalMs: 60000, goneConfirmMs: 60000 })
    let result
    const calls = await scene.callsDuring(async () => {
      result = await poller.sweep()
    })

    t.match(calls, { list: 3, get: missing.length, create: 0, update: 0, delete: 0 })
    t.match(result, { polled: 250, changed: 250 - missing.length, failed: 0, downstreamCalls: 3 + missing.length })
    t.equal(await scene.eventCount(connections), 250 - missing.length, 'one change recorded per listed connection')
    for (const c of missing)
      t.match(
        await scene.row(c),
        { state: 'initializing', gone_suspected_at: Date },
        'a missing connection is suspected'
      )

    // Their second 404, once confirmable: one list call for the three, one GET each.
    await letGoneBeConfirmed(scene, missing, 60000)
    const confirm = await scene.callsDuring(async () => {
      result = await poller.sweep()
    })
    t.match(confirm, { list: 1, get: missing.length, delete: 0 })
    t.match(result, { polled: missing.length, changed: missing.length, failed: 0, downstreamCalls: 1 + missing.length })
    t.equal(await scene.eventCount(connections), 250, 'one change recorded per connection')
    for (const c of missing) t.equal((await scene.row(c)).state, 'deleted', 'a missing connection is deleted')
  })

  void t.test('connections in two sandboxes are listed once per sandbox, each in its own sandbox', async (t) => {
    const scene = await startPollerScene(t, db)
    const prod = await scene.track(2, { sandbox: 'prod', downstream: 'enabled' })
    const dev = await scene.track(2, { sandbox: 'dev', downstream: 'enabled' })

    const calls = await scene.callsDuring(async () => {
      await scene.poller().sweep()
    })

    t.match(calls, { list: 2, get: 0 })
    const lists = scene.emulator.control
      .recentRequests()
      .filter((r) => r.operation === 'list' && r.query !== 'count=true')
    t.same(lists.map((r) => r.sandbox).sort(), ['dev', 'prod'])
    for (const c of [...prod, ...dev]) t.equal((await scene.row(c)).state, 'enabled')
  })

  const FAULTS: Array<[string, FaultSpec]> = [
    ['a 500', { kind: 'status', status: 500 }],
    ['a 503', { kind: 'status', status: 503 }],
    ['a timeout', { kind: 'timeout', delayMs: 5000 }],
    ['a reset connection', { kind: 'reset' }]
  ]
  for (const [name, fault] of FAULTS) {
    void t.test(`${name} on the batch call fails the batch, not the sweep, and backs off`, async (t) => {
      const scene = await startPollerScene(t, db, { timeoutMs: 1000 })
      const connections = await scene.track(2, { downstream: 'enabled' })
      const poller = scene.poller()

      scene.emulator.control.injectFault('list', fault)
      const first = await timed(async () => {
        t.match(await poller.sweep(), { polled: 0, failed: 2 })
      })
      for (const c of connections) {
        const row = await scene.row(c)
        t.match(row, { state: 'initializing', poll_failures: 1, lease_owner: null, lease_until: null })
        scheduledWithin(
          t,
          row.next_poll_at,
          first,
          FAST_MS * 2 * 0.9,
          FAST_MS * 2 * 1.1,
          'first failure: twice the fast interval'
        )
      }

      scene.emulator.control.injectFault('list', fault)
      await scene.makeDue(connections)
      const second = await timed(async () => {
        t.match(await poller.sweep(), { failed: 2 })
      })
      for (const c of connections) {
        const row = await scene.row(c)
        t.equal(row.poll_failures, 2)
        scheduledWithin(
          t,
          row.next_poll_at,
          second,
          FAST_MS * 4 * 0.9,
          FAST_MS * 4 * 1.1,
          'second failure: four times the fast interval'
        )
      }
      t.ok(
        scene.log.lines().some((l) => l.level === 40 && l.msg === 'poll batch failed; rescheduled with backoff'),
        'the failure is logged'
      )
      t.equal(await scene.eventCount(connections), 0, 'no state recorded from a failed poll')
    })
  }

  void t.test('backoff after many failures is capped at the steady interval', async (t) => {
    const scene = await startPollerScene(t, db)
    const [c] = await scene.track(1)
    if (c === undefined) throw new Error('no connection')
    await db.updateTable('connections').set({ poll_failures: 30 }).where('id', '=', c.id).execute()
    scene.emulator.control.injectFault('list', { kind: 'status', status: 502 })

    const window = await timed(async () => {
      await scene.poller().sweep()
    })

    const row = await scene.row(c)
    t.equal(row.poll_failures, 31)
    scheduledWithin(t, row.next_poll_at, window, STEADY_MS * 0.9, STEADY_MS * 1.1, 'capped')
  })

  void t.test('the first successful poll after failures resets the failure count', async (t) => {
    const scene = await startPollerScene(t, db)
    const [c] = await scene.track(1, { downstream: 'enabled' })
    if (c === undefined) throw new Error('no connection')
    const poller = scene.poller()
    scene.emulator.control.injectFault('list', { kind: 'status', status: 500 })
    await poller.sweep()
    await scene.makeDue([c])

    await poller.sweep()

    t.match(await scene.row(c), { state: 'enabled', poll_failures: 0 })
  })

  void t.test('a 429 with Retry-After pauses the poller until then', async (t) => {
    const scene = await startPollerScene(t, db)
    const [c] = await scene.track(1, { downstream: 'enabled' })
    if (c === undefined) throw new Error('no connection')
    // A minute ahead of the wall clock: whatever the scene made due is due for this poller.
    const clock = new FakeClock(Date.now() + 60000)
    const poller = scene.poller({ clock })
    scene.emulator.control.injectFault('list', { kind: 'rate-limit', retryAfterSeconds: 2 })
    const throttledAt = clock.now()
    t.match(await poller.sweep(), { failed: 1 })
    const retryAt = (await scene.row(c)).next_poll_at?.getTime() ?? 0
    t.ok(retryAt >= throttledAt + 2000, 'the connection is not due before Retry-After')
    await scene.makeDue([c])

    const paused = await scene.callsDuring(async () => {
      t.match(await poller.sweep(), { polled: 0, failed: 0, downstreamCalls: 0 })
    })
    t.match(paused, { list: 0, get: 0 }, 'no call while paused, even for a due connection')

    clock.advance(retryAt + 20 - clock.now())
    t.match(await poller.sweep(), { polled: 1, changed: 1 }, 'polls again after Retry-After')
  })

  void t.test('a 429 stops the sweep from calling Flow Service for its other sandboxes', async (t) => {
    const scene = await startPollerScene(t, db)
    const connections = [
      ...(await scene.track(1, { sandbox: 'prod', downstream: 'enabled' })),
      ...(await scene.track(1, { sandbox: 'dev', downstream: 'enabled' }))
    ]
    scene.emulator.control.injectFault('list', { kind: 'rate-limit', retryAfterSeconds: 1 })
    const throttledAt = Date.now()

    const calls = await scene.callsDuring(async () => {
      await scene.poller().sweep()
    })

    t.match(calls, { list: 1, get: 0 }, 'one call answered 429, then none')
    for (const c of connections) {
      const row = await scene.row(c)
      t.match(row, { state: 'initializing', lease_owner: null }, 'released')
      t.ok(
        (row.next_poll_at?.getTime() ?? 0) >= throttledAt + 1000,
        'not due again before Retry-After, for any replica'
      )
    }
  })

  void t.test('a 429 on a confirming GET stops the other confirming GETs of the batch', async (t) => {
    const scene = await startPollerScene(t, db)
    const missing = await scene.track(3, { downstream: 'enabled', state: 'enabled' })
    for (const c of missing) scene.emulator.control.deleteConnection(c.flowId)
    scene.emulator.control.injectFault('get', { kind: 'rate-limit', retryAfterSeconds: 1 })

    const calls = await scene.callsDuring(async () => {
      t.match(await scene.poller().sweep(), { polled: 0, failed: 1 })
    })

    t.match(calls, { list: 1, get: 1 })
    for (const c of missing)
      t.match(await scene.row(c), { state: 'enabled', lease_owner: null }, 'not called deleted, released')
  })

  void t.test('two pollers sweeping together never record a transition twice', async (t) => {
    const scene = await startPollerScene(t, db)
    const connections = await scene.track(40, { downstream: 'disabled' })
    // Long intervals: on a busy machine a sweep may outlast the steady interval, and its first connections must not
    // fall due again before it ends.
    const a = scene.poller({ owner: 'replica-a', batchSize: 5, fastIntervalMs: 60000, steadyIntervalMs: 60000 })
    const b = scene.poller({ owner: 'replica-b', batchSize: 5, fastIntervalMs: 60000, steadyIntervalMs: 60000 })

    const [ra, rb] = await Promise.all([a.sweep(), b.sweep()])
    t.ok(ra.polled > 0 && rb.polled > 0, `both replicas took a share (${ra.polled} + ${rb.polled})`)
    t.equal(ra.polled + rb.polled, 40, 'every connection polled once between them')
    t.equal(await scene.eventCount(connections), 40, 'one event per connection')

    for (const c of connections) scene.emulator.control.forceState(c.flowId, 'enabled')
    await scene.makeDue(connections)
    await Promise.all([a.sweep(), b.sweep(), a.sweep(), b.sweep()])
    t.equal(await scene.eventCount(connections), 80, 'one more event per connection')
    const perConnection = await db
      .selectFrom('connection_events')
      .select(['connection_id', 'to_state'])
      .select((eb) => eb.fn.countAll<string>().as('n'))
      .where(
        'connection_id',
        'in',
        connections.map((c) => c.id)
      )
      .groupBy(['connection_id', 'to_state'])
      .execute()
    t.ok(
      perConnection.every((r) => Number(r.n) === 1),
      'no transition recorded twice'
    )
  })

  void t.test('a lease held by a replica that died is taken over once it expires', async (t) => {
    const scene = await startPollerScene(t, db)
    const [c] = await scene.track(1, { downstream: 'enabled' })
    if (c === undefined) throw new Error('no connection')
    const poller = scene.poller()
    await db
      .updateTable('connections')
      .set({ lease_owner: 'dead-replica', lease_until: new Date(Date.now() + 60000) })
      .where('id', '=', c.id)
      .execute()
    t.match(await poller.sweep(), { polled: 0 }, 'not while the lease runs')

    await db
      .updateTable('connections')
      .set({ lease_until: new Date(Date.now() - 1) })
      .where('id', '=', c.id)
      .execute()
    t.match(await poller.sweep(), { polled: 1, changed: 1 }, 'taken over once it expired')
    t.match(await scene.row(c), { state: 'enabled', lease_owner: null })
  })

  void t.test('a poller whose lease expired mid-poll records nothing; the replica that took over does', async (t) => {
    const scene = await startPollerScene(t, db)
    const [c] = await scene.track(1, { downstream: 'enabled' })
    if (c === undefined) throw new Error('no connection')
    const held = holdLists(scene.flow)
    const slow = scene.poller({ owner: 'slow-replica', leaseMs: 50 }, held.flow)
    // The other replica's clock is a minute on: the slow replica's 50 ms lease has expired for it.
    const other = scene.poller({ owner: 'other-replica', clock: new FakeClock(Date.now() + 60000) })

    const slowSweep = slow.sweep()
    await held.asked.promise
    t.match(await other.sweep(), { changed: 1 }, 'the other replica claims the expired lease and records')
    held.answer.open()
    t.match(await slowSweep, { changed: 0 }, 'the slow replica finds its lease gone')

    t.equal(await scene.eventCount([c]), 1)
  })

  void t.test('start() polls in the background', async (t) => {
    const scene = await startPollerScene(t, db)
    const [c] = await scene.track(1, { downstream: 'enabled' })
    if (c === undefined) throw new Error('no connection')
    const clock = new FakeClock()
    const poller = scene.poller({ clock })

    poller.start()
    await clock.asleep()
    t.equal((await scene.row(c)).state, 'enabled', 'recorded by the sweep start() runs at once')
    t.same(
      clock.sleeps.map((ms) => ms >= 18 && ms <= 22),
      [true],
      'then idle for idleDelayMs (±10 %)'
    )
    await poller.stop()
    t.pass('recorded and stopped')
  })

  void t.test('stop() waits for the sweep in flight to finish recording', async (t) => {
    const scene = await startPollerScene(t, db)
    const [c] = await scene.track(1, { downstream: 'enabled' })
    if (c === undefined) throw new Error('no connection')
    const held = holdLists(scene.flow)
    const poller = scene.poller({ clock: new FakeClock() }, held.flow)

    poller.start()
    await held.asked.promise
    let stopped = false
    const stopping = poller.stop().then(() => {
      stopped = true
    })
    await settle()
    t.equal(stopped, false, 'stop() does not resolve while the batch call is out')
    held.answer.open()
    await stopping

    t.match(
      await scene.row(c),
      { state: 'enabled', lease_owner: null, lease_until: null },
      'the answer was recorded before stop() resolved'
    )
    t.equal(await scene.eventCount([c]), 1)
  })
})
