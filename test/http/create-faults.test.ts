// POST /v1/connections against every fault Flow Service can show: retried when safe, looked up by the broker's
// marker when a POST may have landed, refused with Flow Service's code, or left pending (503) for the reconciler.
// Whatever happens: at most one downstream connection per broker connection.
import t from 'tap'
import type { FaultSpec, Operation } from '../../src/emulator/types.js'
import { connectionRow, downstreamOf, salesforceBody } from '../support/lifecycle-fixtures.js'
import { startTestApp } from '../support/test-broker.js'

interface Created {
  id: string
  state: string
  flowConnectionId: string
}
interface Problem {
  type: string
  status: number
  detail: string
  connectionId?: string
  downstream?: { status: number | null; code: string | null; message: string | null }
}

// Short timeouts so held requests become ambiguous quickly; the grace fits the config rule (deadline + 2 × timeout).
// Virtual time (startTestApp): backoff and Retry-After waits are instant; only held answers take real time.
const b = await startTestApp(t, {
  env: { FLOW_SERVICE_TIMEOUT_MS: '500', CREATE_DEADLINE_MS: '3000', PENDING_GRACE_MS: '4000' }
})
const control = b.emulator.control

t.beforeEach(() => {
  control.reset({ keepTokens: true })
})

interface Case {
  faults: Array<[Operation, FaultSpec, number?]>
  /** POSTs Flow Service received (answered or not). */
  creates: number
  /**
   * List calls Flow Service received (0: no need to look for the marker). A look after each ambiguous POST, every
   * failed look repeated, and one more look after a POST that followed an ambiguous one.
   */
  lists: number
  minMs?: number
}

const RECOVERED: Record<string, Case> = {
  '500 (may have acted: looked up, then posted again)': {
    faults: [['create', { kind: 'status', status: 500 }]],
    creates: 2,
    lists: 2
  },
  '502 from the gateway (looked up, posted again)': {
    faults: [['create', { kind: 'status', status: 502 }]],
    creates: 2,
    lists: 2
  },
  '503 (nothing happened: posted again)': {
    faults: [['create', { kind: 'status', status: 503 }]],
    creates: 2,
    lists: 0
  },
  '504 from the gateway (looked up, posted again)': {
    faults: [['create', { kind: 'status', status: 504 }]],
    creates: 2,
    lists: 2
  },
  '429 with Retry-After: 1 (waited at least that long)': {
    faults: [['create', { kind: 'rate-limit', retryAfterSeconds: 1 }]],
    creates: 2,
    lists: 0,
    minMs: 1000
  },
  'three 503s in a row': { faults: [['create', { kind: 'status', status: 503 }, 3]], creates: 4, lists: 0 },
  'timeout (held past the client timeout: looked up, posted again)': {
    faults: [['create', { kind: 'timeout', delayMs: 1500 }]],
    creates: 2,
    lists: 2
  },
  'connection reset (looked up, posted again)': { faults: [['create', { kind: 'reset' }]], creates: 2, lists: 2 },
  'slow answer within the timeout': { faults: [['create', { kind: 'delay', delayMs: 200 }]], creates: 1, lists: 0 },
  'lost answer (created, answer dropped: found by the marker, not posted again)': {
    faults: [['create', { kind: 'lost-answer' }]],
    creates: 1,
    lists: 1
  },
  'lost answer, then the look fails with 503 twice': {
    faults: [
      ['create', { kind: 'lost-answer' }],
      ['list', { kind: 'status', status: 503 }, 2]
    ],
    creates: 1,
    lists: 3
  },
  'lost answer, then the look is rate limited (Retry-After: 1)': {
    faults: [
      ['create', { kind: 'lost-answer' }],
      ['list', { kind: 'rate-limit', retryAfterSeconds: 1 }]
    ],
    creates: 1,
    lists: 2,
    minMs: 1000
  },
  'lost answer, then the look times out': {
    faults: [
      ['create', { kind: 'lost-answer' }],
      ['list', { kind: 'timeout', delayMs: 1500 }]
    ],
    creates: 1,
    lists: 2
  },
  'lost answer, then the look is reset': {
    faults: [
      ['create', { kind: 'lost-answer' }],
      ['list', { kind: 'reset' }]
    ],
    creates: 1,
    lists: 2
  },
  'lost answer, then the look answers 500': {
    faults: [
      ['create', { kind: 'lost-answer' }],
      ['list', { kind: 'status', status: 500 }]
    ],
    creates: 1,
    lists: 2
  },
  'timeout, then the look fails once: still posted only after a look said no': {
    faults: [
      ['create', { kind: 'timeout', delayMs: 1500 }],
      ['list', { kind: 'status', status: 502 }]
    ],
    creates: 2,
    lists: 3
  }
}

for (const [label, c] of Object.entries(RECOVERED)) {
  void t.test(`create after ${label}: 201, one downstream connection`, async (t) => {
    for (const [operation, fault, count] of c.faults) control.injectFault(operation, fault, count ?? 1)
    const body = salesforceBody()
    const started = b.clock.now()
    const res = await b.request({ method: 'POST', url: '/v1/connections', body })
    const took = b.clock.now() - started
    t.equal(res.statusCode, 201, res.body)
    const created = res.json<Created>()
    // Adopted by the marker, it carries whatever state Flow Service lists (it may have been enabled meanwhile).
    t.match(created.state, /^(initializing|enabled)$/)
    t.same(
      downstreamOf(b, created.id),
      [created.flowConnectionId],
      'exactly one downstream connection, the one recorded'
    )
    t.equal(control.storedConnections().length, 1)
    t.equal(control.callCounts().create, c.creates, 'POSTs received')
    t.equal(control.callCounts().list, c.lists, c.lists === 0 ? 'no need to look' : 'looked for the marker')
    for (const look of control.recentRequests().filter((r) => r.operation === 'list')) {
      t.match(look.query, `property=connectionSpec.id==${body.connectionSpec.id}`, 'listed by connection spec')
      t.match(look.query, 'orderby=-createdAt', 'newest first')
      t.notMatch(look.query, 'property=name', 'never by name')
    }
    if (c.minMs !== undefined) t.ok(took >= c.minMs, `honoured Retry-After (${took} ms of the broker's virtual time)`)
    t.equal(
      control.storedConnection(created.flowConnectionId)?.auth.params.password,
      body.auth.params.password,
      'Flow Service got the secret'
    )
    t.equal(control.pendingFaults().length, 0, 'every injected fault was met')
  })
}

void t.test('429 with an empty body and no Retry-After: retried after a pause, then 201', async (t) => {
  // Its own broker: the pause holds every call of the replica, and the other cases must not wait it out.
  const own = await startTestApp(t, {
    env: { FLOW_SERVICE_TIMEOUT_MS: '500', CREATE_DEADLINE_MS: '8000', PENDING_GRACE_MS: '9000' }
  })
  own.emulator.control.injectFault('create', { kind: 'rate-limit', emptyBody: true })
  const res = await own.request({ method: 'POST', url: '/v1/connections', body: salesforceBody() })
  t.equal(res.statusCode, 201, res.body)
  t.equal(own.emulator.control.callCounts().create, 2)
  t.equal(own.emulator.control.storedConnections().length, 1)
})

void t.test(
  "a definite rejection: 422 with Flow Service's code and message; failed; secret destroyed; no retry",
  async (t) => {
    control.injectFault('create', { kind: 'reject', code: '1415-400', message: 'The auth spec params are not valid' })
    const body = salesforceBody()
    const res = await b.request({ method: 'POST', url: '/v1/connections', body })
    t.equal(res.statusCode, 422)
    t.equal(res.headers['content-type'], 'application/problem+json; charset=utf-8')
    const problem = res.json<Problem>()
    t.equal(problem.type, 'https://credential-broker.dev/problems/downstream-rejected')
    t.same(problem.downstream, { status: 400, code: '1415-400', message: 'The auth spec params are not valid' })
    const row = await connectionRow(b, problem.connectionId ?? '')
    t.match(row, { state: 'failed', secret_version: null, flow_connection_id: null, lease_owner: null })
    t.match(row.state_reason, /1415-400/)
    t.notOk((await b.broker.secrets.listKeys()).includes(row.id), 'secret destroyed')
    t.equal(control.callCounts().create, 1)
  }
)

void t.test('a rejection quoting the secret back: the quote is scrubbed from the problem and the row', async (t) => {
  const body = salesforceBody()
  control.injectFault('create', {
    kind: 'reject',
    code: '1100-400',
    message: `password ${body.auth.params.password} is invalid`
  })
  const res = await b.request({ method: 'POST', url: '/v1/connections', body })
  t.equal(res.statusCode, 422)
  t.notMatch(res.body, body.auth.params.password)
  t.notMatch(await b.dumpDatabase(), body.auth.params.password)
})

void t.test(
  'retries exhausted: 503 with Retry-After, the row left pending; the reconciler rolls it back later',
  async (t) => {
    control.injectFault('create', { kind: 'status', status: 503 }, 1000)
    const body = salesforceBody()
    const res = await b.request({ method: 'POST', url: '/v1/connections', body })
    t.equal(res.statusCode, 503)
    t.ok(Number(res.headers['retry-after']) >= 1, 'Retry-After')
    const problem = res.json<Problem>()
    t.equal(problem.type, 'https://credential-broker.dev/problems/downstream-unavailable')
    const id = problem.connectionId ?? ''
    t.match(await connectionRow(b, id), { state: 'pending', lease_owner: null })
    t.equal(control.storedConnections().length, 0)
    t.ok((await b.broker.secrets.listKeys()).includes(id), 'the secret is kept while it may still be needed')

    // Too young: the grace period protects a create that may still be running.
    t.match(await b.broker.reconciler.sweep(), { completed: 0, rolledBack: 0 })
    await b.broker.database.db
      .updateTable('connections')
      .set({ created_at: new Date(Date.now() - 60000) })
      .where('id', '=', id)
      .execute()
    control.clearFaults()
    t.match(await b.broker.reconciler.sweep(), { rolledBack: 1 })
    const row = await connectionRow(b, id)
    t.match(row, { state: 'failed', secret_version: null, lease_owner: null })
    t.match(row.state_reason, /rolled back by the reconciler/)
    t.notOk((await b.broker.secrets.listKeys()).includes(id), 'secret destroyed')
    t.equal(control.storedConnections().length, 0, 'nothing downstream')
  }
)

void t.test(
  'exhausted while a POST may have landed: pending; the reconciler finds it by the marker and completes it',
  async (t) => {
    control.setReadyDelayMs(60000)
    control.injectFault('create', { kind: 'lost-answer' })
    control.injectFault('list', { kind: 'status', status: 503 }, 1000)
    const res = await b.request({ method: 'POST', url: '/v1/connections', body: salesforceBody() })
    t.equal(res.statusCode, 503)
    const id = res.json<Problem>().connectionId ?? ''
    t.equal((await connectionRow(b, id)).state, 'pending')
    const [downstream] = downstreamOf(b, id)
    t.ok(downstream, 'the POST did land')

    await b.broker.database.db
      .updateTable('connections')
      .set({ created_at: new Date(Date.now() - 60000) })
      .where('id', '=', id)
      .execute()
    // The duplicate watches earlier tests' creates left are over (their looks would fail with the lists here too).
    await b.broker.database.db
      .updateTable('connections')
      .set({ duplicate_watch_until: null })
      .where('id', '!=', id)
      .execute()
    t.match(
      await b.broker.reconciler.sweep(),
      { deferred: 1, completed: 0, rolledBack: 0 },
      'Flow Service still failing: tried again next sweep'
    )
    t.equal((await connectionRow(b, id)).state, 'pending')
    control.clearFaults()
    t.match(await b.broker.reconciler.sweep(), { completed: 1 })
    const row = await connectionRow(b, id)
    t.match(row, { state: 'initializing', flow_connection_id: downstream, lease_owner: null })
    t.ok(row.next_poll_at !== null, 'handed to the poller')
    t.equal(control.callCounts().create, 1, 'never posted twice')
    t.equal(control.storedConnections().length, 1)
    const events = await b.broker.database.db
      .selectFrom('connection_events')
      .select(['to_state', 'observed_by'])
      .where('connection_id', '=', id)
      .orderBy('id')
      .execute()
    t.same(
      events.map((e) => [e.to_state, e.observed_by]),
      [
        ['pending', 'request'],
        ['initializing', 'reconciler']
      ]
    )
  }
)

void t.test('Flow Service refuses the broker itself (401 twice): 503, rolled back, nothing downstream', async (t) => {
  control.injectFault('create', { kind: 'status', status: 401 }, 2)
  const res = await b.request({ method: 'POST', url: '/v1/connections', body: salesforceBody() })
  t.equal(res.statusCode, 503)
  t.equal(Number(res.headers['retry-after']), 60)
  const row = await connectionRow(b, res.json<Problem>().connectionId ?? '')
  t.match(row, { state: 'failed', secret_version: null })
  t.equal(control.storedConnections().length, 0)
})

void t.test(
  'a POST that landed although a look said no: found by the look after the next POST and deleted with its etag',
  async (t) => {
    control.setReadyDelayMs(0)
    control.injectFault('create', { kind: 'lost-answer' })
    // The look answers with another connection only: "not there", so the broker posts again.
    control.injectFault('list', { kind: 'other-item', mode: 'replace' })
    const res = await b.request({ method: 'POST', url: '/v1/connections', body: salesforceBody() })
    t.equal(res.statusCode, 201, res.body)
    const created = res.json<Created>()
    t.equal(control.callCounts().create, 2)
    t.equal(control.callCounts().list, 2, 'looked again after the second POST')
    t.equal(control.callCounts().delete, 1, 'the earlier landing deleted')
    t.same(
      downstreamOf(b, created.id),
      [created.flowConnectionId],
      'exactly one downstream connection, the one recorded'
    )
    t.ok((await connectionRow(b, created.id)).duplicate_watch_until !== null, 'still watched for later landings')
    t.equal(control.pendingFaults().length, 0)
  }
)

void t.test(
  'a duplicate that cannot be deleted yet (initializing, no etag): 201 all the same; the duplicate watch deletes it later',
  async (t) => {
    control.setReadyDelayMs(60000)
    control.injectFault('create', { kind: 'lost-answer' })
    control.injectFault('list', { kind: 'other-item', mode: 'replace' })
    const res = await b.request({ method: 'POST', url: '/v1/connections', body: salesforceBody() })
    t.equal(res.statusCode, 201, res.body)
    const created = res.json<Created>()
    t.equal(created.state, 'initializing')
    const row = await connectionRow(b, created.id)
    t.match(row, { state: 'initializing', flow_connection_id: created.flowConnectionId, lease_owner: null })
    t.ok(row.duplicate_watch_until !== null, 'left to the duplicate watch')
    t.equal(control.callCounts().delete, 0, 'nothing deleted without an etag')
    const downstream = downstreamOf(b, created.id)
    t.equal(downstream.length, 2)
    const duplicate = downstream.find((d) => d !== created.flowConnectionId) ?? ''

    // Still initializing downstream: the watch finds it and cannot delete it yet.
    t.match(await b.broker.reconciler.sweep(), { duplicatesDeleted: 0 })
    t.equal(downstreamOf(b, created.id).length, 2)
    control.forceState(duplicate, 'enabled')
    t.match(await b.broker.reconciler.sweep(), { duplicatesDeleted: 1 })
    t.same(downstreamOf(b, created.id), [created.flowConnectionId], 'the one recorded is kept')
    t.equal(control.callCounts().create, 2)
  }
)
