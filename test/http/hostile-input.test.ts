// Hostile bodies and ill-formed text: deep nesting, oversized and misplaced bodies, lone UTF-16 surrogates in every
// part of a request. Each is a 400/404/413 problem+json, never a 500, and never a line at error level.
// That bodies are not read where they should not be is proven over a socket, in slow-clients.test.ts.
import t, { type Test } from 'tap'
import type { LightMyRequestResponse } from 'fastify'
import { SEED_BODIES } from '../support/seed-bodies.js'
import { startTestBroker, type TestBroker } from '../support/test-broker.js'

const SECRET = 'Hunter2-never-echo-me-7f3a'

interface ProblemBody {
  type: string
  status: number
  detail: string
  errors?: Array<{ path: string; message: string }>
}

function problem(t: Test, res: LightMyRequestResponse, status: number): ProblemBody {
  t.equal(res.statusCode, status, `status ${status}: ${res.body.slice(0, 300)}`)
  t.match(res.headers['content-type'], /^application\/problem\+json/, 'problem+json')
  t.ok(res.headers['x-request-id'], 'x-request-id')
  t.notOk(res.body.includes(SECRET), 'no secret echoed')
  return res.json<ProblemBody>()
}

/** Log lines at error level or above (pino: 50). */
const errorLines = (b: TestBroker): string[] =>
  b
    .logs()
    .split('\n')
    .filter((l) => l !== '' && (JSON.parse(l) as { level: number }).level >= 50)

let b: TestBroker
t.before(async () => {
  b = await startTestBroker(t, { poller: false, reconciler: false })
})

const post = async (body: string, url = '/v1/connections'): Promise<LightMyRequestResponse> =>
  await b.request({ method: 'POST', url, body, headers: { 'content-type': 'application/json' } })

void t.test('deep nesting of every kind: 400 problem+json, nothing logged at error', async (t) => {
  const before = errorLines(b).length
  const n = 150000
  const cases = {
    'open brackets': '['.repeat(n),
    'open objects': '{"a":'.repeat(n),
    'valid deep arrays': '['.repeat(n) + ']'.repeat(n),
    'valid deep objects': '{"a":'.repeat(n) + '1' + '}'.repeat(n),
    'deep with a break at the end': '['.repeat(n) + ']'.repeat(n - 1) + ',',
    'deep inside a connection body': JSON.stringify({ ...SEED_BODIES.salesforceOAuth, description: 'x' }).replace(
      '"x"',
      '['.repeat(100) + ']'.repeat(100)
    )
  }
  for (const [name, text] of Object.entries(cases)) {
    const body = problem(t, await post(text), 400)
    t.match(body.detail, /64 levels/, `${name}: says how deep is allowed`)
  }
  t.same(errorLines(b).slice(before), [], 'no error-level log lines')
})

void t.test('long strings and many keys, broken: 400 saying where', async (t) => {
  const longString = '{"name":"' + 'a'.repeat(900000)
  t.match(problem(t, await post(longString), 400).detail, /not terminated/)
  const keys = '{' + Array.from({ length: 500 }, (_, i) => `"k${i}":1`).join(',') + ',}'
  t.match(problem(t, await post(keys), 400).detail, /just after "k499"/)
  const longKey = `{"${'k'.repeat(5000)}" 1}`
  const body = problem(t, await post(longKey), 400)
  t.ok(body.detail.length < 400, 'a long property name is shortened in the message')
})

void t.test('too many members or values: 400 before JSON.parse', async (t) => {
  const wide = '{' + Array.from({ length: 1001 }, (_, i) => `"k${i}":1`).join(',') + '}'
  t.match(problem(t, await post(wide), 400).detail, /more than 1000 members/)
  const many =
    '[' + Array.from({ length: 11 }, () => '[' + Array.from({ length: 999 }, () => '1').join(',') + ']').join(',') + ']'
  t.match(problem(t, await post(many), 400).detail, /more than 10000 values/)
})

void t.test('a 2 MiB body: 413 without parsing', async (t) => {
  const body = problem(t, await post(JSON.stringify({ name: 'x'.repeat(2 * 1024 * 1024) })), 413)
  t.match(body.type, /payload-too-large$/)
})

void t.test('invalid UTF-8 bytes in a body: 400', async (t) => {
  const res = await b.app.inject({
    method: 'POST',
    url: '/v1/connections',
    headers: { authorization: `Bearer ${b.adminKey}`, 'content-type': 'application/json' },
    payload: Buffer.concat([Buffer.from('{"name":"'), Buffer.from([0xed, 0xa0, 0x80]), Buffer.from('"}')])
  })
  t.match(problem(t, res, 400).detail, /not valid UTF-8/)
})

void t.test('a body on a route that takes none is ignored', async (t) => {
  const get = await b.app.inject({
    method: 'GET',
    url: '/v1/connections',
    headers: { authorization: `Bearer ${b.adminKey}`, 'content-type': 'application/json' },
    payload: '['.repeat(100000)
  })
  t.equal(get.statusCode, 200, 'GET answers as if there were no body')
  problem(
    t,
    await b.request({
      method: 'DELETE',
      url: '/v1/api-keys/00000000-0000-4000-8000-000000000000',
      body: '['.repeat(100000),
      headers: { 'content-type': 'application/json' }
    }),
    404
  )
  problem(
    t,
    await b.request({
      method: 'DELETE',
      url: '/v1/api-keys/00000000-0000-4000-8000-000000000000',
      body: 'hello',
      headers: { 'content-type': 'text/plain' }
    }),
    404
  )
})

void t.test('no key, or no route: 401 or 404 whatever the body', async (t) => {
  problem(
    t,
    await b.request({
      method: 'POST',
      url: '/v1/connections',
      key: null,
      body: '['.repeat(100000),
      headers: { 'content-type': 'application/json' }
    }),
    401
  )
  problem(t, await post('['.repeat(100000), '/v1/nowhere'), 404)
  problem(
    t,
    await b.request({ method: 'PUT', url: '/nowhere', body: 'x', headers: { 'content-type': 'text/plain' } }),
    404
  )
})

const LONE = '\ud800'
const illFormed = (t: Test, res: LightMyRequestResponse, path: string): void => {
  const body = problem(t, res, 400)
  t.match(body.type, /validation-failed$/)
  t.same(
    body.errors?.map((e) => e.path),
    [path],
    `names ${path}`
  )
  t.match(body.errors?.[0]?.message, /not well-formed Unicode/)
}

void t.test('lone surrogates: 400 naming the field, on create, rotate, rename and lists', async (t) => {
  const base = SEED_BODIES.salesforceBasicWithUrl
  const create = async (body: unknown, headers: Record<string, string> = {}): Promise<LightMyRequestResponse> =>
    await b.request({ method: 'POST', url: '/v1/connections', body, headers })
  illFormed(t, await create({ ...base, name: `bad ${LONE} name` }), '/name')
  illFormed(
    t,
    await create({ ...base, auth: { ...base.auth, params: { ...base.auth.params, username: `u${LONE}` } } }),
    '/auth/params/username'
  )
  const secret = await create({
    ...base,
    auth: { ...base.auth, params: { ...base.auth.params, password: `${SECRET}${LONE}` } }
  })
  illFormed(t, secret, '/auth/params/password')
  illFormed(
    t,
    await create({ ...base, auth: { ...base.auth, params: { ...base.auth.params, [`key${LONE}`]: 'v' } } }),
    '/auth/params/key\ufffd'
  )
  illFormed(t, await create({ ...base, [LONE]: 1 }), '/\ufffd')
  illFormed(t, await create(base, { 'x-sandbox-name': `prod${LONE}` }), 'header.x-sandbox-name')
  illFormed(t, await create(base, { 'idempotency-key': `k${LONE}` }), 'header.idempotency-key')
  illFormed(t, await create(base, { 'x-request-id': `r${LONE}` }), 'header.x-request-id')

  const created = await create(base)
  t.equal(created.statusCode, 201, created.body)
  const id = created.json<{ id: string }>().id
  illFormed(
    t,
    await b.request({
      method: 'PUT',
      url: `/v1/connections/${id}/credentials`,
      body: { params: { ...base.auth.params, environmentUrl: `https://x${LONE}.example.com` } }
    }),
    '/params/environmentUrl'
  )
  illFormed(
    t,
    await b.request({
      method: 'PUT',
      url: `/v1/connections/${id}/credentials`,
      body: { params: { ...base.auth.params, password: `${SECRET}${LONE}` } }
    }),
    '/params/password'
  )
  illFormed(t, await b.request({ method: 'PATCH', url: `/v1/connections/${id}`, body: { name: `n${LONE}` } }), '/name')
  illFormed(
    t,
    await b.request({ method: 'PATCH', url: `/v1/connections/${id}`, body: { description: `d${LONE}` } }),
    '/description'
  )
  illFormed(
    t,
    await b.request({ method: 'GET', url: `/v1/connections/${id}`, headers: { 'x-sandbox-name': LONE } }),
    'header.x-sandbox-name'
  )

  // Over the wire a lone surrogate in a URL can only be percent-encoded (CESU-8 bytes, not valid UTF-8).
  const list = problem(t, await b.request({ method: 'GET', url: '/v1/connections?name=%ED%A0%80' }), 400)
  t.same(
    list.errors?.map((e) => e.path),
    ['query.name']
  )
  const audit = problem(t, await b.request({ method: 'GET', url: '/v1/audit?%ED%A0%80=1' }), 400)
  t.match(audit.errors?.[0]?.path, /^query\./)
  const path = problem(t, await b.request({ method: 'GET', url: '/v1/connections/%ED%A0%80' }), 400)
  t.same(
    path.errors?.map((e) => e.path),
    ['path']
  )
  const rename = problem(
    t,
    await b.request({ method: 'PATCH', url: '/v1/connections/%ED%A0%80', body: { name: 'x' } }),
    400
  )
  t.same(
    rename.errors?.map((e) => e.path),
    ['path']
  )

  const state = await b.request({ method: 'GET', url: `/v1/connections/${id}` })
  t.equal(state.json<{ name: string }>().name, base.name, 'nothing was changed')
  t.notOk((await b.dumpDatabase()).includes(SECRET), 'the secret reached no table')
  t.notOk(b.logs().includes(SECRET), 'the secret reached no log')
})

void t.test('nothing here logged at error level', async (t) => {
  t.same(errorLines(b), [])
})
