// Property-based: thousands of malformed and adversarial requests (bodies, headers, query strings, path ids) at
// every route of the OpenAPI document. Never a 5xx; every refusal is problem+json; no secret ever comes back.
import { randomBytes } from 'node:crypto'
import fc from 'fast-check'
import t from 'tap'
import { salesforceBody } from '../support/lifecycle-fixtures.js'
import { startTestBroker } from '../support/test-broker.js'

const b = await startTestBroker(t, {
  poller: false,
  reconciler: false,
  readyDelayMs: 0,
  env: { API_RATE_LIMIT_PER_MINUTE: '0', UNAUTH_RATE_LIMIT_PER_MINUTE: '0' }
})

// A real connection, so ids can hit something; its secrets must never come back.
const existingBody = salesforceBody()
const existing = (await b.request({ method: 'POST', url: '/v1/connections', body: existingBody })).json<{
  id: string
}>()
const SECRETS = new Set<string>([existingBody.auth.params.password, existingBody.auth.params.securityToken])

/** Secret values the generated bodies carry in secret params: long and random, so a match is a real echo. */
const secretValue = fc.constant(null).map(() => {
  const value = `S3cr3t-${randomBytes(12).toString('hex')}`
  SECRETS.add(value)
  return value
})

const doc = b.app.swagger() as { paths: Record<string, Record<string, unknown>> }
const ROUTES = Object.entries(doc.paths).flatMap(([path, methods]) =>
  Object.keys(methods).map((method) => ({ method: method.toUpperCase(), path }))
)
t.ok(ROUTES.length >= 8, `${ROUTES.length} routes from the OpenAPI document`)

const anyText = fc.oneof(
  fc.string({ maxLength: 40 }),
  fc.string({ unit: 'binary', maxLength: 40 }),
  fc.constantFrom('', ' ', '%', '%00', '../', '\u0000', 'null', '[]', '{}', 'constructor', '__proto__', 'a'.repeat(600))
)
const pathId = fc.oneof(
  fc.constant(existing.id),
  fc.uuid(),
  anyText.map((s) => encodeURIComponent(s)),
  fc.constant('01900000-0000-7000-8000-000000000000')
)
const query = fc
  .dictionary(
    fc.oneof(
      fc.constantFrom(
        'limit',
        'cursor',
        'state',
        'name',
        'flowConnectionId',
        'connectionSpecId',
        'sandboxName',
        'team',
        'since',
        'until',
        'action',
        'actor',
        'outcome',
        'connectionId'
      ),
      fc.string({ maxLength: 12 })
    ),
    fc.oneof(
      anyText,
      fc.integer().map(String),
      fc.constantFrom('-1', '0', '101', '1e3', 'NaN', 'enabled', 'Yzk6eA', 'true')
    ),
    { maxKeys: 4 }
  )
  .map((q) => new URLSearchParams(q).toString())

/** Valid-looking create bodies with one part replaced by anything, secrets always in the secret params. */
const mutatedCreate = fc
  .record({
    password: secretValue,
    securityToken: secretValue,
    field: fc.constantFrom(
      'name',
      'description',
      'auth',
      'auth.specName',
      'auth.params',
      'auth.params.environmentUrl',
      'auth.params.username',
      'connectionSpec',
      'connectionSpec.id',
      'connectionSpec.version',
      'extra',
      'none'
    ),
    value: fc.oneof(fc.anything({ maxDepth: 2 }), anyText)
  })
  .map(({ password, securityToken, field, value }) => {
    const body = JSON.parse(JSON.stringify(salesforceBody({ password, securityToken }))) as Record<string, unknown>
    if (field === 'none') return body
    const parts = field.split('.')
    let target: Record<string, unknown> = body
    for (const part of parts.slice(0, -1)) target = target[part] as Record<string, unknown>
    target[parts.at(-1) ?? ''] = value
    return body
  })
const rotation = fc
  .record({
    password: secretValue,
    extra: fc.dictionary(fc.string({ maxLength: 10 }), fc.oneof(anyText, fc.anything({ maxDepth: 1 })), { maxKeys: 3 })
  })
  .map(({ password, extra }) => ({ params: { ...extra, ...existingBody.auth.params, password } }))

const body = fc.oneof(
  fc.constant(undefined),
  anyText,
  fc.json({ maxDepth: 3 }),
  mutatedCreate.map((v) => JSON.stringify(v)),
  rotation.map((v) => JSON.stringify(v)),
  fc
    .record(
      {
        name: fc.oneof(anyText, fc.anything({ maxDepth: 1 })),
        description: fc.oneof(anyText, fc.constant(null), fc.anything({ maxDepth: 1 }))
      },
      { requiredKeys: [] }
    )
    .map((v) => JSON.stringify(v)),
  // Broken JSON around a secret: the syntax error must not quote it.
  secretValue.map((s) => `{"auth":{"params":{"password":"${s}" "securityToken": }`)
)
const headerValue = fc.string({ unit: 'grapheme-ascii', maxLength: 60 }).filter((s) => !/[\r\n]/.test(s))
const headers = fc.record(
  {
    'content-type': fc.oneof(
      { weight: 6, arbitrary: fc.constant('application/json') },
      {
        weight: 2,
        arbitrary: fc.constantFrom(
          'application/json; charset=utf-8',
          'application/merge-patch+json',
          'text/plain',
          'application/x-www-form-urlencoded',
          'multipart/form-data; boundary=x',
          ''
        )
      },
      { weight: 1, arbitrary: headerValue }
    ),
    'idempotency-key': headerValue,
    'x-sandbox-name': fc.oneof(fc.constantFrom('prod', 'dev-1', 'PROD', ''), headerValue),
    'x-request-id': headerValue,
    'if-match': headerValue,
    accept: fc.constantFrom('*/*', 'application/json', 'text/html', 'application/xml')
  },
  { requiredKeys: ['content-type'] }
)
const auth = fc.oneof(
  { weight: 8, arbitrary: fc.constant(b.adminKey) },
  { weight: 1, arbitrary: fc.constant(null) },
  { weight: 1, arbitrary: headerValue.filter((s) => s.trim() !== '') }
)

const request = fc.record({ route: fc.constantFrom(...ROUTES), id: pathId, query, body, headers, auth })

let sent = 0
const statuses = new Map<number, number>()

void t.test('no request, however malformed, gets a 5xx, a non-problem error, or a secret back', async (t) => {
  await fc.assert(
    fc.asyncProperty(request, async (r) => {
      const url = r.route.path.replace(/\{[^}]+\}/g, r.id) + (r.query === '' ? '' : `?${r.query}`)
      const res = await b.app.inject({
        method: r.route.method as 'GET',
        url,
        headers: { ...r.headers, ...(r.auth === null ? {} : { authorization: `Bearer ${r.auth}` }) },
        ...(r.body !== undefined && r.route.method !== 'GET' ? { payload: r.body } : {})
      })
      sent++
      statuses.set(res.statusCode, (statuses.get(res.statusCode) ?? 0) + 1)
      if (res.statusCode >= 500)
        throw new Error(`${r.route.method} ${url} answered ${res.statusCode}: ${res.body.slice(0, 300)}`)
      if (res.statusCode >= 400) {
        if (!String(res.headers['content-type']).startsWith('application/problem+json'))
          throw new Error(`${r.route.method} ${url}: ${res.statusCode} is ${String(res.headers['content-type'])}`)
        const problem = res.json<Record<string, unknown>>()
        for (const member of ['type', 'title', 'status', 'detail'])
          if (!(member in problem)) throw new Error(`${r.route.method} ${url}: problem without ${member}`)
        if (problem.status !== res.statusCode)
          throw new Error(`${r.route.method} ${url}: problem status ${String(problem.status)} on a ${res.statusCode}`)
      }
      const answer = res.body + JSON.stringify(res.headers)
      for (const secret of SECRETS)
        if (answer.includes(secret)) throw new Error(`${r.route.method} ${url} echoed a secret`)
    }),
    { numRuns: 2500, seed: Number(process.env.FUZZ_SEED ?? Date.now() % 2 ** 31), endOnFailure: true }
  )
  t.comment(`${sent} requests; statuses ${JSON.stringify(Object.fromEntries([...statuses].sort(([a], [c]) => a - c)))}`)
  t.ok(sent >= 2500)
})

void t.test('text PostgreSQL cannot hold (NUL) is a 400 wherever it comes in, never a 500', async (t) => {
  const nul = '\u0000'
  const requests = [
    { method: 'GET', url: '/v1/connections?sandboxName=%00' },
    { method: 'GET', url: '/v1/connections?name=a%00b' },
    { method: 'GET', url: '/v1/connections?flowConnectionId=%00' },
    { method: 'POST', url: '/v1/connections', body: salesforceBody({ name: `a${nul}b` }) },
    { method: 'POST', url: '/v1/connections', body: salesforceBody({ description: nul }) },
    { method: 'POST', url: '/v1/connections', body: salesforceBody({ username: `user${nul}` }) },
    { method: 'PATCH', url: `/v1/connections/${existing.id}`, body: { name: `x${nul}` } }
  ] as const
  for (const r of requests) {
    const res = await b.request(r)
    t.equal(res.statusCode, 400, `${r.method} ${r.url} ${'body' in r ? JSON.stringify(r.body).slice(0, 60) : ''}`)
    t.equal(res.headers['content-type'], 'application/problem+json; charset=utf-8')
  }
})

void t.test('and no secret from those requests reached a log line or a table', async (t) => {
  const logs = b.logs()
  const dump = await b.dumpDatabase()
  const leaked = [...SECRETS].filter((s) => logs.includes(s) || dump.includes(s))
  t.same(leaked, [], `${SECRETS.size} secret values checked`)
})
