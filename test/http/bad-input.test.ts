// Every class of bad input gets a precise problem+json answer — which field, why, what to send — never a 500,
// never a secret echoed back.
import t, { type Test } from 'tap'
import type { LightMyRequestResponse } from 'fastify'
import { BROKEN_SEED_BODIES, SEED_BODIES } from '../support/seed-bodies.js'
import { startTestBroker, type TestBroker } from '../support/test-broker.js'

const SECRET = 'Hunter2-never-echo-me-7f3a'

interface ProblemBody {
  type: string
  title: string
  status: number
  detail: string
  errors?: Array<{ path: string; message: string }>
}

function problem(t: Test, res: LightMyRequestResponse, status: number): ProblemBody {
  t.equal(res.statusCode, status, `status ${status}`)
  t.match(res.headers['content-type'], /^application\/problem\+json/, 'problem+json')
  const body = res.json<ProblemBody>()
  t.match(body, { type: String, title: String, status, detail: String })
  t.notOk(res.body.includes(SECRET), 'no secret echoed')
  return body
}

const withParams = (
  params: Record<string, unknown>,
  base: Record<string, unknown> = SEED_BODIES.salesforceOAuth
): Record<string, unknown> => ({ ...base, auth: { ...(base.auth as object), params } })

let b: TestBroker
t.before(async () => {
  b = await startTestBroker(t, { poller: false })
})

void t.test('the three broken seed bodies: 400 saying where the JSON breaks', async (t) => {
  const expected = {
    salesforceBasicMissingBrace: {
      line: 7,
      after: 'auth.params',
      hint: /'\{' that should open the value of "params" is missing/
    },
    marketingCloudMissingComma: {
      line: 8,
      after: 'auth.params.host',
      hint: /expected ',' or '\}' after a property value/
    },
    // This seed is broken twice; the first break (the missing '{') is the one reported.
    jwtUnterminatedString: {
      line: 7,
      after: 'auth.params',
      hint: /'\{' that should open the value of "params" is missing/
    }
  }
  for (const [name, text] of Object.entries(BROKEN_SEED_BODIES)) {
    const res = await b.request({
      method: 'POST',
      url: '/v1/connections',
      body: text,
      headers: { 'content-type': 'application/json' }
    })
    const body = problem(t, res, 400)
    const e = expected[name as keyof typeof expected]
    t.match(body.type, /malformed-json$/, name)
    t.match(
      body.detail,
      new RegExp(`line ${e.line}, column \\d+, just after "${e.after.replaceAll('.', '\\.')}"`),
      `${name}: line and field`
    )
    t.match(body.detail, e.hint, `${name}: what to fix`)
  }
})

void t.test('malformed JSON never quotes the body (a secret may be next to the break)', async (t) => {
  const res = await b.request({
    method: 'POST',
    url: '/v1/connections',
    body: `{"name":"x","auth":{"specName":"Basic Authentication","params":{"password":"${SECRET}" "username":"u"}}}`,
    headers: { 'content-type': 'application/json' }
  })
  problem(t, res, 400)
})

void t.test('empty body, reserved property names: 400', async (t) => {
  problem(
    t,
    await b.request({
      method: 'POST',
      url: '/v1/connections',
      body: '',
      headers: { 'content-type': 'application/json' }
    }),
    400
  )
  const proto = await b.request({
    method: 'POST',
    url: '/v1/connections',
    body: '{"__proto__":{"admin":true},"name":"x"}',
    headers: { 'content-type': 'application/json' }
  })
  t.match(problem(t, proto, 400).detail, /reserved property name/)
})

void t.test('unknown connection spec: 400 naming every accepted id', async (t) => {
  const res = await b.request({
    method: 'POST',
    url: '/v1/connections',
    body: {
      ...SEED_BODIES.salesforceOAuth,
      connectionSpec: { id: '00000000-0000-0000-0000-000000000000', version: '1.0' }
    }
  })
  const body = problem(t, res, 400)
  t.match(body.type, /unknown-connection-spec$/)
  for (const id of [
    'cfc0fee1-7dc0-40ef-b73e-d8b134c436f5',
    'cb66ab34-8619-49cb-96d1-39b37ede86ea',
    'ea1c2a08-b722-11eb-8529-0242ac130003',
    'ba5126ec-c9ac-11eb-b8bc-0242ac130003'
  ]) {
    t.match(body.detail, id, `lists ${id}`)
  }
  t.match(body.errors, [{ path: '/connectionSpec/id' }])
})

void t.test('unknown auth.specName: 400 naming the accepted ones', async (t) => {
  const res = await b.request({
    method: 'POST',
    url: '/v1/connections',
    body: { ...SEED_BODIES.salesforceOAuth, auth: { specName: 'Magic Login', params: {} } }
  })
  const body = problem(t, res, 400)
  t.match(body.type, /unknown-auth-spec$/)
  t.match(body.detail, /Basic Authentication/)
  t.match(body.detail, /OAuth2 Client Credential/)
  t.match(body.detail, /OAuth2 JWT Token Credential/)
})

void t.test('missing, extra and wrongly typed params: 400 naming each', async (t) => {
  const res = await b.request({
    method: 'POST',
    url: '/v1/connections',
    body: withParams({
      environmentUrl: 'https://acme.my.salesforce.com',
      clientSecret: SECRET,
      apiVersion: true,
      bogus: 'x',
      includeDeletedObjects: 'maybe'
    })
  })
  const body = problem(t, res, 400)
  t.match(body.type, /invalid-params$/)
  const paths = (body.errors ?? []).map((e) => e.path).sort()
  t.same(
    paths,
    [
      '/auth/params/apiVersion',
      '/auth/params/bogus',
      '/auth/params/clientId',
      '/auth/params/includeDeletedObjects'
    ].sort()
  )
  t.match(body.errors?.find((e) => e.path === '/auth/params/clientId')?.message, /required/)
})

void t.test('bad formats say what to send', async (t) => {
  const http = await b.request({
    method: 'POST',
    url: '/v1/connections',
    body: withParams({
      environmentUrl: 'http://acme.my.salesforce.com',
      clientId: 'c',
      clientSecret: SECRET,
      apiVersion: '60.0'
    })
  })
  t.match(problem(t, http, 400).errors, [{ path: '/auth/params/environmentUrl', message: /https/ }])
  const mc = await b.request({
    method: 'POST',
    url: '/v1/connections',
    body: withParams(
      { host: 'acme.soap.marketingcloudapis.com', clientId: 'c', clientSecret: SECRET },
      SEED_BODIES.marketingCloud
    )
  })
  t.match(problem(t, mc, 400).errors, [{ path: '/auth/params/host', message: /rest\.marketingcloudapis\.com/ }])
})

void t.test('the top-level shape is checked: missing, extra and wrongly typed fields', async (t) => {
  const missing = problem(
    t,
    await b.request({
      method: 'POST',
      url: '/v1/connections',
      body: { auth: SEED_BODIES.salesforceOAuth.auth, connectionSpec: SEED_BODIES.salesforceOAuth.connectionSpec }
    }),
    400
  )
  t.match(missing.errors, [{ path: '/name', message: /required/ }])
  const extra = problem(
    t,
    await b.request({ method: 'POST', url: '/v1/connections', body: { ...SEED_BODIES.salesforceOAuth, owner: 'me' } }),
    400
  )
  t.match(extra.errors, [{ path: '/owner', message: /not a recognised field/ }])
  const typed = problem(
    t,
    await b.request({ method: 'POST', url: '/v1/connections', body: { ...SEED_BODIES.salesforceOAuth, name: 42 } }),
    400
  )
  t.match(typed.errors, [{ path: '/name', message: /string/ }])
  const notObject = problem(
    t,
    await b.request({
      method: 'POST',
      url: '/v1/connections',
      body: '[1,2]',
      headers: { 'content-type': 'application/json' }
    }),
    400
  )
  t.ok(notObject.errors?.length)
})

void t.test('a body over 1 MiB: 413', async (t) => {
  const res = await b.request({
    method: 'POST',
    url: '/v1/connections',
    body: { ...SEED_BODIES.salesforceOAuth, description: 'x'.repeat(1024 * 1024 + 10) }
  })
  t.match(problem(t, res, 413).type, /payload-too-large$/)
})

void t.test('a content type other than JSON: 415 saying what to send', async (t) => {
  const res = await b.request({
    method: 'POST',
    url: '/v1/connections',
    body: `name=x&password=${SECRET}`,
    headers: { 'content-type': 'application/x-www-form-urlencoded' }
  })
  t.match(problem(t, res, 415).detail, /application\/json/)
})

void t.test('headers are checked: a sandbox name in capitals', async (t) => {
  const res = await b.request({
    method: 'POST',
    url: '/v1/connections',
    body: SEED_BODIES.salesforceOAuth,
    headers: { 'x-sandbox-name': 'PROD' }
  })
  t.match(problem(t, res, 400).errors, [{ path: 'header.x-sandbox-name' }])
})

void t.test('path and query: malformed ids, limits, states and cursors are 400; unknown ids 404', async (t) => {
  t.match(problem(t, await b.request({ method: 'GET', url: '/v1/connections/not-a-uuid' }), 400).errors, [
    { path: 'params.id' }
  ])
  problem(t, await b.request({ method: 'GET', url: '/v1/connections/0192f0c4-0000-7000-8000-000000000000' }), 404)
  problem(
    t,
    await b.request({ method: 'GET', url: '/v1/connections/0192f0c4-0000-7000-8000-000000000000/events' }),
    404
  )
  for (const query of ['limit=0', 'limit=101', 'limit=ten', 'state=exploded', 'cursor=garbage', 'nonsense=1']) {
    const res = await b.request({ method: 'GET', url: `/v1/connections?${query}` })
    t.ok(problem(t, res, 400).errors?.length, `${query}: names the parameter`)
  }
})

void t.test('unknown routes: 404 problem; a known path with another method: 405 problem with Allow', async (t) => {
  problem(t, await b.request({ method: 'GET', url: '/v1/nope' }), 404)
  const wrongMethod = await b.request({ method: 'DELETE', url: '/health/live' })
  problem(t, wrongMethod, 405)
  t.equal(wrongMethod.headers.allow, 'GET, HEAD')
})

void t.test('nothing above produced a 500 or logged a secret', async (t) => {
  t.notMatch(b.logs(), /"statusCode":5\d\d/)
  t.notOk(b.logs().includes(SECRET))
})
