// Hostile callers without a valid key (issue 11, item 1): a flood of wrong keys or of keyless requests is limited
// per client address before any database work (429 problem+json with RateLimit-* headers), grows the audit chain by
// a bounded number of tally rows instead of a row per request, writes no log line per request at info, never lands
// in the history of a connection it names, and leaves callers with valid keys unaffected. TRUST_PROXY decides
// whose address counts.
import type { LightMyRequestResponse } from 'fastify'
import t from 'tap'
import { loadConfig } from '../../src/config.js'
import { SEED_BODIES } from '../support/seed-bodies.js'
import { startTestBroker, type TestBroker } from '../support/test-broker.js'

const LIMIT = 5

async function from(
  b: TestBroker,
  address: string,
  url: string,
  authorization?: string,
  headers: Record<string, string> = {}
): Promise<LightMyRequestResponse> {
  return await b.app.inject({
    method: 'GET',
    url,
    remoteAddress: address,
    headers: { ...(authorization !== undefined ? { authorization } : {}), ...headers }
  })
}

const auditRows = async (b: TestBroker): Promise<number> =>
  (await b.broker.database.db.selectFrom('audit_events').select('id').execute()).length

void t.test(
  'UNAUTH_RATE_LIMIT_PER_MINUTE defaults to 60; TRUST_PROXY is off unless set, and refuses what Fastify would not honour',
  async (t) => {
    t.equal(loadConfig({}).unauthRateLimitPerMinute, 60)
    t.equal(loadConfig({ UNAUTH_RATE_LIMIT_PER_MINUTE: '0' }).unauthRateLimitPerMinute, 0)
    t.throws(() => loadConfig({ UNAUTH_RATE_LIMIT_PER_MINUTE: '-1' }), /UNAUTH_RATE_LIMIT_PER_MINUTE/)
    t.equal(loadConfig({}).trustProxy, false)
    t.equal(loadConfig({ TRUST_PROXY: 'true' }).trustProxy, true)
    t.same(loadConfig({ TRUST_PROXY: '10.0.0.0/8, 127.0.0.1,::1' }).trustProxy, ['10.0.0.0/8', '127.0.0.1', '::1'])
    for (const bad of ['2', 'proxy.internal', '10.0.0.0/33', 'yes-please'])
      t.throws(() => loadConfig({ TRUST_PROXY: bad }), /TRUST_PROXY/, bad)
  }
)

void t.test(
  'a wrong-key flood from one address: limited before the key lookup, counted into tally rows, no connection history, no info log per request',
  async (t) => {
    // No key cache: every request with a key needs a lookup, as when a cached entry has just expired.
    const b = await startTestBroker(t, {
      poller: false,
      env: { UNAUTH_RATE_LIMIT_PER_MINUTE: String(LIMIT), API_KEY_CACHE_TTL_MS: '0' }
    })
    const db = b.broker.database.db
    const crm = await b.createKey('crm', ['connections:read', 'connections:write', 'audit:read'])
    const created = await b.request({
      method: 'POST',
      url: '/v1/connections',
      key: crm,
      body: SEED_BODIES.oracleServiceCloud
    })
    const id = created.json<{ id: string }>().id
    t.equal(
      (await from(b, '203.0.113.9', `/v1/connections/${id}`, `Bearer ${crm}`)).statusCode,
      200,
      'crm reads from the attacker’s address (a NAT they share) before the flood'
    )
    const rowsBefore = await auditRows(b)

    const FLOOD = 200
    const LEGIT = 20
    const [answers, legit] = await Promise.all([
      Promise.all(
        Array.from(
          { length: FLOOD },
          async (_, i) =>
            await from(b, '203.0.113.9', `/v1/connections/${id}`, `Bearer cbk_wrong-${i}`, {
              'x-request-id': `flood-${i}`
            })
        )
      ),
      Promise.all(
        Array.from(
          { length: LEGIT },
          async () => await from(b, '198.51.100.20', `/v1/connections/${id}`, `Bearer ${crm}`)
        )
      )
    ])
    t.same(
      legit.map((r) => r.statusCode),
      Array(LEGIT).fill(200),
      'reads with a valid key during the flood all succeed'
    )
    const statuses = answers.map((a) => a.statusCode)
    t.equal(
      statuses.filter((s) => s === 401).length,
      LIMIT,
      'only as many attempts as the limit get as far as the database, even all at once'
    )
    t.equal(
      statuses.filter((s) => s === 401).length + statuses.filter((s) => s === 429).length,
      FLOOD,
      'the rest are 429'
    )
    const refused = answers.find((a) => a.statusCode === 429)
    if (refused === undefined) throw new Error('no 429')
    t.match(refused.headers['content-type'], /^application\/problem\+json/)
    t.match(refused.json(), { status: 429, type: /rate-limited/, detail: /without a valid API key from this address/ })
    t.notOk(refused.body.includes('cbk_wrong'), 'the key sent is not echoed')
    t.equal(refused.headers['ratelimit-limit'], String(LIMIT))
    t.equal(refused.headers['ratelimit-remaining'], '0')
    const retryAfter = Number(refused.headers['retry-after'])
    t.ok(
      retryAfter >= 1 && retryAfter <= 60 && refused.headers['ratelimit-reset'] === String(retryAfter),
      `Retry-After ${retryAfter} s, the same as RateLimit-Reset`
    )
    const firstRefusal = answers.find((a) => a.statusCode === 401)
    t.equal(firstRefusal?.headers['ratelimit-limit'], String(LIMIT), 'a 401 counted against the limit says so too')

    const fresh = await b.createKey('crm', ['connections:read'])
    t.equal(
      (await from(b, '203.0.113.9', `/v1/connections/${id}`, `Bearer ${fresh}`)).statusCode,
      429,
      'refused before the lookup: a valid key the replica has not looked up yet is refused from that address too'
    )
    t.equal(
      (await from(b, '198.51.100.4', `/v1/connections/${id}`, `Bearer ${fresh}`)).statusCode,
      200,
      'another address is not limited'
    )
    t.equal(
      (await from(b, '203.0.113.9', `/v1/connections/${id}`, `Bearer ${crm}`)).statusCode,
      200,
      'a key found valid before the flood is still looked up, and served, from the flooding address'
    )

    t.equal(await auditRows(b), rowsBefore + LEGIT + 2, 'only the successful reads wrote rows')
    await b.app.denialTally.flush({ all: true })
    const tally = await db.selectFrom('audit_events').selectAll().where('action', '=', 'auth.denied').execute()
    t.ok(
      tally.length >= 2 && tally.length <= 4,
      `${tally.length} tally rows (two reasons, perhaps across a minute boundary) for ${FLOOD + 1} refusals`
    )
    t.equal(
      tally.reduce((sum, r) => sum + Number(r.detail?.count), 0),
      FLOOD + 1,
      'every refusal counted'
    )
    t.ok(
      tally.every((r) => r.connection_id === null && r.detail?.source === '203.0.113.9'),
      'from the flooding address, naming no connection'
    )
    t.notOk(JSON.stringify(tally).includes(id), 'the id in the URL is in no tally row')

    const history = await b.request({ method: 'GET', url: `/v1/audit?connectionId=${id}&limit=100`, key: crm })
    t.same(
      history.json<{ items: Array<{ actor: string }> }>().items.filter((i) => i.actor === 'anonymous'),
      [],
      'crm’s connection history holds none of it'
    )

    const floodLines = b
      .logs()
      .split('\n')
      .filter((l) => /"reqId":"flood-/.test(l))
      .map((l) => JSON.parse(l) as { level: number; msg: string })
    const atInfo = floodLines.filter((l) => l.level >= 30)
    t.ok(
      atInfo.every((l) => /counted into one audit row per minute/.test(l.msg)),
      'at info and above, only the line that opens a tally bucket'
    )
    t.ok(atInfo.length <= 4, `${atInfo.length} such lines for ${FLOOD} requests`)
  }
)

void t.test(
  'keyless and malformed requests: limited per address with RateLimit-* headers; 0 turns the limit off',
  async (t) => {
    const b = await startTestBroker(t, { poller: false, env: { UNAUTH_RATE_LIMIT_PER_MINUTE: String(LIMIT) } })
    const seen: number[] = []
    for (let i = 0; i < LIMIT; i++) {
      const res = await from(b, '192.0.2.10', '/v1/connections', i % 2 === 0 ? undefined : 'Basic dXNlcjpwYXNz')
      seen.push(res.statusCode)
      t.equal(
        res.headers['ratelimit-remaining'],
        String(LIMIT - 1 - i),
        `request ${i + 1}: RateLimit-Remaining counts down`
      )
    }
    t.same(seen, Array(LIMIT).fill(401), 'within the limit: 401, no key or a header that is not Bearer')
    const over = await from(b, '192.0.2.10', '/v1/connections')
    t.equal(over.statusCode, 429)
    t.ok(Number(over.headers['retry-after']) >= 1)
    t.equal((await from(b, '192.0.2.11', '/v1/connections')).statusCode, 401, 'another address has its own budget')
    t.equal((await from(b, '192.0.2.10', '/health/live')).statusCode, 200, 'open routes are not limited')
    t.equal(
      (await from(b, '192.0.2.10', '/v1/connections', `Bearer ${b.adminKey}`)).statusCode,
      200,
      'a valid key is not limited by its address'
    )

    const off = await startTestBroker(t, { poller: false, env: { UNAUTH_RATE_LIMIT_PER_MINUTE: '0' } })
    const statuses = new Set<number>()
    for (let i = 0; i < 3 * LIMIT; i++)
      statuses.add((await from(off, '192.0.2.10', '/v1/connections', `Bearer cbk_wrong-${i}`)).statusCode)
    t.same([...statuses], [401], 'with 0: every attempt is looked up and refused, none limited')
  }
)

void t.test(
  'TRUST_PROXY: off, X-Forwarded-For is ignored; naming the proxy, the forwarded address is the client',
  async (t) => {
    const ignoring = await startTestBroker(t, { poller: false, env: { UNAUTH_RATE_LIMIT_PER_MINUTE: '2' } })
    const spoofed: number[] = []
    for (let i = 0; i < 4; i++)
      spoofed.push(
        (await from(ignoring, '127.0.0.1', '/v1/connections', undefined, { 'x-forwarded-for': `198.51.100.${i}` }))
          .statusCode
      )
    t.same(spoofed, [401, 401, 429, 429], 'a fresh forwarded address per request does not escape the limit')

    const behindProxy = await startTestBroker(t, {
      poller: false,
      env: { UNAUTH_RATE_LIMIT_PER_MINUTE: '2', TRUST_PROXY: '127.0.0.1' }
    })
    const clientA: number[] = []
    for (let i = 0; i < 3; i++)
      clientA.push(
        (await from(behindProxy, '127.0.0.1', '/v1/connections', undefined, { 'x-forwarded-for': '198.51.100.1' }))
          .statusCode
      )
    t.same(clientA, [401, 401, 429], 'each client behind the proxy has its budget')
    t.equal(
      (await from(behindProxy, '127.0.0.1', '/v1/connections', undefined, { 'x-forwarded-for': '198.51.100.2' }))
        .statusCode,
      401,
      'another client behind the same proxy is not limited by the first'
    )
    t.equal(
      (await from(behindProxy, '192.0.2.99', '/v1/connections', undefined, { 'x-forwarded-for': '198.51.100.1' }))
        .statusCode,
      401,
      'a sender that is not the proxy is its own client, whatever it forwards'
    )
  }
)
