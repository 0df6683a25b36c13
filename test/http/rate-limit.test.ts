// Per-key rate limit on the API: over budget → 429 problem+json with Retry-After, for that key only, without
// an audit row per refused request (a flood must not become a flood of writes). Per replica, in memory.
import t from 'tap'
import { loadConfig } from '../../src/config.js'
import { startTestBroker } from '../support/test-broker.js'

void t.test('API_RATE_LIMIT_PER_MINUTE defaults to 600 and must be a whole number ≥ 0', async (t) => {
  t.equal(loadConfig({}).apiRateLimitPerMinute, 600)
  t.equal(loadConfig({ API_RATE_LIMIT_PER_MINUTE: '30' }).apiRateLimitPerMinute, 30)
  t.throws(() => loadConfig({ API_RATE_LIMIT_PER_MINUTE: '-1' }), /API_RATE_LIMIT_PER_MINUTE/)
  t.throws(() => loadConfig({ API_RATE_LIMIT_PER_MINUTE: 'many' }), /API_RATE_LIMIT_PER_MINUTE/)
})

void t.test('a key over its budget gets 429 with Retry-After; other keys carry on', async (t) => {
  const b = await startTestBroker(t, { poller: false, env: { API_RATE_LIMIT_PER_MINUTE: '3' } })
  const busy = await b.createKey('crm', ['connections:read'])
  const calm = await b.createKey('crm', ['connections:read'])
  for (let i = 1; i <= 3; i++)
    t.equal(
      (await b.request({ method: 'GET', url: '/v1/connections', key: busy })).statusCode,
      200,
      `request ${i} of 3`
    )

  const auditRowsBefore = (await b.broker.database.db.selectFrom('audit_events').select('id').execute()).length
  const refused = await b.request({ method: 'GET', url: '/v1/connections', key: busy })
  t.equal(refused.statusCode, 429)
  t.match(refused.headers['content-type'], /^application\/problem\+json/)
  t.match(refused.json(), { status: 429, type: /rate-limited/, detail: /Retry in \d+ s/ })
  const retryAfter = Number(refused.headers['retry-after'])
  t.ok(
    Number.isInteger(retryAfter) && retryAfter >= 1 && retryAfter <= 20,
    `Retry-After ${String(refused.headers['retry-after'])}: seconds until one token (60 s / 3 at most)`
  )
  t.equal(
    (await b.broker.database.db.selectFrom('audit_events').select('id').execute()).length,
    auditRowsBefore,
    'a refused request writes no audit row'
  )

  t.equal(
    (await b.request({ method: 'GET', url: '/v1/connections', key: calm })).statusCode,
    200,
    'another key has its own budget'
  )
  t.equal(
    (await b.request({ method: 'GET', url: '/health/live', key: busy })).statusCode,
    200,
    'open routes are not limited'
  )
})

void t.test('0 turns the limit off', async (t) => {
  const b = await startTestBroker(t, { poller: false, env: { API_RATE_LIMIT_PER_MINUTE: '0' } })
  const key = await b.createKey('crm', ['connections:read'])
  const statuses = new Set<number>()
  // One more than the default budget, so a limit left on would show.
  for (let i = 0; i < 601; i++)
    statuses.add((await b.request({ method: 'GET', url: '/v1/connection-specs', key })).statusCode)
  t.same([...statuses], [200])
})
