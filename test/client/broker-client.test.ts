// The typed client (client/) against a real broker listening on 127.0.0.1, as a consuming service uses it: a team's
// key, every call over HTTP through the client's own fetch. The broker runs on virtual time with its loops off (the
// test sweeps the poller), so states move only when the test says.
import type { AddressInfo } from 'node:net'
import { inspect } from 'node:util'
import t from 'tap'
import {
  BrokerProblemError,
  BrokerRequestError,
  createBrokerClient,
  type BrokerClient,
  type Connection,
  type CreateConnectionBody
} from '../../client/src/index.js'
import { salesforceBody as fixtureBody } from '../support/lifecycle-fixtures.js'
import { startTestApp } from '../support/test-broker.js'

/**
 * The suite's Salesforce body, typed as a consuming service writes it: the document's create body is a union of one
 * variant per connection spec and auth spec, so the spec id and auth name must be the literal ones.
 */
function salesforceBody(overrides: Parameters<typeof fixtureBody>[0] = {}): CreateConnectionBody & {
  auth: { params: ReturnType<typeof fixtureBody>['auth']['params'] }
} {
  const body = fixtureBody(overrides)
  return {
    ...body,
    auth: { specName: 'Basic Authentication', params: body.auth.params },
    connectionSpec: { id: 'cfc0fee1-7dc0-40ef-b73e-d8b134c436f5', version: '1.0' }
  }
}

const b = await startTestApp(t, { readyDelayMs: 0 })
await b.app.listen({ port: 0, host: '127.0.0.1' })
const baseUrl = `http://127.0.0.1:${(b.app.server.address() as AddressInfo).port}`

/** Requests the client sent, as `METHOD path?query`. */
let sent: string[] = []
const recording = async (request: Request): Promise<Response> => {
  const url = new URL(request.url)
  sent.push(`${request.method} ${url.pathname}${url.search}`)
  return await fetch(request)
}
t.beforeEach(() => {
  sent = []
})

/** A client for a team of its own, so listings see only what the test made. */
async function teamClient(team: string, fetchWith: (request: Request) => Promise<Response> = recording) {
  const apiKey = await b.createKey(team, ['connections:read', 'connections:write'])
  return createBrokerClient({ baseUrl: `${baseUrl}/`, apiKey, fetch: fetchWith })
}

async function collect(items: AsyncIterable<Connection>): Promise<Connection[]> {
  const all: Connection[] = []
  for await (const item of items) all.push(item)
  return all
}

void t.test(
  'create with an Idempotency-Key: 201 with secret params as references; the same key again replays it',
  async (t) => {
    const client = await teamClient('client-create')
    const body = salesforceBody()
    const created = await client.createConnection(body, { idempotencyKey: 'order-42' })
    t.equal(created.state, 'initializing')
    t.equal(created.name, body.name)
    t.match(created.auth.params.password, /^local:.*#password@v1$/)
    t.equal(created.auth.params.username, 'acme-salesforce')
    t.same(created.notices, [])

    const again = await client.createConnection(body, { idempotencyKey: 'order-42' })
    t.equal(again.id, created.id, 'the original connection, not a second one')
    t.equal((await collect(client.listConnections({ name: body.name }))).length, 1)
  }
)

void t.test(
  'create without a key: one is generated and carried by the error of a lost answer; retrying with it does not duplicate',
  async (t) => {
    let loseAnswer = true
    const client = await teamClient('client-lost', async (request) => {
      const response = await fetch(request)
      if (request.method === 'POST' && loseAnswer) {
        loseAnswer = false
        throw new TypeError('fetch failed') // the broker created it; the answer never arrived
      }
      return response
    })
    const body = salesforceBody()
    const err = await client.createConnection(body).then(
      () => t.fail('the answer was lost'),
      (e: unknown) => e
    )
    if (!(err instanceof BrokerRequestError)) throw err
    t.match(err.idempotencyKey, /^[0-9a-f-]{36}$/)
    t.match(err.message, /^createConnection: no answer from the broker/)
    const retried = await client.createConnection(body, { idempotencyKey: err.idempotencyKey! })
    const all = await collect(client.listConnections({ name: body.name }))
    t.same(
      all.map((c) => c.id),
      [retried.id],
      'one connection'
    )
  }
)

void t.test('get: the connection; an unknown id: BrokerProblemError with the typed 404 problem', async (t) => {
  const client = await teamClient('client-get')
  const created = await client.createConnection(salesforceBody())
  const read = await client.getConnection(created.id)
  t.equal(read.id, created.id)
  t.equal(read.flowConnectionId, created.flowConnectionId)

  const missing = '01900000-0000-7000-8000-000000000000'
  const err = await client.getConnection(missing).catch((e: unknown) => e)
  if (!(err instanceof BrokerProblemError)) throw err
  t.equal(err.status, 404)
  t.equal(err.problem.status, 404)
  t.match(err.problem.type, /^https:\/\/credential-broker\.dev\/problems\//)
  t.match(err.message, /^getConnection: 404 /)
  t.equal(sent.at(-1), `GET /v1/connections/${missing}`)
})

void t.test('list: the iterator follows nextCursor across pages, with the filters on every page', async (t) => {
  const client = await teamClient('client-list')
  const ids: string[] = []
  for (let i = 0; i < 5; i++) ids.push((await client.createConnection(salesforceBody({ name: `paged ${i}` }))).id)
  sent = []
  const all = await collect(client.listConnections({ state: 'initializing', limit: 2 }))
  t.same(all.map((c) => c.id).sort(), [...ids].sort())
  t.equal(sent.length, 3, 'three pages of 2, 2 and 1')
  t.ok(
    sent.every((s) => s.startsWith('GET /v1/connections?') && s.includes('state=initializing') && s.includes('limit=2'))
  )
  t.notOk(sent[0]?.includes('cursor='))
  t.ok(sent[1]?.includes('cursor=') && sent[2]?.includes('cursor='))

  t.same(await collect(client.listConnections({ state: 'enabled' })), [], 'nothing matches: no item, one request')

  const first = await client.listConnectionPage({ limit: 3 })
  t.equal(first.items.length, 3)
  const second = await client.listConnectionPage({ limit: 3, cursor: first.nextCursor! })
  t.equal(second.items.length, 2)
  t.equal(second.nextCursor, null)
})

void t.test('events: the state history, oldest first', async (t) => {
  const client = await teamClient('client-events')
  const created = await client.createConnection(salesforceBody())
  await b.waitForState(created.id, 'enabled')
  const events = await client.listEvents(created.id)
  t.same(
    events.map((e) => [e.from, e.to]),
    [
      [null, 'pending'],
      ['pending', 'initializing'],
      ['initializing', 'enabled']
    ]
  )
})

void t.test('rename and rotate: the changed connection; rotation moves the secret references to v2', async (t) => {
  const client = await teamClient('client-change')
  const created = await client.createConnection(salesforceBody())
  await b.waitForState(created.id, 'enabled')

  const renamed = await client.renameConnection(created.id, { name: 'Renamed by the client', description: null })
  t.equal(renamed.name, 'Renamed by the client')
  t.equal(renamed.description, null)
  t.equal(b.emulator.control.storedConnection(created.flowConnectionId!)?.name, 'Renamed by the client')

  const rotated = await client.rotateCredentials(created.id, salesforceBody().auth.params)
  t.match(rotated.auth.params.password, /#password@v2$/)
  t.match(rotated.auth.params.securityToken, /#securityToken@v2$/)
  t.ok(Array.isArray(rotated.notices))
})

void t.test(
  'a refused rotation: 400 problem naming the field, and no secret in the error however it is shown',
  async (t) => {
    const client = await teamClient('client-refused')
    const created = await client.createConnection(salesforceBody())
    await b.waitForState(created.id, 'enabled')
    const secret = 'pw-never-in-an-error-7f3a'
    const { securityToken: _left, ...params } = { ...salesforceBody().auth.params, password: secret }

    const err = await client.rotateCredentials(created.id, params).catch((e: unknown) => e)
    if (!(err instanceof BrokerProblemError)) throw err
    t.equal(err.status, 400)
    t.ok(
      err.problem.errors?.some((e) => e.path.includes('securityToken')),
      'the missing param is named'
    )
    for (const shown of [err.message, String(err.stack), inspect(err, { depth: 10 }), JSON.stringify(err)])
      t.notOk(shown.includes(secret), 'the secret is not quoted')
  }
)

void t.test('delete: 204, the connection stays readable as deleted; deleting again is not an error', async (t) => {
  const client = await teamClient('client-delete')
  const created = await client.createConnection(salesforceBody())
  await b.waitForState(created.id, 'enabled')
  t.equal(await client.deleteConnection(created.id), undefined)
  t.equal((await client.getConnection(created.id)).state, 'deleted')
  await client.deleteConnection(created.id)
  t.equal(sent.filter((s) => s.startsWith('DELETE ')).length, 2)
})

void t.test('a bad body on create: the 400 problem with its field errors, and the key it was sent with', async (t) => {
  const client = await teamClient('client-invalid')
  const body = salesforceBody({ password: 'pw-bad-body-secret-91c2' })
  const err = await client
    // Not a spec the document lists: a caller outside TypeScript (or with a stale client) can still send it.
    .createConnection(
      { ...body, connectionSpec: { id: 'not-a-spec', version: '1.0' } } as unknown as CreateConnectionBody,
      {
        idempotencyKey: 'k-1'
      }
    )
    .catch((e: unknown) => e)
  if (!(err instanceof BrokerProblemError)) throw err
  t.equal(err.status, 400)
  t.equal(err.idempotencyKey, 'k-1')
  t.ok(err.problem.errors?.length)
  t.notOk(inspect(err, { depth: 10 }).includes('pw-bad-body-secret-91c2'))
})

void t.test('a wrong key: 401 problem; a key without the write scope: 403', async (t) => {
  const wrong = createBrokerClient({ baseUrl, apiKey: 'cbk_wrong' })
  const err = await wrong.getConnection('01900000-0000-7000-8000-000000000000').catch((e: unknown) => e)
  if (!(err instanceof BrokerProblemError)) throw err
  t.equal(err.status, 401)

  const readOnly = createBrokerClient({ baseUrl, apiKey: await b.createKey('client-readonly', ['connections:read']) })
  const denied = await readOnly.createConnection(salesforceBody()).catch((e: unknown) => e)
  if (!(denied instanceof BrokerProblemError)) throw denied
  t.equal(denied.status, 403)
  t.equal(denied.problem.status, 403)
})

void t.test(
  'an answer that is not a problem (a proxy page) still throws a BrokerProblemError, without its body',
  async (t) => {
    const client: BrokerClient = createBrokerClient({
      baseUrl,
      apiKey: 'cbk_any',
      fetch: async () =>
        new Response('<html>Bad gateway: upstream said pw-in-html</html>', {
          status: 502,
          statusText: 'Bad Gateway',
          headers: { 'content-type': 'text/html', 'retry-after': '7' }
        })
    })
    const err = await client.getConnection('01900000-0000-7000-8000-000000000000').catch((e: unknown) => e)
    if (!(err instanceof BrokerProblemError)) throw err
    t.equal(err.status, 502)
    t.same(err.problem, {
      type: 'about:blank',
      title: 'Bad Gateway',
      status: 502,
      detail: 'The answer (text/html) is not a problem document.'
    })
    t.equal(err.retryAfterSeconds, 7)
    t.notOk(err.message.includes('pw-in-html'))
  }
)

void t.test('api: the openapi-fetch client, typed for the routes the wrapper does not cover', async (t) => {
  const client = await teamClient('client-api')
  const { data, response } = await client.api.GET('/v1/connection-specs')
  t.equal(response.status, 200)
  t.ok(data?.items.some((spec) => spec.name.length > 0))
})
