// Idempotency-Key on POST /v1/connections: the same team, key and body get the original answer without a second
// downstream call; another body gets 422; a request still running gets 409; keys are remembered for 24 h.
// Virtual time (startTestApp): retry backoff takes no real time; the delays a test needs to overlap requests are real.
import { createHash } from 'node:crypto'
import t from 'tap'
import { auditOf, connectionRow, eventually, salesforceBody } from '../support/lifecycle-fixtures.js'
import { SEED_BODIES } from '../support/seed-bodies.js'
import { startTestApp, type TestApp } from '../support/test-broker.js'

interface Created {
  id: string
  state: string
  auth: { params: Record<string, string> }
}
interface Problem {
  type: string
  status: number
  detail: string
  connectionId?: string
  downstream?: { code: string | null; message: string | null }
}

// One broker for the file (keys differ from test to test), its emulator reset before each one.
const shared = await startTestApp(t)
t.beforeEach(() => {
  shared.emulator.control.reset({ keepTokens: true })
})

/** Rows in the broker's database: tests compare counts, since earlier tests' rows stay. */
async function rowCount(b: TestApp): Promise<number> {
  return (await b.broker.database.db.selectFrom('connections').select('id').execute()).length
}

void t.test('same key and body: the original connection, 201, and no second downstream call', async (t) => {
  const b = shared
  const body = salesforceBody()
  const rowsBefore = await rowCount(b)
  const first = await b.request({ method: 'POST', url: '/v1/connections', body, headers: { 'idempotency-key': 'k-1' } })
  t.equal(first.statusCode, 201)
  t.notOk(first.headers['idempotent-replayed'], 'the first answer is not a replay')
  const again = await b.request({ method: 'POST', url: '/v1/connections', body, headers: { 'idempotency-key': 'k-1' } })
  t.equal(again.statusCode, 201)
  t.equal(again.headers['idempotent-replayed'], 'true')
  t.equal(again.headers.location, `/v1/connections/${first.json<Created>().id}`)
  t.equal(again.json<Created>().id, first.json<Created>().id, 'same connection')
  t.equal(b.emulator.control.callCounts().create, 1, 'one POST downstream')
  t.equal(b.emulator.control.storedConnections().length, 1)
  t.equal((await rowCount(b)) - rowsBefore, 1, 'one row')
})

void t.test('a replay answers the connection as it is now, not as it was', async (t) => {
  const b = shared
  b.emulator.control.setReadyDelayMs(0)
  const body = salesforceBody()
  const first = (
    await b.request({ method: 'POST', url: '/v1/connections', body, headers: { 'idempotency-key': 'k-now' } })
  ).json<Created>()
  await b.waitForState(first.id, 'enabled')
  const again = await b.request({
    method: 'POST',
    url: '/v1/connections',
    body,
    headers: { 'idempotency-key': 'k-now' }
  })
  t.equal(again.statusCode, 201)
  t.equal(again.json<Created>().state, 'enabled')
})

void t.test('bodies that normalise to the same request are the same request', async (t) => {
  const b = shared
  const body = (host: string): Record<string, unknown> => ({
    ...SEED_BODIES.marketingCloud,
    auth: {
      ...SEED_BODIES.marketingCloud.auth,
      params: { ...SEED_BODIES.marketingCloud.auth.params, host, clientSecret: 'mc-secret-1234' }
    }
  })
  const first = (
    await b.request({
      method: 'POST',
      url: '/v1/connections',
      body: body('acme-ab12c3d4e5fg6hijk7lmnop8qrst'),
      headers: { 'idempotency-key': 'k-norm' }
    })
  ).json<Created>()
  // The auth URL users paste becomes the same REST host: still the same request.
  const again = await b.request({
    method: 'POST',
    url: '/v1/connections',
    body: body('https://acme-ab12c3d4e5fg6hijk7lmnop8qrst.auth.marketingcloudapis.com/'),
    headers: { 'idempotency-key': 'k-norm' }
  })
  t.equal(again.statusCode, 201)
  t.equal(again.json<Created>().id, first.id)
  t.equal(b.emulator.control.callCounts().create, 1)
})

void t.test('same key with another body: 422 idempotency_key_reused, nothing created', async (t) => {
  const b = shared
  const body = salesforceBody()
  const first = (
    await b.request({ method: 'POST', url: '/v1/connections', body, headers: { 'idempotency-key': 'k-2' } })
  ).json<Created>()
  const variants = {
    'another name': { ...body, name: `${body.name} (2)` },
    'another description': { ...body, description: 'other' },
    'another username': salesforceBody({
      name: body.name,
      username: 'someone-else',
      password: body.auth.params.password,
      securityToken: body.auth.params.securityToken
    }),
    'another password (a secret)': salesforceBody({
      name: body.name,
      password: 'a-different-password',
      securityToken: body.auth.params.securityToken
    }),
    'another security token (a secret)': salesforceBody({
      name: body.name,
      password: body.auth.params.password,
      securityToken: 'a-different-token'
    })
  }
  for (const [what, variant] of Object.entries(variants)) {
    const res = await b.request({
      method: 'POST',
      url: '/v1/connections',
      body: variant,
      headers: { 'idempotency-key': 'k-2' }
    })
    t.equal(res.statusCode, 422, what)
    t.equal(res.headers['content-type'], 'application/problem+json; charset=utf-8', what)
    const problem = res.json<Problem>()
    t.equal(problem.type, 'https://credential-broker.dev/problems/idempotency-key-reused', what)
    t.equal(problem.connectionId, first.id, `${what}: names the original connection`)
    t.notMatch(res.body, variant.auth.params.password, `${what}: no secret echoed`)
  }
  t.equal(b.emulator.control.callCounts().create, 1, 'nothing more went downstream')
  t.equal(b.emulator.control.storedConnections().length, 1)
})

void t.test('keys belong to a team: another team with the same key gets its own connection', async (t) => {
  const b = shared
  const crm = await b.createKey('crm', ['connections:write', 'connections:read'])
  const web = await b.createKey('web', ['connections:write', 'connections:read'])
  const body = salesforceBody()
  const a = (
    await b.request({
      method: 'POST',
      url: '/v1/connections',
      key: crm,
      body,
      headers: { 'idempotency-key': 'shared' }
    })
  ).json<Created>()
  const c = (
    await b.request({
      method: 'POST',
      url: '/v1/connections',
      key: web,
      body,
      headers: { 'idempotency-key': 'shared' }
    })
  ).json<Created>()
  t.not(a.id, c.id)
  t.equal(b.emulator.control.storedConnections().length, 2)
})

void t.test(
  'while the first request runs, a repeat gets 409 with Retry-After; afterwards the original answer',
  async (t) => {
    const b = shared
    b.emulator.control.injectFault('create', { kind: 'delay', delayMs: 1000 })
    const body = salesforceBody()
    const firstPromise = b.request({
      method: 'POST',
      url: '/v1/connections',
      body,
      headers: { 'idempotency-key': 'k-run' }
    })
    // The first request has its row (and holds it) once Flow Service received its POST.
    await eventually(() => (b.emulator.control.callCounts().create === 1 ? true : undefined), 10000, 'the first POST')
    const during = await b.request({
      method: 'POST',
      url: '/v1/connections',
      body,
      headers: { 'idempotency-key': 'k-run' }
    })
    t.equal(during.statusCode, 409)
    t.equal(during.json<Problem>().type, 'https://credential-broker.dev/problems/idempotency-key-in-use')
    t.ok(Number(during.headers['retry-after']) >= 1, 'Retry-After says when')
    const first = await firstPromise
    t.equal(first.statusCode, 201)
    const after = await b.request({
      method: 'POST',
      url: '/v1/connections',
      body,
      headers: { 'idempotency-key': 'k-run' }
    })
    t.equal(after.statusCode, 201)
    t.equal(after.json<Created>().id, first.json<Created>().id)
    t.equal(b.emulator.control.callCounts().create, 1)
  }
)

void t.test('concurrent first requests with one key: one connection, the others 409 or its answer', async (t) => {
  const b = shared
  b.emulator.control.injectFault('create', { kind: 'delay', delayMs: 300 })
  const body = salesforceBody()
  const rowsBefore = await rowCount(b)
  const answers = await Promise.all(
    [1, 2, 3, 4].map(
      async () =>
        await b.request({ method: 'POST', url: '/v1/connections', body, headers: { 'idempotency-key': 'k-race' } })
    )
  )
  const statuses = answers.map((a) => a.statusCode).sort()
  t.ok(
    statuses.every((s) => s === 201 || s === 409),
    `only 201 and 409: ${statuses.join(',')}`
  )
  t.equal(
    new Set(answers.filter((a) => a.statusCode === 201).map((a) => a.json<Created>().id)).size,
    1,
    'every 201 names the same connection'
  )
  t.equal(b.emulator.control.storedConnections().length, 1, 'one downstream connection')
  t.equal((await rowCount(b)) - rowsBefore, 1, 'one row')
})

void t.test('a create Flow Service rejected: the same 422 again, with its code, and no second POST', async (t) => {
  const b = shared
  b.emulator.control.injectFault('create', { kind: 'reject', code: '1415-400', message: 'Invalid auth spec params' })
  const body = salesforceBody()
  const first = await b.request({
    method: 'POST',
    url: '/v1/connections',
    body,
    headers: { 'idempotency-key': 'k-rej' }
  })
  t.equal(first.statusCode, 422)
  const again = await b.request({
    method: 'POST',
    url: '/v1/connections',
    body,
    headers: { 'idempotency-key': 'k-rej' }
  })
  t.equal(again.statusCode, 422)
  t.same(again.json<Problem>().downstream, first.json<Problem>().downstream, 'the downstream code and message again')
  t.equal(again.json<Problem>().connectionId, first.json<Problem>().connectionId)
  t.equal(again.json<Problem>().downstream?.code, '1415-400')
  t.equal(b.emulator.control.callCounts().create, 1)
})

void t.test('a create that failed for a transient reason frees its key: the retry creates anew', async (t) => {
  const b = shared
  // The gateway refuses the broker's token twice (the client retries once with a fresh one): nothing is created.
  b.emulator.control.injectFault('create', { kind: 'status', status: 401 }, 2)
  const body = salesforceBody()
  const first = await b.request({
    method: 'POST',
    url: '/v1/connections',
    body,
    headers: { 'idempotency-key': 'k-auth' }
  })
  t.equal(first.statusCode, 503)
  const failedId = first.json<Problem>().connectionId ?? ''
  t.match(await connectionRow(b, failedId), { state: 'failed', idempotency_key: null, secret_version: null })
  const retry = await b.request({
    method: 'POST',
    url: '/v1/connections',
    body,
    headers: { 'idempotency-key': 'k-auth' }
  })
  t.equal(retry.statusCode, 201)
  t.not(retry.json<Created>().id, failedId, 'a new connection')
})

void t.test('retries exhausted: 503 with Retry-After; a repeat while it is pending gets the same 503', async (t) => {
  const b = await startTestApp(t, {
    env: { CREATE_DEADLINE_MS: '600', FLOW_SERVICE_TIMEOUT_MS: '2000', PENDING_GRACE_MS: '5000' }
  })
  b.emulator.control.injectFault('create', { kind: 'status', status: 503 }, 50)
  const body = salesforceBody()
  const first = await b.request({
    method: 'POST',
    url: '/v1/connections',
    body,
    headers: { 'idempotency-key': 'k-503' }
  })
  t.equal(first.statusCode, 503)
  t.ok(Number(first.headers['retry-after']) > 0)
  const id = first.json<Problem>().connectionId ?? ''
  t.match(await connectionRow(b, id), { state: 'pending', lease_owner: null })
  const creates = b.emulator.control.callCounts().create
  const again = await b.request({
    method: 'POST',
    url: '/v1/connections',
    body,
    headers: { 'idempotency-key': 'k-503' }
  })
  t.equal(again.statusCode, 503)
  t.equal(again.json<Problem>().connectionId, id)
  t.equal(b.emulator.control.callCounts().create, creates, 'the repeat sent nothing downstream')
})

void t.test('keys expire after 24 h: the reconciler forgets them, and an old key names a new request', async (t) => {
  const b = shared
  const body = salesforceBody()
  const first = (
    await b.request({ method: 'POST', url: '/v1/connections', body, headers: { 'idempotency-key': 'k-old' } })
  ).json<Created>()
  const dayAgo = new Date(Date.now() - 24 * 60 * 60 * 1000 - 60000)
  await b.broker.database.db.updateTable('connections').set({ created_at: dayAgo }).where('id', '=', first.id).execute()
  // Honoured at lookup time, before any sweep: a key older than 24 h is a new request.
  const later = await b.request({
    method: 'POST',
    url: '/v1/connections',
    body: { ...body, name: 'reused key' },
    headers: { 'idempotency-key': 'k-old' }
  })
  t.equal(later.statusCode, 201, 'not 422: the old request is forgotten')
  t.not(later.json<Created>().id, first.id)
  t.equal((await connectionRow(b, first.id)).idempotency_key, null, 'the old row gave its key up')

  // And the sweep clears keys older than 24 h.
  const another = (
    await b.request({
      method: 'POST',
      url: '/v1/connections',
      body: salesforceBody(),
      headers: { 'idempotency-key': 'k-sweep' }
    })
  ).json<Created>()
  await b.broker.database.db
    .updateTable('connections')
    .set({ created_at: dayAgo })
    .where('id', '=', another.id)
    .execute()
  const result = await b.broker.reconciler.sweep()
  t.equal(result.keysForgotten, 1)
  t.match(await connectionRow(b, another.id), { idempotency_key: null, request_fingerprint: null })
  t.equal((await connectionRow(b, later.json<Created>().id)).idempotency_key, 'k-old', 'a fresh key is kept')
})

void t.test('the stored fingerprint holds no secret, in clear or hashed', async (t) => {
  const b = shared
  const body = salesforceBody()
  const created = (
    await b.request({ method: 'POST', url: '/v1/connections', body, headers: { 'idempotency-key': 'k-fp' } })
  ).json<Created>()
  const row = await connectionRow(b, created.id)
  t.match(row.request_fingerprint, /^[0-9a-f]{64}$/)
  const dump = await b.dumpDatabase()
  for (const secret of [body.auth.params.password, body.auth.params.securityToken]) {
    t.notMatch(dump, secret, 'not in clear')
    for (const hash of ['sha256', 'sha1', 'md5'])
      t.notMatch(dump, createHash(hash).update(secret).digest('hex'), `no bare ${hash}`)
  }
  t.match(await auditOf(b, created.id), [{ action: 'connection.create', detail: { idempotencyKey: true } }])
})
