// HTTP conventions beyond the resources: WWW-Authenticate on 401 (RFC 6750), 405 with Allow for a known path and
// the wrong method, RateLimit-* fields on every answer of a limited route, and cursor paging with Link rel="next".
import t, { type Test } from 'tap'
import { eventually, salesforceBody } from '../support/lifecycle-fixtures.js'
import { startTestApp, startTestBroker } from '../support/test-broker.js'

interface Page {
  items: Array<{ id: string; to?: string }>
  nextCursor: string | null
}

const b = await startTestApp(t, { readyDelayMs: 0 })

void t.test(
  '401 always challenges with Bearer; a bad key or header says invalid_token / invalid_request',
  async (t) => {
    const none = await b.request({ method: 'GET', url: '/v1/connections', key: null })
    t.equal(none.statusCode, 401)
    t.equal(none.headers['www-authenticate'], 'Bearer realm="credential-broker"', 'no credential: no error code')

    const unknown = await b.request({ method: 'GET', url: '/v1/connections', key: 'cbk_not-a-key' })
    t.equal(unknown.statusCode, 401)
    t.match(unknown.headers['www-authenticate'], /^Bearer realm="credential-broker", error="invalid_token"/)

    const basic = await b.request({
      method: 'GET',
      url: '/v1/connections',
      key: null,
      headers: { authorization: 'Basic dXNlcjpwYXNz' }
    })
    t.equal(basic.statusCode, 401)
    t.match(basic.headers['www-authenticate'], /^Bearer realm="credential-broker", error="invalid_request"/)
  }
)

void t.test(
  'a known path with a method it does not take: 405 problem with Allow; unknown paths stay 404',
  async (t) => {
    const put = await b.app.inject({ method: 'PUT', url: '/v1/connections' })
    t.equal(put.statusCode, 405)
    t.equal(put.headers.allow, 'GET, HEAD, POST')
    t.match(put.headers['content-type'], /^application\/problem\+json/)
    t.match(put.json(), { status: 405, type: /method-not-allowed/, detail: /\/v1\/connections does not take PUT/ })

    const id = '0192f0c4-0000-7000-8000-000000000000'
    const post = await b.app.inject({ method: 'POST', url: `/v1/connections/${id}` })
    t.equal(post.statusCode, 405)
    t.equal(post.headers.allow, 'DELETE, GET, HEAD, PATCH')
    t.equal((await b.app.inject({ method: 'DELETE', url: `/v1/connections/${id}/events` })).headers.allow, 'GET, HEAD')

    const unknown = await b.app.inject({ method: 'PUT', url: '/v1/nothing-here' })
    t.equal(unknown.statusCode, 404)
    t.notOk(unknown.headers.allow)
    t.equal((await b.app.inject({ method: 'GET', url: `/v1/connections/${id}/nothing` })).statusCode, 404)
  }
)

void t.test(
  'a rate-limited key gets RateLimit-* on its answers, 200 and 429 alike, and Retry-After on 429',
  async (t) => {
    const rb = await startTestBroker(t, { poller: false, reconciler: false, env: { API_RATE_LIMIT_PER_MINUTE: '3' } })
    const key = await rb.createKey('crm', ['connections:read'])
    const first = await rb.request({ method: 'GET', url: '/v1/connections', key })
    t.equal(first.statusCode, 200)
    t.match(first.headers, {
      'ratelimit-limit': '3',
      'ratelimit-remaining': '2',
      'ratelimit-policy': '3;w=60'
    })
    const reset = Number(first.headers['ratelimit-reset'])
    t.ok(
      reset >= 1 && reset <= 20,
      `RateLimit-Reset ${String(first.headers['ratelimit-reset'])}: one request to refill`
    )
    t.equal((await rb.request({ method: 'GET', url: '/v1/connections', key })).headers['ratelimit-remaining'], '1')
    await rb.request({ method: 'GET', url: '/v1/connections', key })
    const refused = await rb.request({ method: 'GET', url: '/v1/connections', key })
    t.equal(refused.statusCode, 429)
    t.match(refused.headers, { 'ratelimit-limit': '3', 'ratelimit-remaining': '0', 'ratelimit-policy': '3;w=60' })
    t.ok(Number(refused.headers['ratelimit-reset']) >= Number(refused.headers['retry-after']))
    t.ok(Number(refused.headers['retry-after']) >= 1, 'Retry-After stays')
    t.notOk(
      (await rb.request({ method: 'GET', url: '/health/live', key })).headers['ratelimit-limit'],
      'open routes are not limited, so say nothing'
    )
  }
)

void t.test('addresses without a valid key: their 429 carries RateLimit-* with the policy', async (t) => {
  const rb = await startTestBroker(t, { poller: false, reconciler: false, env: { UNAUTH_RATE_LIMIT_PER_MINUTE: '1' } })
  rb.app.log.level = 'silent'
  await rb.request({ method: 'GET', url: '/v1/connections', key: null })
  const refused = await rb.request({ method: 'GET', url: '/v1/connections', key: null })
  t.equal(refused.statusCode, 429)
  t.match(refused.headers, { 'ratelimit-limit': '1', 'ratelimit-remaining': '0', 'ratelimit-policy': '1;w=60' })
  t.ok(refused.headers['retry-after'])
})

/** Follows Link rel="next" from `url` to the last page, checking it beside nextCursor on each. */
async function walk(t: Test, url: string): Promise<Page['items']> {
  const items: Page['items'] = []
  for (let next: string | undefined = url, pages = 0; next !== undefined && pages < 50; pages++) {
    const res = await b.request({ method: 'GET', url: next })
    t.equal(res.statusCode, 200, `${next}: ${res.body}`)
    const page = res.json<Page>()
    items.push(...page.items)
    const link = res.headers.link as string | undefined
    if (page.nextCursor === null) {
      t.notOk(link, 'no Link on the last page')
      next = undefined
    } else {
      const target = /^<([^>]+)>; rel="next"$/.exec(link ?? '')?.[1]
      t.ok(target, `Link rel="next" beside nextCursor: ${String(link)}`)
      t.equal(new URL(target ?? '', 'http://x').searchParams.get('cursor'), page.nextCursor, 'its cursor is nextCursor')
      next = target
    }
  }
  return items
}

void t.test('connection events are paged like the list: limit, cursor, nextCursor and Link', async (t) => {
  const created = (await b.request({ method: 'POST', url: '/v1/connections', body: salesforceBody() })).json<{
    id: string
    flowConnectionId: string
  }>()
  await eventually(() =>
    b.emulator.control.storedConnection(created.flowConnectionId)?.state === 'enabled' ? true : undefined
  )
  await b.waitForState(created.id, 'enabled')
  const all = (await b.request({ method: 'GET', url: `/v1/connections/${created.id}/events` })).json<Page>()
  t.ok(all.items.length >= 3, `pending → initializing → enabled: ${all.items.length} events`)
  t.equal(all.nextCursor, null, 'all of them fit the default page')

  const paged = await walk(t, `/v1/connections/${created.id}/events?limit=1`)
  t.same(paged, all.items, 'one page at a time, the same events in the same order')

  const bad = await b.request({ method: 'GET', url: `/v1/connections/${created.id}/events?cursor=bm9wZQ` })
  t.equal(bad.statusCode, 400)
  t.match(bad.json(), { errors: [{ path: 'query.cursor' }] })
})

void t.test('the connection list, the audit history and the API keys put Link beside nextCursor', async (t) => {
  for (let i = 0; i < 3; i++) await b.request({ method: 'POST', url: '/v1/connections', body: salesforceBody() })
  const listed = await walk(t, '/v1/connections?sandboxName=prod&limit=2')
  t.ok(listed.length >= 3)
  const res = await b.request({ method: 'GET', url: '/v1/connections?sandboxName=prod&limit=2' })
  t.match(res.headers.link, /^<\/v1\/connections\?sandboxName=prod&limit=2&cursor=[^>]+>; rel="next"$/, 'filters kept')

  const audit = await b.request({ method: 'GET', url: '/v1/audit?limit=1' })
  t.match(audit.headers.link, /^<\/v1\/audit\?limit=1&cursor=[^>]+>; rel="next"$/)

  await b.createKey('crm', ['connections:read'])
  await b.createKey('crm', ['connections:read'])
  const keys = await b.request({ method: 'GET', url: '/v1/api-keys?limit=1' })
  t.match(keys.headers.link, /^<\/v1\/api-keys\?limit=1&cursor=[^>]+>; rel="next"$/)
})
