// The reconciler settles what requests left behind: pending creates past the grace period (completed when Flow
// Service has a connection carrying the broker's marker, rolled back otherwise), duplicates of a create under a
// duplicate watch, secrets nothing needs, and it never settles a row twice even with two replicas sweeping at once.
import { pino } from 'pino'
import t from 'tap'
import { Reconciler } from '../../src/reconciler/reconciler.js'
import { downstreamMarker } from '../../src/connections/create/downstream-marker.js'
import type { FlowServiceClient } from '../../src/flow-service/flow-service-client.js'
import { auditRows, connectionEvents, insertTestConnection } from '../support/connection-rows.js'
import { connectionRow } from '../support/lifecycle-fixtures.js'
import { FakeClock } from '../support/fake-clock.js'
import { gate, settle } from '../support/gate.js'
import { startTestBroker } from '../support/test-broker.js'

const GRACE_MS = 4000
const b = await startTestBroker(t, {
  poller: false,
  reconciler: false,
  readyDelayMs: 60000,
  env: {
    FLOW_SERVICE_TIMEOUT_MS: '500',
    CREATE_DEADLINE_MS: '3000',
    PENDING_GRACE_MS: String(GRACE_MS),
    RECONCILE_INTERVAL_MS: '200'
  }
})
const { db } = b.broker.database
const control = b.emulator.control
const secrets = b.broker.secrets
const deps = {
  db,
  audit: b.broker.audit,
  secrets,
  flow: b.broker.flow,
  logger: pino({ level: 'silent' }),
  settings: {
    createDeadlineMs: 3000,
    changeDeadlineMs: 3000,
    fastPollIntervalMs: 100,
    flowTimeoutMs: 500,
    goneConfirmMs: 200,
    duplicateWatchMs: 60000,
    orphanGraceMs: 3600000
  }
}
const reconcilerOptions = { intervalMs: 200, pendingGraceMs: GRACE_MS, flowTimeoutMs: 500 }

const old = (): Date => new Date(Date.now() - GRACE_MS - 60000)
const SALESFORCE_SPEC = 'cfc0fee1-7dc0-40ef-b73e-d8b134c436f5'

/** A create body as the broker sends it for `stranded`: its marker in the description, under any name. */
function markedBody(stranded: { id: string }, name: string): Parameters<typeof b.broker.flow.createConnection>[1] {
  return {
    name,
    description: downstreamMarker(undefined, stranded.id),
    auth: {
      specName: 'Basic Authentication',
      params: { environmentUrl: 'https://acme.my.salesforce.com', username: 'u', password: 'p', securityToken: 's' }
    },
    connectionSpec: { id: SALESFORCE_SPEC, version: '1.0' }
  }
}

/** Waits until the clock has moved on, so connections created before and after have distinct createdAt. */
async function nextMillisecond(): Promise<void> {
  const now = Date.now()
  while (Date.now() <= now) await new Promise((resolve) => setImmediate(resolve))
}

/** Ends the duplicate watch of the given rows, as if its time were up: the next sweep looks once more, then ends it. */
async function watchTimeUp(ids: string[]): Promise<void> {
  await db
    .updateTable('connections')
    .set({ duplicate_watch_until: new Date(Date.now() - 1000) })
    .where('id', 'in', ids)
    .execute()
}

/** A pending row as a create leaves it when the process dies: secret written (and recorded, or not). */
async function strandedCreate(
  options: { recorded: boolean; createdAt?: Date; lease?: boolean } = { recorded: true }
): Promise<{ id: string; name: string }> {
  const row = await insertTestConnection(db, {
    state: 'pending',
    downstream_state: null,
    created_at: options.createdAt ?? old(),
    idempotency_key: `key-${Math.random()}`,
    request_fingerprint: 'f'.repeat(64),
    ...(options.lease === true ? { lease_owner: 'create:someone', lease_until: new Date(Date.now() + 60000) } : {})
  })
  await secrets.write(row.id, { password: 'stranded-pw', securityToken: 'stranded-tok' }, { cas: 0 })
  if (options.recorded)
    await db.updateTable('connections').set({ secret_version: 1 }).where('id', '=', row.id).execute()
  return { id: row.id, name: row.name }
}

t.beforeEach(() => {
  control.reset({ keepTokens: true })
  control.setReadyDelayMs(60000)
})

void t.test(
  'a create that died before recording its secret version never reached Flow Service: rolled back without asking it',
  async (t) => {
    const stranded = await strandedCreate({ recorded: false })
    const result = await b.broker.reconciler.sweep()
    t.match(result, { rolledBack: 1, completed: 0 })
    t.equal(control.callCounts().list, 0, 'no look downstream needed')
    const row = await connectionRow(b, stranded.id)
    t.match(row, { state: 'failed', secret_version: null, idempotency_key: null, lease_owner: null })
    t.match(row.state_reason, /stopped before reaching Flow Service/)
    t.equal(row.duplicate_watch_until, null, 'no POST was sent: nothing to watch for')
    t.notOk((await secrets.listKeys()).includes(stranded.id), 'the unrecorded secret is destroyed too')
    t.match(await connectionEvents(db, stranded.id), [
      { from_state: 'pending', to_state: 'failed', observed_by: 'reconciler' }
    ])
    t.match(await auditRows(db, stranded.id), [{ actor: 'reconciler', action: 'connection.state_changed' }])
  }
)

void t.test(
  'a create whose POST may have landed: completed with the oldest marked connection, found whatever its name; duplicates deleted once they can be',
  async (t) => {
    const stranded = await strandedCreate({ recorded: true })
    // Three connections downstream carry its marker (the POST landed more than once), none under the row's name: the
    // look-up is by marker. The oldest is kept.
    const first = await b.broker.flow.createConnection('prod', markedBody(stranded, 'ACME, Inc.'))
    await nextMillisecond()
    const second = await b.broker.flow.createConnection('prod', markedBody(stranded, 'ACME, Inc. (2)'))
    await nextMillisecond()
    const third = await b.broker.flow.createConnection('prod', markedBody(stranded, 'another name'))
    // Another broker connection's marked connection, and an unmarked one: neither is touched.
    const foreign = await b.broker.flow.createConnection(
      'prod',
      markedBody({ id: '01900000-0000-7000-8000-00000000f0e1' }, stranded.name)
    )
    const unmarked = await b.broker.flow.createConnection('prod', {
      ...markedBody(stranded, stranded.name),
      description: 'no marker'
    })
    // The second can be deleted at once; the third initializes (no etag: Flow Service refuses to delete it yet).
    control.forceState(second.id, 'enabled')
    const before = control.recentRequests().length

    const settled = await b.broker.reconciler.sweep()
    t.match(
      settled,
      { completed: 1, rolledBack: 0, deferred: 0 },
      'a duplicate that cannot be deleted yet no longer keeps the row pending'
    )
    let row = await connectionRow(b, stranded.id)
    t.match(row, { state: 'initializing', flow_connection_id: first.id, secret_version: 1, lease_owner: null })
    t.ok(row.next_poll_at, 'handed to the poller')
    t.ok((row.duplicate_watch_until?.getTime() ?? 0) > Date.now(), 'watched for the duplicates left')
    const lists = control
      .recentRequests()
      .slice(before)
      .filter((r) => r.operation === 'list')
    t.ok(
      lists.length > 0 && lists.every((r) => /orderby=-createdAt/.test(r.query) && !/name/.test(r.query)),
      `listed newest first, never by name: ${lists.map((r) => r.query).join(' | ')}`
    )
    const deletes = control
      .recentRequests()
      .slice(before)
      .filter((r) => r.operation === 'delete')
    t.same(
      deletes.map((r) => [r.path.split('/').pop(), r.status]),
      [[second.id, 204]],
      'the deletable duplicate is deleted, with its etag'
    )
    t.ok(control.storedConnection(first.id), 'the adopted one stays')
    t.equal(control.storedConnection(second.id), undefined, 'the deletable duplicate is gone')
    t.ok(control.storedConnection(third.id), 'the initializing duplicate waits')

    // Once it has an etag, a later sweep's duplicate watch deletes it.
    control.forceState(third.id, 'enabled')
    t.match(await b.broker.reconciler.sweep(), { completed: 0, duplicatesDeleted: 1, deferred: 0 })
    t.equal(control.storedConnection(third.id), undefined, 'the late duplicate is deleted')
    row = await connectionRow(b, stranded.id)
    t.match(row, { state: 'initializing', flow_connection_id: first.id, secret_version: 1 })
    t.ok(row.duplicate_watch_until, 'the watch goes on until its time is up')
    t.ok(control.storedConnection(first.id), 'the adopted one stays')
    t.ok(control.storedConnection(foreign.id), "another connection's marked connection is left alone")
    t.ok(control.storedConnection(unmarked.id), 'an unmarked connection is left alone')
    t.ok((await secrets.listKeys()).includes(stranded.id), 'its secret is kept')
    t.equal(
      (await connectionEvents(db, stranded.id)).filter((e) => e.observed_by === 'reconciler').length,
      1,
      'settled once'
    )

    // Its time up and nothing left to delete: the watch ends.
    await watchTimeUp([stranded.id])
    t.match(await b.broker.reconciler.sweep(), { duplicatesDeleted: 0, deferred: 0 })
    t.equal((await connectionRow(b, stranded.id)).duplicate_watch_until, null, 'the watch is over')
    for (const id of [foreign.id, unmarked.id]) control.deleteConnection(id)
  }
)

void t.test(
  'a create whose POST never landed: rolled back after one look, then watched for a late landing',
  async (t) => {
    const stranded = await strandedCreate({ recorded: true })
    t.match(await b.broker.reconciler.sweep(), { rolledBack: 1 })
    t.equal(control.callCounts().create, 0, 'the reconciler never posts')
    const row = await connectionRow(b, stranded.id)
    t.match(row, { state: 'failed', secret_version: null })
    t.ok((row.duplicate_watch_until?.getTime() ?? 0) > Date.now(), 'the POST may still land: watched')
    t.notOk((await secrets.listKeys()).includes(stranded.id))

    // It lands after all: the watch deletes it (the row is failed, so every marked connection goes).
    const late = await b.broker.flow.createConnection('prod', markedBody(stranded, stranded.name))
    control.forceState(late.id, 'enabled')
    t.match(await b.broker.reconciler.sweep(), { duplicatesDeleted: 1, rolledBack: 0, completed: 0 })
    t.equal(control.storedConnection(late.id), undefined, 'the late landing is deleted')
    t.match(await connectionRow(b, stranded.id), { state: 'failed', flow_connection_id: null })

    await watchTimeUp([stranded.id])
    await b.broker.reconciler.sweep()
    t.equal((await connectionRow(b, stranded.id)).duplicate_watch_until, null, 'the watch is over')
  }
)

void t.test('young pending rows and rows whose create still holds the lease are left alone', async (t) => {
  // A duplicate watch of another row (the subtests above end theirs) would list the connection spec's connections too.
  await db
    .updateTable('connections')
    .set({ duplicate_watch_until: null })
    .where('duplicate_watch_until', 'is not', null)
    .execute()
  const young = await strandedCreate({ recorded: true, createdAt: new Date() })
  const leased = await strandedCreate({ recorded: true, lease: true })
  t.match(await b.broker.reconciler.sweep(), { completed: 0, rolledBack: 0, duplicatesDeleted: 0, deferred: 0 })
  t.equal((await connectionRow(b, young.id)).state, 'pending')
  t.equal((await connectionRow(b, leased.id)).state, 'pending')
  t.equal(control.callCounts().list, 0)
  await db.updateTable('connections').set({ state: 'failed' }).where('id', 'in', [young.id, leased.id]).execute()
})

void t.test(
  'secrets of failed and deleted rows still recorded as held are destroyed; live ones and unknown keys are left',
  async (t) => {
    const failed = await insertTestConnection(db, { state: 'failed', secret_version: 1 })
    const deleted = await insertTestConnection(db, { state: 'deleted', secret_version: 1 })
    const live = await insertTestConnection(db, { state: 'enabled', secret_version: 1 })
    const orphan = '01900000-0000-7000-8000-00000000beef'
    for (const id of [failed.id, deleted.id, live.id, orphan]) await secrets.write(id, { password: 'x' }, { cas: 0 })

    const result = await b.broker.reconciler.sweep()
    t.ok(result.secretsDestroyed >= 2, `destroyed ${result.secretsDestroyed}`)
    const keys = await secrets.listKeys()
    t.notOk(keys.includes(failed.id), 'failed: destroyed')
    t.notOk(keys.includes(deleted.id), 'deleted: destroyed')
    t.ok(keys.includes(live.id), 'a live connection keeps its secret')
    t.ok(keys.includes(orphan), "a key without a row is the orphan sweep's, after its grace period")
    t.match(await connectionRow(b, failed.id), { secret_version: null })
    t.match(await connectionRow(b, deleted.id), { secret_version: null })
    await secrets.destroy(orphan)
    await db
      .updateTable('connections')
      .set({ state: 'deleted', secret_version: null })
      .where('id', '=', live.id)
      .execute()
    await secrets.destroy(live.id)
  }
)

void t.test('two replicas sweeping at once settle each stranded create exactly once', async (t) => {
  const stranded = await Promise.all(Array.from({ length: 12 }, async () => await strandedCreate({ recorded: true })))
  // Half of them did reach Flow Service (a lost answer): they must be completed, the others rolled back.
  for (const s of stranded.slice(0, 6)) {
    await b.broker.flow.createConnection('prod', {
      name: s.name,
      description: downstreamMarker(undefined, s.id),
      auth: {
        specName: 'Basic Authentication',
        params: { environmentUrl: 'https://acme.my.salesforce.com', username: 'u', password: 'p', securityToken: 's' }
      },
      connectionSpec: { id: 'cfc0fee1-7dc0-40ef-b73e-d8b134c436f5', version: '1.0' }
    })
  }
  const a = new Reconciler(deps, { ...reconcilerOptions, owner: 'replica-a', batchSize: 3 })
  const c = new Reconciler(deps, { ...reconcilerOptions, owner: 'replica-b', batchSize: 3 })
  const [ra, rc] = await Promise.all([a.sweep(), c.sweep()])
  t.equal(ra.completed + rc.completed, 6, `completed ${ra.completed} + ${rc.completed}`)
  t.equal(ra.rolledBack + rc.rolledBack, 6, `rolled back ${ra.rolledBack} + ${rc.rolledBack}`)
  for (const s of stranded) {
    const events = (await connectionEvents(db, s.id)).filter((e) => e.observed_by === 'reconciler')
    t.equal(events.length, 1, 'one transition per row')
  }
  t.equal(control.storedConnections().length, 6, 'no downstream connection added or lost')
})

void t.test('the loop runs at start, keeps running, and stop() waits for the sweep in flight', async (t) => {
  const stranded = await strandedCreate({ recorded: true })
  // Its first sweep's look downstream is held until the test lets it answer.
  const asked = gate()
  const answer = gate()
  const held: FlowServiceClient = {
    ...b.broker.flow,
    listConnections: async (sandbox, query) => {
      asked.open()
      await answer.promise
      return await b.broker.flow.listConnections(sandbox, query)
    }
  }
  const loop = new Reconciler(
    { ...deps, flow: held },
    { ...reconcilerOptions, owner: 'loop-test', clock: new FakeClock() }
  )
  loop.start()
  await asked.promise
  let stopped = false
  const stopping = loop.stop().then(() => {
    stopped = true
  })
  await settle()
  t.equal(stopped, false, 'stop() does not resolve while the sweep asks Flow Service')
  answer.open()
  await stopping
  t.equal(
    (await connectionRow(b, stranded.id)).state,
    'failed',
    'the sweep in flight finished recording before stop() resolved'
  )

  const clock = new FakeClock()
  const again = new Reconciler(deps, { ...reconcilerOptions, owner: 'loop-test-2', clock })
  again.start()
  t.teardown(async () => {
    await again.stop()
  })
  await clock.asleep()
  const later = await strandedCreate({ recorded: false })
  t.equal((await connectionRow(b, later.id)).state, 'pending', 'left until the next sweep')
  clock.advance(clock.sleeps[0] ?? 0)
  await clock.asleep()
  t.equal((await connectionRow(b, later.id)).state, 'failed')
})
