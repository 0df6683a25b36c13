// FlowServiceClient against a mocked Flow Service and IMS: headers, bodies, answers, the 401 retry, and failures.
import t from 'tap'
import { MockAgent, errors } from 'undici'
import { createFlowServiceClient, listQueryString } from '../../src/flow-service/flow-service-client.js'
import { BASE, ETAG, FS, IMS, client, connection, createBody, failure, mockUpstreams } from './helpers.js'

void t.test(
  'every call carries the token, api key, org, sandbox; only calls with a body carry a content type',
  async (t) => {
    const up = mockUpstreams(t)
    const fs = client(up)
    up.reply('POST', { status: 201, body: { id: 'c1', etag: ETAG } })
    up.reply('GET', { status: 200, body: { items: [connection('c1')] } })
    up.reply('GET', { status: 200, body: { items: [] } })
    up.reply('PATCH', { status: 200, body: { id: 'c1', etag: '"2"' } })
    up.reply('GET', { status: 200, body: { result: true } })
    up.reply('DELETE', { status: 204 })
    await fs.createConnection('dev-sandbox', createBody)
    await fs.getConnection('dev-sandbox', 'c1')
    await fs.listConnections('dev-sandbox', { name: 'x' })
    await fs.updateConnection('dev-sandbox', 'c1', ETAG, [{ op: 'replace', path: '/name', value: 'y' }])
    await fs.testConnection('dev-sandbox', 'c1')
    await fs.deleteConnection('dev-sandbox', 'c1', ETAG)
    t.equal(up.seen.length, 6)
    for (const { method, headers } of up.seen) {
      t.match(
        headers,
        {
          authorization: 'Bearer token-1',
          'x-api-key': 'broker-client-id',
          'x-gw-ims-org-id': 'ABC123@AdobeOrg',
          'x-sandbox-name': 'dev-sandbox'
        },
        method
      )
      t.match(headers['x-request-id'], /^[0-9a-f-]{36}$/)
      t.equal(
        headers['content-type'],
        method === 'POST' || method === 'PATCH' ? 'application/json' : undefined,
        `${method} content-type`
      )
      t.notOk(
        Object.values(headers).some((v) => v.includes('broker-client-secret')),
        'the client secret never goes to Flow Service'
      )
    }
    t.same(up.minted, ['token-1'], 'one token for all six calls')
    await fs.close()
  }
)

void t.test('createConnection posts the body as JSON and returns id and etag', async (t) => {
  const up = mockUpstreams(t)
  up.reply('POST', { status: 201, body: { id: 'c1', etag: ETAG } })
  t.same(await client(up).createConnection('prod', createBody), { id: 'c1', etag: ETAG })
  t.equal(up.seen[0]?.path, `${BASE}/connections`)
  t.same(JSON.parse(up.seen[0]?.body ?? ''), createBody)
})

void t.test('createConnection: a 201 without an etag still yields the id', async (t) => {
  const up = mockUpstreams(t)
  up.reply('POST', { status: 201, body: { id: 'c1' } })
  t.same(await client(up).createConnection('prod', createBody), { id: 'c1', etag: '' })
})

void t.test('createConnection: a 201 we cannot read may have created a connection, so it is ambiguous', async (t) => {
  const up = mockUpstreams(t)
  up.reply('POST', { status: 201, body: '<html>oops' })
  t.match(await failure(client(up).createConnection('prod', createBody)), {
    kind: 'ambiguous',
    status: 201,
    operation: 'createConnection'
  })
})

void t.test('updateConnection sends If-Match exactly as given, quotes included, and a JSON Patch array', async (t) => {
  const up = mockUpstreams(t)
  up.reply('PATCH', { status: 200, body: { id: 'c1', etag: '"new-etag"' } })
  const ops = [
    { op: 'replace', path: '/name', value: 'renamed' },
    { op: 'remove', path: '/description' }
  ] as const
  t.same(await client(up).updateConnection('prod', 'c1', ETAG, [...ops]), { id: 'c1', etag: '"new-etag"' })
  t.equal(up.seen[0]?.headers['if-match'], ETAG)
  t.equal(up.seen[0]?.path, `${BASE}/connections/c1`)
  t.same(JSON.parse(up.seen[0]?.body ?? ''), ops)
})

void t.test('updateConnection: a stale etag is precondition_failed, an initializing connection busy', async (t) => {
  const up = mockUpstreams(t)
  up.reply('PATCH', {
    status: 412,
    body: {
      type: 'https://ns.adobe.com/aep/errors/FLOW-1404-412',
      errorMessage: 'Supplied version=["a"] does not match the current version on entity=["b"]'
    }
  })
  up.reply('PATCH', {
    status: 400,
    body: { type: 'https://ns.adobe.com/aep/errors/FLOW-1417-400', title: 'initializing' }
  })
  const fs = client(up)
  t.match(await failure(fs.updateConnection('prod', 'c1', '"a"', [])), {
    kind: 'precondition_failed',
    code: '1404-412',
    status: 412
  })
  t.match(await failure(fs.updateConnection('prod', 'c1', '"a"', [])), { kind: 'busy', code: '1417-400' })
})

void t.test("getConnection unwraps items, returns null on Flow Service's 404, and escapes the id", async (t) => {
  const up = mockUpstreams(t)
  const fs = client(up)
  const unknownState = connection('c1', { state: 'enabled-finalizing' })
  up.reply('GET', { status: 200, body: { items: [unknownState] } })
  up.reply('GET', {
    status: 404,
    body: { errorMessage: 'connections not found with id = [c2]', errorDetails: 'connections not found with id = [c2]' }
  })
  up.reply('GET', { status: 200, body: { items: [connection('a/b?c')] } })
  t.same(await fs.getConnection('prod', 'c1'), unknownState, 'an unknown state passes through')
  t.equal(await fs.getConnection('prod', 'c2'), null)
  t.equal((await fs.getConnection('prod', 'a/b?c'))?.id, 'a/b?c')
  t.equal(up.seen[2]?.path, `${BASE}/connections/a%2Fb%3Fc`)
})

void t.test('getConnection: an answer without items is retryable, not a crash', async (t) => {
  const up = mockUpstreams(t)
  up.reply('GET', { status: 200, body: { id: 'c1' } })
  t.match(await failure(client(up).getConnection('prod', 'c1')), { kind: 'retryable', operation: 'getConnection' })
})

void t.test('list query building', async (t) => {
  t.equal(listQueryString({ ids: ['a', 'b', 'c'], limit: 100 }), 'property=id==a,b,c&limit=100')
  t.equal(
    listQueryString({ name: 'Sales, EU & more', connectionSpecId: 'spec-1' }),
    'property=name==Sales%2C%20EU%20%26%20more&property=connectionSpec.id==spec-1'
  )
  t.equal(
    listQueryString({ ids: ['a'], name: 'n', limit: 5, continuationToken: 'tok/+=' }),
    'property=id==a&property=name==n&limit=5&continuationToken=tok%2F%2B%3D'
  )
  t.equal(
    listQueryString({ connectionSpecId: 'spec-1', orderBy: { field: 'createdAt', descending: true }, limit: 100 }),
    'property=connectionSpec.id==spec-1&limit=100&orderby=-createdAt'
  )
  t.equal(listQueryString({ orderBy: { field: 'name' } }), 'orderby=+name')
  t.equal(
    listQueryString({ orderBy: { field: 'updatedAt', descending: false }, continuationToken: 't' }),
    'orderby=+updatedAt&continuationToken=t'
  )
  t.equal(listQueryString({}), '')
  t.throws(() => listQueryString({ limit: 101 }), RangeError)
  t.throws(() => listQueryString({ limit: 0 }), RangeError)
})

void t.test('listConnections sends the filters and follows _links.next.href', async (t) => {
  const up = mockUpstreams(t)
  const fs = client(up)
  up.reply('GET', {
    status: 200,
    body: {
      items: [connection('a'), connection('b')],
      _links: { next: { href: `${BASE}/connections?property=id%3D%3Da,b,c&limit=2&continuationToken=NEXT%2B1` } }
    }
  })
  up.reply('GET', { status: 200, body: { items: [connection('c')], _links: {} } })
  up.reply('GET', {
    status: 200,
    body: { items: [], _links: { next: { href: 'https://platform.test/x/connections?continuationToken=ABS' } } }
  })
  const first = await fs.listConnections('prod', { ids: ['a', 'b', 'c'], limit: 2 })
  t.same(
    first.items.map((c) => c.id),
    ['a', 'b']
  )
  t.equal(first.continuationToken, 'NEXT+1')
  const second = await fs.listConnections('prod', {
    ids: ['a', 'b', 'c'],
    limit: 2,
    ...(first.continuationToken !== undefined ? { continuationToken: first.continuationToken } : {})
  })
  t.same(
    second.items.map((c) => c.id),
    ['c']
  )
  t.equal(second.continuationToken, undefined)
  t.equal((await fs.listConnections('prod', { name: 'x' })).continuationToken, 'ABS', 'absolute hrefs work too')
  t.equal(up.seen[0]?.path, `${BASE}/connections?property=id==a,b,c&limit=2`)
  t.equal(up.seen[1]?.path, `${BASE}/connections?property=id==a,b,c&limit=2&continuationToken=NEXT%2B1`)
})

void t.test('listConnections with an empty id list matches nothing and calls nobody', async (t) => {
  const up = mockUpstreams(t)
  t.same(await client(up).listConnections('prod', { ids: [] }), { items: [] })
  t.equal(up.seen.length, 0)
  t.same(up.minted, [])
})

void t.test(
  "deleteConnection: 204 deleted, an empty 200 not trusted, Flow Service's 404 not_found, If-Match sent, 1417 busy",
  async (t) => {
    const up = mockUpstreams(t)
    const fs = client(up)
    up.reply('DELETE', { status: 204 })
    up.reply('DELETE', { status: 404, body: { errorMessage: 'connections not found with id = [c1]' } })
    up.reply('DELETE', { status: 200, body: '' })
    up.reply('DELETE', { status: 400, body: { type: 'https://ns.adobe.com/aep/errors/FLOW-1417-400' } })
    t.equal(await fs.deleteConnection('prod', 'c1', ETAG), 'deleted')
    t.equal(await fs.deleteConnection('prod', 'c1', ETAG), 'not_found')
    t.match(
      await failure(fs.deleteConnection('prod', 'c1', '"2"')),
      { kind: 'retryable', code: 'unexpected_answer' },
      "only Flow Service's 204 proves a delete"
    )
    t.equal(up.seen[0]?.headers['if-match'], ETAG)
    t.equal(up.seen[2]?.headers['if-match'], '"2"')
    t.match(await failure(fs.deleteConnection('prod', 'c1', ETAG)), { kind: 'busy' })
  }
)

void t.test('deleteConnection refuses to send a delete without an etag', async (t) => {
  const up = mockUpstreams(t)
  const fs = client(up)
  await t.rejects(fs.deleteConnection('prod', 'c1', ''), TypeError)
  // A caller outside TypeScript's reach (a cast, JSON) gets the same answer.
  await t.rejects(fs.deleteConnection('prod', 'c1', undefined as unknown as string), TypeError)
  t.equal(up.seen.length, 0, 'nothing was sent')
})

void t.test("testConnection returns Flow Service's verdict", async (t) => {
  const up = mockUpstreams(t)
  const fs = client(up)
  up.reply('GET', { status: 200, body: { result: true } })
  up.reply('GET', { status: 200, body: { result: false } })
  up.reply('GET', { status: 404, body: { errorMessage: 'not found' } })
  t.equal(await fs.testConnection('prod', 'c1'), true)
  t.equal(await fs.testConnection('prod', 'c1'), false)
  t.equal(up.seen[0]?.path, `${BASE}/connections/c1/test`)
  t.match(await failure(fs.testConnection('prod', 'c1')), { kind: 'not_found' })
})

void t.test('ping counts connections in the configured sandbox and fails with the classified error', async (t) => {
  const up = mockUpstreams(t)
  const fs = client(up, { pingSandbox: 'ops' })
  up.reply('GET', { status: 200, body: { count: 3 } })
  up.reply('GET', {
    status: 503,
    body: { type: 'https://ns.adobe.com/aep/errors/FLOW-1103-503' },
    headers: { 'retry-after': '2' }
  })
  await fs.ping()
  t.equal(up.seen[0]?.path, `${BASE}/connections?count=true`)
  t.equal(up.seen[0]?.headers['x-sandbox-name'], 'ops')
  t.match(await failure(fs.ping()), { kind: 'retryable', code: '1103-503', retryAfterMs: 2000, operation: 'ping' })
})

void t.test('ping fails when no token can be had', async (t) => {
  const agent = new MockAgent()
  agent.disableNetConnect()
  t.teardown(async () => {
    await agent.close()
  })
  agent
    .get(IMS)
    .intercept({ path: '/ims/token/v3', method: 'POST' })
    .reply(400, { error: 'invalid_client', error_description: 'invalid client_secret parameter' })
  const fs = createFlowServiceClient({
    url: FS,
    imsUrl: IMS,
    clientId: 'c',
    clientSecret: 's',
    scopes: 'openid',
    orgId: 'O@AdobeOrg',
    timeoutMs: 1000,
    dispatcher: agent
  })
  t.match(await failure(fs.ping()), { kind: 'auth', operation: 'getToken', code: 'invalid_client' })
})

void t.test('a 401 invalidates the token, a fresh one is minted, and the call is made once more', async (t) => {
  const up = mockUpstreams(t)
  const fs = client(up)
  up.reply('GET', { status: 200, body: { items: [connection('c0')] } })
  up.reply('POST', { status: 401, body: { error_code: '401013', message: 'Oauth token is not valid' } })
  up.reply('POST', { status: 201, body: { id: 'c1', etag: ETAG } })
  up.reply('GET', { status: 200, body: { items: [connection('c1')] } })
  await fs.getConnection('prod', 'c0')
  t.same(await fs.createConnection('prod', createBody), { id: 'c1', etag: ETAG })
  await fs.getConnection('prod', 'c1')
  t.same(
    up.seen.map((s) => s.headers.authorization),
    ['Bearer token-1', 'Bearer token-1', 'Bearer token-2', 'Bearer token-2']
  )
  t.same(up.minted, ['token-1', 'token-2'])
})

void t.test('a second 401 in a row is an auth error, with no third attempt', async (t) => {
  const up = mockUpstreams(t)
  up.reply('GET', { status: 401, body: { error_code: '401013', message: 'Oauth token is not valid' } })
  up.reply('GET', { status: 401, body: { error_code: '401013', message: 'Oauth token is not valid' } })
  t.match(await failure(client(up).getConnection('prod', 'c1')), {
    kind: 'auth',
    status: 401,
    code: '401013',
    downstreamMessage: 'Oauth token is not valid'
  })
  t.equal(up.seen.length, 2)
})

void t.test('a 403 (not entitled) is an auth error without a token refresh', async (t) => {
  const up = mockUpstreams(t)
  up.reply('GET', { status: 403, body: { error_code: '403025', message: 'Profile is not valid' } })
  t.match(await failure(client(up).getConnection('prod', 'c1')), { kind: 'auth', code: '403025' })
  t.same(up.minted, ['token-1'])
})

void t.test('Flow Service rejections carry code and message for the caller', async (t) => {
  const up = mockUpstreams(t)
  up.reply('POST', {
    status: 400,
    body: {
      type: 'https://ns.adobe.com/aep/errors/FLOW-1415-400',
      title: 'Bad auth spec',
      status: 400,
      report: { 'detailed-message': 'Auth spec [Basic] not supported' },
      errorMessage: 'Auth spec [Basic] not supported'
    }
  })
  const err = await failure(client(up).createConnection('prod', createBody))
  t.match(err, {
    kind: 'rejected',
    status: 400,
    code: '1415-400',
    downstreamMessage: 'Auth spec [Basic] not supported',
    operation: 'createConnection'
  })
})

void t.test("throttling and outages are retryable with the server's Retry-After", async (t) => {
  const up = mockUpstreams(t)
  const fs = client(up)
  up.reply('POST', { status: 429, body: '', headers: { 'retry-after': '5' } })
  up.reply('GET', { status: 502, body: '<html>Bad Gateway</html>', headers: { 'content-type': 'text/html' } })
  t.match(await failure(fs.createConnection('prod', createBody)), {
    kind: 'retryable',
    status: 429,
    retryAfterMs: 5000
  })
  t.match(await failure(fs.getConnection('prod', 'c1')), { kind: 'retryable', status: 502 })
})

void t.test('a connect timeout (nothing sent) is retryable, even for a create', async (t) => {
  const up = mockUpstreams(t)
  up.replyWithError('POST', new errors.ConnectTimeoutError())
  t.match(await failure(client(up).createConnection('prod', createBody)), {
    kind: 'retryable',
    operation: 'createConnection'
  })
})

void t.test('the sandbox is required', async (t) => {
  const up = mockUpstreams(t)
  await t.rejects(client(up).getConnection('', 'c1'), TypeError)
})

void t.test('close() leaves an injected dispatcher open and refuses later calls', async (t) => {
  const up = mockUpstreams(t)
  const fs = client(up)
  await fs.close()
  await fs.close()
  await t.rejects(fs.getConnection('prod', 'c1'), { message: 'FlowServiceClient is closed' })
  up.reply('GET', { status: 200, body: { items: [connection('c1')] } })
  t.equal((await client(up).getConnection('prod', 'c1'))?.id, 'c1', 'the shared MockAgent still works')
})
