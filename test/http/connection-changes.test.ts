// PATCH /v1/connections/{id} (rename) and DELETE /v1/connections/{id}, against Flow Service's faults: stale etags,
// `initializing` (1417-400), refusals, outages, lost answers; and a connection deleted behind the broker's back.
import t from 'tap'
import { auditOf, connectionRow, eventually, salesforceBody } from '../support/lifecycle-fixtures.js'
import { startTestApp } from '../support/test-broker.js'

interface Resource {
  id: string
  name: string
  description: string | null
  state: string
  stateReason: string | null
  flowConnectionId: string
  etag: string
}
interface Problem {
  type: string
  detail: string
  errors?: Array<{ path: string }>
  downstream?: { code: string | null }
}

// Virtual time (startTestApp): backoff, Retry-After and initializing waits are instant. Held answers still wait for
// the client's real timeout (undici checks it on a ~0.5 s tick, so a lower setting would not make them shorter).
const b = await startTestApp(t, {
  readyDelayMs: 0,
  env: {
    FLOW_SERVICE_TIMEOUT_MS: '500',
    CHANGE_DEADLINE_MS: '3000',
    CREATE_DEADLINE_MS: '3000',
    PENDING_GRACE_MS: '4000'
  }
})
const control = b.emulator.control
t.beforeEach(() => {
  control.clearFaults()
  control.setReadyDelayMs(0)
})

async function enabledConnection(): Promise<Resource> {
  const res = await b.request({
    method: 'POST',
    url: '/v1/connections',
    body: salesforceBody({ description: 'first description' })
  })
  if (res.statusCode !== 201) throw new Error(res.body)
  const created = res.json<Resource>()
  await eventually(() => (control.storedConnection(created.flowConnectionId)?.state === 'enabled' ? true : undefined))
  return created
}

const rename = async (id: string, body: unknown): Promise<Awaited<ReturnType<typeof b.request>>> =>
  await b.request({ method: 'PATCH', url: `/v1/connections/${id}`, body })
const remove = async (id: string): Promise<Awaited<ReturnType<typeof b.request>>> =>
  await b.request({ method: 'DELETE', url: `/v1/connections/${id}` })
const marker = (id: string): string => `[credential-broker:${id}]`

void t.test('rename: 200; Flow Service has the new name; the marker stays on the downstream description', async (t) => {
  const created = await enabledConnection()
  const res = await rename(created.id, { name: 'Renamed connection' })
  t.equal(res.statusCode, 200, res.body)
  t.match(res.json<Resource>(), { name: 'Renamed connection', description: 'first description' })
  const downstream = control.storedConnection(created.flowConnectionId)
  t.equal(downstream?.name, 'Renamed connection')
  t.equal(downstream?.description, `first description ${marker(created.id)}`)
  t.equal(res.json<Resource>().etag, downstream?.etag, 'new etag stored')
  t.match(
    (await auditOf(b, created.id)).filter((a) => a.action === 'connection.rename'),
    [{ outcome: 'success', changed_fields: ['name'] }]
  )
})

void t.test('description: replaced, or removed with null; the marker is kept either way', async (t) => {
  const created = await enabledConnection()
  const changed = await rename(created.id, { description: 'second description' })
  t.equal(changed.statusCode, 200)
  t.equal(control.storedConnection(created.flowConnectionId)?.description, `second description ${marker(created.id)}`)
  const removed = await rename(created.id, { description: null })
  t.equal(removed.statusCode, 200)
  t.equal(removed.json<Resource>().description, null)
  t.equal(control.storedConnection(created.flowConnectionId)?.description, marker(created.id))
  t.match(
    (await auditOf(b, created.id)).filter((a) => a.action === 'connection.rename').map((a) => a.changed_fields),
    [['description'], ['description']]
  )
})

void t.test('nothing to change: 200 without calling Flow Service', async (t) => {
  const created = await enabledConnection()
  const calls = control.callCounts().update
  const res = await rename(created.id, { name: created.name })
  t.equal(res.statusCode, 200)
  t.equal(control.callCounts().update, calls)
})

void t.test('bad rename bodies: 400 naming the field', async (t) => {
  const created = await enabledConnection()
  for (const [body, path] of [
    [{}, ''],
    [{ name: '' }, '/name'],
    [{ name: 'x', state: 'enabled' }, '/state'],
    [{ description: 5 }, '/description']
  ] as const) {
    const res = await rename(created.id, body)
    t.equal(res.statusCode, 400, JSON.stringify(body))
    t.equal(res.headers['content-type'], 'application/problem+json; charset=utf-8')
    if (path !== '') t.match(res.json<Problem>().errors, [{ path }], JSON.stringify(body))
  }
})

void t.test(
  'rename faults: a lost answer is recognised by reading back; a refusal is 422; an outage is 503',
  async (t) => {
    const created = await enabledConnection()
    await rename(created.id, { name: 'warm-up' }) // stored etag current from here on
    let calls = control.callCounts().update
    control.injectFault('update', { kind: 'lost-answer' })
    const lost = await rename(created.id, { name: 'after a lost answer' })
    t.equal(lost.statusCode, 200, lost.body)
    t.equal(control.callCounts().update - calls, 1, 'not sent twice')
    t.equal(lost.json<Resource>().etag, control.storedConnection(created.flowConnectionId)?.etag)

    control.injectFault('update', { kind: 'reject', code: '1100-400', message: 'name too long' })
    const refused = await rename(created.id, { name: 'refused name' })
    t.equal(refused.statusCode, 422)
    t.equal(refused.json<Problem>().downstream?.code, '1100-400')
    t.equal((await connectionRow(b, created.id)).name, 'after a lost answer', 'unchanged')

    calls = control.callCounts().update
    control.injectFault('update', { kind: 'status', status: 503 }, 1000)
    const down = await rename(created.id, { name: 'never' })
    t.equal(down.statusCode, 503)
    t.ok(control.callCounts().update - calls > 1, 'retried within the budget')
    t.equal(control.storedConnection(created.flowConnectionId)?.name, 'after a lost answer')
  }
)

void t.test(
  'rename after a PATCH that did not land (timeout): read back shows the old name, sent again, 200',
  async (t) => {
    const created = await enabledConnection()
    await rename(created.id, { name: 'warm-up' })
    const calls = control.callCounts()
    control.injectFault('update', { kind: 'timeout', delayMs: 1500 })
    const res = await rename(created.id, { name: 'after a timeout' })
    t.equal(res.statusCode, 200, res.body)
    t.equal(control.callCounts().update - calls.update, 2, 'sent again')
    t.ok(control.callCounts().get - calls.get >= 1, 'read back')
    t.equal(control.storedConnection(created.flowConnectionId)?.name, 'after a timeout')
    t.equal(res.json<Resource>().etag, control.storedConnection(created.flowConnectionId)?.etag)
  }
)

void t.test(
  'rename: a refusal after an ambiguous attempt proves nothing: 503, outcome unknown, row unchanged',
  async (t) => {
    const created = await enabledConnection()
    await rename(created.id, { name: 'warm-up' })
    control.injectFault('update', { kind: 'timeout', delayMs: 1500 })
    control.injectFault('update', { kind: 'reject', code: '1100-400', message: 'name refused' })
    const res = await rename(created.id, { name: 'maybe renamed' })
    t.equal(res.statusCode, 503, res.body)
    t.equal(res.json<Problem>().type, 'https://credential-broker.dev/problems/downstream-unavailable')
    t.equal(res.json<Problem & { connectionId: string }>().connectionId, created.id)
    t.equal((await connectionRow(b, created.id)).name, 'warm-up')
    t.match((await auditOf(b, created.id)).filter((a) => a.action === 'connection.rename').at(-1), {
      outcome: 'failure',
      changed_fields: ['name']
    })
  }
)

void t.test(
  'rename answered 404 (deleted downstream?): 409 conflict, not recorded as deleted; suspected gone, secret kept',
  async (t) => {
    const created = await enabledConnection()
    control.deleteConnection(created.flowConnectionId)
    const res = await rename(created.id, { name: 'into the void' })
    t.equal(res.statusCode, 409, res.body)
    t.equal(res.json<Problem>().type, 'https://credential-broker.dev/problems/conflict')
    t.equal(Number(res.headers['retry-after']), 10)
    const row = await connectionRow(b, created.id)
    t.not(row.state, 'deleted', 'one 404 is not proof')
    t.equal(row.name, created.name, 'unchanged')
    t.ok(row.secret_version !== null, 'secret still referenced')
    t.ok(row.gone_suspected_at !== null, 'suspected gone: the poller confirms with a second 404')
    t.ok(row.duplicate_watch_until !== null, 'the reconciler looks for the marker first')
    t.ok((await b.broker.secrets.listKeys()).includes(created.id), 'secret kept')
    t.match(
      (await auditOf(b, created.id)).filter((a) => a.action === 'connection.rename'),
      [{ outcome: 'failure', detail: { reason: 'not_found' } }]
    )
  }
)

void t.test('rename while initializing: waits, then 200; past the budget: 409 with Retry-After', async (t) => {
  control.setReadyDelayMs(1000)
  const soon = (await b.request({ method: 'POST', url: '/v1/connections', body: salesforceBody() })).json<Resource>()
  t.equal((await rename(soon.id, { name: 'renamed after init' })).statusCode, 200)
  control.setReadyDelayMs(60000)
  const late = (await b.request({ method: 'POST', url: '/v1/connections', body: salesforceBody() })).json<Resource>()
  const res = await rename(late.id, { name: 'too early' })
  t.equal(res.statusCode, 409)
  t.equal(res.json<Problem>().type, 'https://credential-broker.dev/problems/connection-busy')
  t.ok(Number(res.headers['retry-after']) >= 1)
})

void t.test(
  'delete: 204; gone downstream; secret destroyed; row and history kept as deleted; again: 204',
  async (t) => {
    const created = await enabledConnection()
    const res = await remove(created.id)
    t.equal(res.statusCode, 204)
    t.equal(res.body, '')
    t.equal(control.storedConnection(created.flowConnectionId), undefined, 'deleted in Flow Service')
    t.notOk((await b.broker.secrets.listKeys()).includes(created.id), 'secret destroyed')
    const shown = await b.request({ method: 'GET', url: `/v1/connections/${created.id}` })
    t.equal(shown.statusCode, 200)
    t.match(shown.json<Resource>(), {
      state: 'deleted',
      stateReason: 'deleted through the broker',
      flowConnectionId: created.flowConnectionId
    })
    t.match(
      await connectionRow(b, created.id),
      { secret_version: null, next_poll_at: null, duplicate_watch_until: null, gone_suspected_at: null },
      "Flow Service's 204 confirms it: nothing to watch"
    )
    const events = (await b.request({ method: 'GET', url: `/v1/connections/${created.id}/events` })).json<{
      items: Array<{ to: string; observedBy: string }>
    }>()
    t.match(events.items.at(-1), { to: 'deleted', observedBy: 'request' })
    t.match(
      (await auditOf(b, created.id)).filter((a) => a.action === 'connection.delete'),
      [{ outcome: 'success', changed_fields: ['state'] }]
    )

    const calls = control.callCounts().delete
    const again = await remove(created.id)
    t.equal(again.statusCode, 204, 'deleting a deleted connection is done already')
    t.equal(control.callCounts().delete, calls, 'without calling Flow Service')
  }
)

void t.test(
  'delete of a connection already gone downstream (404 there): done, 204; watched for its marker',
  async (t) => {
    const created = await enabledConnection()
    control.deleteConnection(created.flowConnectionId)
    t.equal((await remove(created.id)).statusCode, 204)
    const row = await connectionRow(b, created.id)
    t.match(row, { state: 'deleted', secret_version: null })
    t.ok(
      row.duplicate_watch_until !== null,
      'one 404 proves little: the reconciler deletes anything still carrying the marker'
    )
    t.match(
      (await auditOf(b, created.id)).filter((a) => a.action === 'connection.delete'),
      [{ outcome: 'success', detail: { downstream: 'not_found' } }]
    )
  }
)

void t.test(
  'delete faults: retried through 503, timeout, lost answer and a 2xx other than 204; 1418-400 refused; an outage leaves it as it was',
  async (t) => {
    for (const fault of [
      { kind: 'status', status: 503 },
      { kind: 'timeout', delayMs: 1500 },
      { kind: 'lost-answer' },
      { kind: 'reset' },
      { kind: 'rate-limit', retryAfterSeconds: 1 },
      { kind: 'odd-200', body: 'empty' }
    ] as const) {
      const created = await enabledConnection()
      t.equal((await rename(created.id, { name: 'warm-up' })).statusCode, 200) // the stored etag is current from here on
      const calls = control.callCounts().delete
      control.injectFault('delete', fault)
      const res = await remove(created.id)
      t.equal(res.statusCode, 204, `${fault.kind}: ${res.body}`)
      t.equal(
        control.callCounts().delete - calls,
        2,
        `${fault.kind}: sent again (each DELETE with If-Match, or Flow Service would refuse it)`
      )
      t.equal(control.storedConnection(created.flowConnectionId), undefined, `${fault.kind}: gone downstream`)
      const row = await connectionRow(b, created.id)
      t.equal(row.state, 'deleted', fault.kind)
      // The delete that landed with its answer lost is answered 404 when sent again: success, but watched.
      if (fault.kind === 'lost-answer')
        t.ok(row.duplicate_watch_until !== null, 'lost-answer: 404 on the second DELETE, watched')
      else t.equal(row.duplicate_watch_until, null, `${fault.kind}: confirmed by a 204`)
    }

    const used = await enabledConnection()
    control.injectFault('delete', { kind: 'reject', code: '1418-400', message: 'The connection is used by 2 flows' })
    const refused = await remove(used.id)
    t.equal(refused.statusCode, 422)
    t.equal(refused.json<Problem>().downstream?.code, '1418-400')
    t.match(
      await connectionRow(b, used.id),
      { state: 'initializing', secret_version: 1 },
      'nothing changed (the poller is off here)'
    )
    t.ok((await b.broker.secrets.listKeys()).includes(used.id), 'secret kept')

    control.injectFault('delete', { kind: 'status', status: 503 }, 1000)
    const down = await remove(used.id)
    t.equal(down.statusCode, 503)
    t.ok(Number(down.headers['retry-after']) >= 1)
    t.ok(control.storedConnection(used.flowConnectionId), 'still in Flow Service')
    t.ok((await b.broker.secrets.listKeys()).includes(used.id), 'secret kept')
    t.match(
      (await auditOf(b, used.id)).filter((a) => a.action === 'connection.delete').map((a) => a.outcome),
      ['failure', 'failure']
    )
  }
)

void t.test('delete while initializing: waits, then 204; past the budget: 409 with Retry-After', async (t) => {
  control.setReadyDelayMs(1000)
  const soon = (await b.request({ method: 'POST', url: '/v1/connections', body: salesforceBody() })).json<Resource>()
  t.equal((await remove(soon.id)).statusCode, 204)
  control.setReadyDelayMs(60000)
  const late = (await b.request({ method: 'POST', url: '/v1/connections', body: salesforceBody() })).json<Resource>()
  const res = await remove(late.id)
  t.equal(res.statusCode, 409)
  t.ok(Number(res.headers['retry-after']) >= 1)
  t.ok(control.storedConnection(late.flowConnectionId), 'still there')
  t.equal((await connectionRow(b, late.id)).state, 'initializing')
})

void t.test(
  'delete of a connection still pending (being created): 409; of a failed one: 204, nothing to do',
  async (t) => {
    // Each POST held past the client timeout: the create stays pending through two attempts and their looks.
    control.injectFault('create', { kind: 'delay', delayMs: 800 }, 2)
    const creating = b.request({ method: 'POST', url: '/v1/connections', body: salesforceBody() })
    const pendingId = await eventually(
      async () =>
        (
          await b.broker.database.db
            .selectFrom('connections')
            .select('id')
            .where('state', '=', 'pending')
            .executeTakeFirst()
        )?.id
    )
    const res = await remove(pendingId)
    t.equal(res.statusCode, 409)
    t.equal(res.json<Problem>().type, 'https://credential-broker.dev/problems/connection-busy')
    t.equal((await creating).statusCode, 201)

    control.clearFaults('create')
    control.injectFault('create', { kind: 'reject', code: '1415-400' })
    const rejected = await b.request({ method: 'POST', url: '/v1/connections', body: salesforceBody() })
    t.equal(rejected.statusCode, 422, rejected.body)
    const failed = rejected.json<{ connectionId: string }>()
    t.equal((await remove(failed.connectionId)).statusCode, 204)
    t.equal((await connectionRow(b, failed.connectionId)).state, 'failed', 'terminal states never move')
  }
)

void t.test('another team cannot rename or delete: 404, exactly like a missing connection', async (t) => {
  const created = await enabledConnection()
  const other = await b.createKey('not-the-owner', ['connections:write', 'connections:read'])
  const patch = await b.request({
    method: 'PATCH',
    url: `/v1/connections/${created.id}`,
    key: other,
    body: { name: 'hijacked' }
  })
  const del = await b.request({ method: 'DELETE', url: `/v1/connections/${created.id}`, key: other })
  const missing = await b.request({
    method: 'DELETE',
    url: '/v1/connections/01900000-0000-7000-8000-000000000000',
    key: other
  })
  t.equal(patch.statusCode, 404)
  t.equal(del.statusCode, 404)
  t.equal(missing.statusCode, 404)
  t.equal(del.json<Problem>().type, missing.json<Problem>().type)
  t.ok(control.storedConnection(created.flowConnectionId), 'untouched')
  const readOnly = await b.createKey('reader', ['connections:read'])
  t.equal((await b.request({ method: 'DELETE', url: `/v1/connections/${created.id}`, key: readOnly })).statusCode, 403)
})

void t.test(
  "deleted behind the broker's back: the poller suspects on a first 404, confirms with a second after the marker look; the secret is destroyed after its grace",
  async (t) => {
    const pb = await startTestApp(t, { readyDelayMs: 0 })
    const db = pb.broker.database.db
    const created = (
      await pb.request({ method: 'POST', url: '/v1/connections', body: salesforceBody() })
    ).json<Resource>()
    await pb.waitForState(created.id, 'enabled')
    t.ok((await pb.broker.secrets.listKeys()).includes(created.id))
    pb.emulator.control.deleteConnection(created.flowConnectionId)
    // First 404: only a suspicion. The reconciler is off, so the look for the marker has not happened and the row waits.
    await pb.pollNow(created.id)
    const suspected = await connectionRow(pb, created.id)
    t.ok(suspected.gone_suspected_at !== null, 'the first 404')
    t.not(suspected.state, 'deleted', 'one 404 is a suspicion')
    t.ok(suspected.duplicate_watch_until !== null, 'the reconciler is asked to look for the marker first')
    t.ok((await pb.broker.secrets.listKeys()).includes(created.id), 'secret kept while suspected')
    // The watch's time is up: the reconciler's look finds nothing carrying the marker and ends it.
    await eventually(
      async () => {
        await db
          .updateTable('connections')
          .set({ duplicate_watch_until: new Date(Date.now() - 1) })
          .where('id', '=', created.id)
          .where('duplicate_watch_until', 'is not', null)
          .execute()
        await pb.broker.reconciler.sweep()
        return (await connectionRow(pb, created.id)).duplicate_watch_until === null ? true : undefined
      },
      10000,
      'the marker look'
    )
    // The second 404 counts once GONE_CONFIRM_MS has passed since the first: the poller reads real time, so the
    // suspicion is dated back rather than waited out.
    await db
      .updateTable('connections')
      .set({ next_poll_at: new Date(), gone_suspected_at: new Date(Date.now() - 60_000) })
      .where('id', '=', created.id)
      .where('state', '!=', 'deleted')
      .execute()
    const deleted = await pb.waitForState(created.id, 'deleted')
    t.equal(deleted.stateReason, 'deleted in Flow Service outside the broker (404 on GET)')
    const row = await connectionRow(pb, created.id)
    t.ok(row.secret_version !== null && row.secret_destroy_after !== null, 'secret kept for its grace period')
    await db
      .updateTable('connections')
      .set({ secret_destroy_after: new Date(Date.now() - 1) })
      .where('id', '=', created.id)
      .execute()
    await pb.broker.reconciler.sweep()
    t.notOk((await pb.broker.secrets.listKeys()).includes(created.id), 'secret destroyed')
    t.equal((await connectionRow(pb, created.id)).secret_version, null)
    const events = (await pb.request({ method: 'GET', url: `/v1/connections/${created.id}/events` })).json<{
      items: Array<{ to: string; observedBy: string }>
    }>()
    t.match(events.items.at(-1), { to: 'deleted', observedBy: 'poller' })
    // A deleted connection is not polled again, and deleting it through the API is a no-op.
    const calls = pb.emulator.control.callCounts().delete
    t.equal((await pb.request({ method: 'DELETE', url: `/v1/connections/${created.id}` })).statusCode, 204)
    t.equal(pb.emulator.control.callCounts().delete, calls, 'without calling Flow Service')
  }
)
