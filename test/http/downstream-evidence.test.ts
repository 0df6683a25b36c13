// The broker acts only on downstream answers it has checked (issue 10): each test drives the emulator into one
// answer a real Flow Service (or a peer we did not write) may give, and asserts what must hold whatever it says.
// Invariants guarded: at most one downstream connection per broker connection; nothing recorded from an answer
// about another id; `deleted` (and a destroyed secret) only on a confirmed 404; a rotation applied only on a 200.
import { pino } from 'pino'
import t from 'tap'
import { StatePoller } from '../../src/poller/state-poller.js'
import { auditOf, connectionRow, downstreamOf, eventually, salesforceBody } from '../support/lifecycle-fixtures.js'
import { startTestApp } from '../support/test-broker.js'

interface Created {
  id: string
  state: string
  flowConnectionId: string
  etag?: string
}
interface Problem {
  type: string
  status: number
  detail: string
  connectionId?: string
}

// Short timeouts so held requests become ambiguous quickly; the grace fits the config rule (deadline + 2 × timeout).
// Virtual time (startTestApp): backoff and deadlines take no real time; only held answers do.
const b = await startTestApp(t, {
  readyDelayMs: 0,
  env: {
    FLOW_SERVICE_TIMEOUT_MS: '400',
    CREATE_DEADLINE_MS: '3000',
    CHANGE_DEADLINE_MS: '3000',
    PENDING_GRACE_MS: '3800',
    GONE_CONFIRM_MS: '300'
  }
})
const control = b.emulator.control
const db = b.broker.database.db

t.beforeEach(() => {
  control.reset({ keepTokens: true })
})

/** Makes the pending rows of this file old enough for the reconciler, without waiting for the grace period. */
async function agePending(): Promise<void> {
  await db
    .updateTable('connections')
    .set({ created_at: new Date(Date.now() - 60_000), lease_owner: null, lease_until: null })
    .where('state', '=', 'pending')
    .execute()
}

async function create(body = salesforceBody()): Promise<{ status: number; created: Created; problem: Problem }> {
  const res = await b.request({ method: 'POST', url: '/v1/connections', body })
  return { status: res.statusCode, created: res.json<Created>(), problem: res.json<Problem>() }
}

const HARD_NAMES: Record<string, string> = {
  comma: 'ACME, Inc. Salesforce',
  quotes: 'ACME "Prod" \'EU\'',
  'filter operators': 'a==b,c!=d&limit=1',
  unicode: 'Größe 日本 🚀 Ünïcødé',
  '256 characters': `${'n'.repeat(250)}, end.`
}

for (const [label, name] of Object.entries(HARD_NAMES)) {
  void t.test(`a lost create answer for a name with ${label}: found by its marker, never posted twice`, async (t) => {
    control.injectFault('create', { kind: 'lost-answer' })
    const { status, created } = await create(salesforceBody({ name }))
    t.equal(status, 201)
    t.equal(control.callCounts().create, 1, 'one POST: the look found the connection it created')
    t.same(
      downstreamOf(b, created.id),
      [created.flowConnectionId],
      'exactly one downstream connection, the one recorded'
    )
    t.equal(control.storedConnection(created.flowConnectionId)?.name, name)
  })
}

void t.test(
  'a POST that lands late after the broker posted again: the duplicate is deleted by the duplicate watch',
  async (t) => {
    control.injectFault('create', { kind: 'late-landing', delayMs: 600, answer: 'drop' })
    const { status, created } = await create()
    t.equal(status, 201)
    t.equal(control.callCounts().create, 2, 'looked, found nothing, posted again')
    const row = await connectionRow(b, created.id)
    t.ok(row.duplicate_watch_until !== null, 'the row is watched for late landings')
    // The first POST lands now rather than after its real delay: the broker has posted again and answered already.
    control.landNow()
    await eventually(
      () => (downstreamOf(b, created.id).length === 2 ? true : undefined),
      5000,
      'the first POST to land'
    )
    const swept = await b.broker.reconciler.sweep()
    t.equal(swept.duplicatesDeleted, 1)
    t.same(downstreamOf(b, created.id), [created.flowConnectionId], 'only the recorded connection is left downstream')
    t.equal(control.storedConnections().length, 1)
    const deletes = control.recentRequests().filter((r) => r.operation === 'delete')
    t.ok(
      deletes.every((r) => r.status === 204),
      'every delete carried the etag Flow Service requires'
    )
  }
)

void t.test('the duplicate watch ends once its time is up and nothing is left to delete', async (t) => {
  control.injectFault('create', { kind: 'status', status: 504 })
  const { created } = await create()
  await db
    .updateTable('connections')
    .set({ duplicate_watch_until: new Date(Date.now() - 1) })
    .where('id', '=', created.id)
    .execute()
  await b.broker.reconciler.sweep()
  t.equal((await connectionRow(b, created.id)).duplicate_watch_until, null)
})

void t.test(
  "a create answered with another connection's id: no 500, a problem naming its own id, settled by the marker",
  async (t) => {
    const first = await create()
    t.equal(first.status, 201)
    control.injectFault('create', { kind: 'same-id', id: first.created.flowConnectionId, create: true })
    const second = await create()
    t.equal(second.status, 503, 'the answer is not trusted')
    t.match(second.problem, { status: 503, connectionId: String })
    const secondId = second.problem.connectionId ?? ''
    t.equal((await connectionRow(b, secondId)).state, 'pending')
    t.equal(
      (await connectionRow(b, first.created.id)).flow_connection_id,
      first.created.flowConnectionId,
      'the first keeps its connection'
    )
    await agePending()
    const swept = await b.broker.reconciler.sweep()
    t.equal(swept.completed, 1, 'completed from the connection carrying its marker')
    const settled = await connectionRow(b, secondId)
    t.not(settled.flow_connection_id, first.created.flowConnectionId)
    t.same(downstreamOf(b, secondId), [settled.flow_connection_id])
  }
)

void t.test(
  'a create answered with another id and nothing created: rolled back only after a look finds nothing',
  async (t) => {
    const first = await create()
    control.injectFault('create', { kind: 'same-id', id: first.created.flowConnectionId, create: false })
    const second = await create()
    t.equal(second.status, 503)
    await agePending()
    const swept = await b.broker.reconciler.sweep()
    t.equal(swept.rolledBack, 1)
    const row = await connectionRow(b, second.problem.connectionId ?? '')
    t.equal(row.state, 'failed')
    t.ok(row.duplicate_watch_until !== null, 'still watched: a POST may land late')
    t.equal(control.storedConnections().length, 1, 'the first connection is untouched')
  }
)

void t.test('the poller: empty items, an item of another id or an unparseable 200 are never "deleted"', async (t) => {
  for (const fault of [
    { kind: 'odd-200', body: 'empty-items' },
    { kind: 'other-item', mode: 'replace' },
    { kind: 'odd-200', body: 'not-json' }
  ] as const) {
    const { created } = await create()
    await db
      .updateTable('connections')
      .set({ next_poll_at: new Date(0) })
      .where('id', '=', created.id)
      .execute()
    const before = await connectionRow(b, created.id)
    control.injectFault('list', fault, 5)
    control.injectFault('get', fault, 5)
    const poller = await pollOnce(created.id)
    const after = await connectionRow(b, created.id)
    t.equal(after.state, before.state, `${fault.kind}: state unchanged`)
    t.equal(after.etag, before.etag, `${fault.kind}: no etag taken from the answer`)
    t.ok(after.poll_failures > 0, `${fault.kind}: counted as a failed poll`)
    t.ok(after.secret_version !== null, `${fault.kind}: secret kept`)
    t.ok(poller.failed >= 1)
    control.clearFaults()
  }
})

void t.test(
  'a connection deleted downstream: deleted only after a second 404, its secret kept for the grace period',
  async (t) => {
    const { created } = await create()
    control.deleteConnection(created.flowConnectionId)
    await db
      .updateTable('connections')
      .set({ next_poll_at: new Date(0) })
      .where('id', '=', created.id)
      .execute()
    await pollOnce(created.id)
    const suspected = await connectionRow(b, created.id)
    t.not(suspected.state, 'deleted', 'one 404 is a suspicion')
    t.ok(suspected.gone_suspected_at !== null)
    t.ok(suspected.duplicate_watch_until !== null, 'the reconciler is asked to look for the marker first')
    await pollOnce(created.id)
    t.not((await connectionRow(b, created.id)).state, 'deleted', 'not before the look for the marker')
    await db
      .updateTable('connections')
      .set({ duplicate_watch_until: new Date(Date.now() - 1), gone_suspected_at: new Date(Date.now() - 60_000) })
      .where('id', '=', created.id)
      .execute()
    const swept = await b.broker.reconciler.sweep()
    t.equal(
      (await connectionRow(b, created.id)).duplicate_watch_until,
      null,
      `the look found nothing carrying the marker ${JSON.stringify(swept)}`
    )
    await pollOnce(created.id)
    const gone = await connectionRow(b, created.id)
    t.equal(gone.state, 'deleted')
    t.ok(gone.secret_version !== null, 'secret still kept')
    t.ok(
      gone.secret_destroy_after !== null && gone.secret_destroy_after.getTime() > Date.now() + 60_000,
      'kept for ORPHAN_GRACE_MS'
    )
    await b.broker.reconciler.sweep()
    t.ok(
      (await connectionRow(b, created.id)).secret_version !== null,
      'the reconciler leaves it within the grace period'
    )
    t.ok(await b.broker.secrets.read(created.id, gone.secret_version ?? 0), 'an operator can still read it')
    await db
      .updateTable('connections')
      .set({ secret_destroy_after: new Date(Date.now() - 1) })
      .where('id', '=', created.id)
      .execute()
    await b.broker.reconciler.sweep()
    t.equal((await connectionRow(b, created.id)).secret_version, null, 'destroyed once the grace period is over')
  }
)

void t.test('a 404 that is not confirmed (the connection answers again) clears the suspicion', async (t) => {
  const { created } = await create()
  await db
    .updateTable('connections')
    .set({ next_poll_at: new Date(0) })
    .where('id', '=', created.id)
    .execute()
  control.injectFault('list', { kind: 'odd-200', body: 'empty-items' })
  control.injectFault('get', { kind: 'status', status: 404 })
  await pollOnce(created.id)
  await db
    .updateTable('connections')
    .set({ next_poll_at: new Date(0) })
    .where('id', '=', created.id)
    .execute()
  await pollOnce(created.id)
  const row = await connectionRow(b, created.id)
  t.not(row.state, 'deleted')
  t.equal(row.gone_suspected_at, null)
})

const LOST_PATCHES = {
  'a stale stored etag and a lost answer (the PATCH was refused with 412 inside)': {
    freshEtag: false,
    thenBump: false
  },
  'a PATCH that landed, its answer lost, and the etag moved again': { freshEtag: true, thenBump: true }
}

for (const [label, c] of Object.entries(LOST_PATCHES)) {
  void t.test(
    `rotation with ${label}: applied only on a later 200, and Flow Service holds the new values`,
    async (t) => {
      const { created } = await create()
      if (c.freshEtag) {
        // Reading settles the emulator's initializing → enabled move, which changes the etag; the row takes the new one.
        const etag = control.storedConnection(created.flowConnectionId)?.etag ?? ''
        await db.updateTable('connections').set({ etag }).where('id', '=', created.id).execute()
      }
      control.injectFault('update', { kind: 'lost-answer', thenBump: c.thenBump })
      const fresh = salesforceBody()
      const res = await b.request({
        method: 'PUT',
        url: `/v1/connections/${created.id}/credentials`,
        body: { params: fresh.auth.params }
      })
      t.equal(res.statusCode, 200, res.body)
      t.equal(control.callCounts().update, 2, 'sent again after the lost answer; the second 200 is the evidence')
      t.equal(
        control.storedConnection(created.flowConnectionId)?.auth.params.password,
        fresh.auth.params.password,
        'Flow Service holds the new password'
      )
      const row = await connectionRow(b, created.id)
      t.same(await b.broker.secrets.read(created.id, row.secret_version ?? 0), {
        password: fresh.auth.params.password,
        securityToken: fresh.auth.params.securityToken
      })
      t.equal(row.etag, control.storedConnection(created.flowConnectionId)?.etag, 'the etag of the confirming answer')
    }
  )
}

void t.test(
  'rotation whose PATCHes are never confirmed: 503, not applied, the reconciler sends the new values again',
  async (t) => {
    const { created } = await create()
    const old = await connectionRow(b, created.id)
    control.injectFault('update', { kind: 'timeout', delayMs: 1000 }, 20)
    const fresh = salesforceBody()
    const res = await b.request({
      method: 'PUT',
      url: `/v1/connections/${created.id}/credentials`,
      body: { params: fresh.auth.params }
    })
    t.equal(res.statusCode, 503, res.body)
    t.match(res.json(), { connectionId: created.id })
    const pending = await connectionRow(b, created.id)
    t.equal(pending.secret_version, old.secret_version, 'the live version is still the old one')
    t.ok(pending.pending_change !== null, 'left unsettled for the reconciler')
    const audit = await auditOf(b, created.id)
    t.notOk(
      audit.some((a) => a.action === 'connection.rotate' && a.outcome === 'success'),
      'no success recorded without evidence'
    )
    control.clearFaults()
    await b.broker.reconciler.sweep()
    const settled = await connectionRow(b, created.id)
    t.equal(settled.pending_change, null)
    t.equal(settled.secret_version, pending.pending_change?.secretVersion, 'the new version is live')
    t.equal(
      control.storedConnection(created.flowConnectionId)?.auth.params.password,
      fresh.auth.params.password,
      'and Flow Service holds it'
    )
  }
)

void t.test(
  'rotation refused by Flow Service after an ambiguous attempt: outcome unknown (503), never "refused"',
  async (t) => {
    const { created } = await create()
    control.injectFault('update', { kind: 'lost-answer' })
    control.injectFault('update', { kind: 'reject', code: '1418-400' })
    const res = await b.request({
      method: 'PUT',
      url: `/v1/connections/${created.id}/credentials`,
      body: { params: salesforceBody().auth.params }
    })
    t.equal(res.statusCode, 503, 'the first PATCH landed; a later refusal says nothing about it')
    t.ok((await connectionRow(b, created.id)).pending_change !== null)
  }
)

const ECHO_ENCODINGS = ['raw', 'json', 'url', 'base64', 'truncated'] as const

void t.test(
  "Flow Service echoing the request's secrets in every encoding: none reaches an answer, a log line or a row",
  async (t) => {
    const body = salesforceBody({
      password: 'Pässwörd "quoted" +/= \\ 9f3k2j8d',
      securityToken: 'tok/en+with=base64ish'
    })
    control.injectFault('create', { kind: 'echo', status: 400, code: '1100-400', encodings: [...ECHO_ENCODINGS] })
    const first = await b.request({
      method: 'POST',
      url: '/v1/connections',
      body,
      headers: { 'idempotency-key': 'echo-1' }
    })
    t.equal(first.statusCode, 422, first.body)
    const replay = await b.request({
      method: 'POST',
      url: '/v1/connections',
      body,
      headers: { 'idempotency-key': 'echo-1' }
    })
    const { created } = await create()
    control.injectFault('update', { kind: 'echo', status: 400, code: '1100-400', encodings: [...ECHO_ENCODINGS] })
    const rotated = await b.request({
      method: 'PUT',
      url: `/v1/connections/${created.id}/credentials`,
      body: { params: body.auth.params }
    })
    t.ok(rotated.statusCode >= 400)
    const haystack = [first.body, replay.body, rotated.body, b.logs(), await b.dumpDatabase()].join('\n')
    for (const secret of [body.auth.params.password, body.auth.params.securityToken]) {
      for (const form of encodingsOf(secret))
        t.notOk(haystack.includes(form), `no trace of a secret as ${form.length > 12 ? form.slice(0, 12) + '…' : form}`)
    }
  }
)

/** Every way a server may have written `secret` back: as it is, JSON-escaped, URL-encoded, base64, cut short. */
function encodingsOf(secret: string): string[] {
  return [
    secret,
    JSON.stringify(secret).slice(1, -1),
    encodeURIComponent(secret),
    Buffer.from(secret).toString('base64'),
    Buffer.from(secret).toString('base64url'),
    secret.slice(0, 10)
  ]
}

/** One poller sweep over `id` alone (other rows of this file are parked, so injected faults meet this one). */
async function pollOnce(id: string): Promise<{ polled: number; failed: number; changed: number }> {
  await db.updateTable('connections').set({ next_poll_at: null }).where('id', '!=', id).execute()
  await db
    .updateTable('connections')
    .set({ next_poll_at: new Date(0) })
    .where('id', '=', id)
    .execute()
  const poller = new StatePoller(
    { db, flow: b.broker.flow, secrets: b.broker.secrets, logger: pino({ level: 'silent' }) },
    {
      owner: 'evidence-test',
      fastIntervalMs: 100,
      steadyIntervalMs: 500,
      batchSize: 100,
      leaseMs: 10_000,
      goneConfirmMs: 300,
      secretGraceMs: 3_600_000
    }
  )
  return await poller.sweep()
}
