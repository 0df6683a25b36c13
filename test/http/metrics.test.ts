// GET /metrics: Prometheus text with request latency by route pattern, Flow Service calls by operation and status,
// secret store latency, poller sweeps, lag and transitions, pool usage and database statements; open unless
// METRICS_REQUIRE_KEY; and a registry per broker, so two brokers in one process count apart.
import t from 'tap'
import { insertTestConnection } from '../support/connection-rows.js'
import { SEED_BODIES } from '../support/seed-bodies.js'
import { startTestBroker, type TestBroker } from '../support/test-broker.js'

/** The value of one sample line, e.g. `name{a="b"}`; undefined when absent. */
function sample(text: string, series: string): number | undefined {
  const line = text.split('\n').find((l) => l.startsWith(series + ' '))
  return line === undefined ? undefined : Number(line.slice(series.length + 1))
}

async function scrape(tb: TestBroker, key?: string | null): Promise<string> {
  const res = await tb.request({ method: 'GET', url: '/metrics', key: key ?? null })
  if (res.statusCode !== 200) throw new Error(`GET /metrics answered ${res.statusCode}: ${res.body}`)
  return res.body
}

void t.test('after a create, a read and the poller noticing the connection enabled', async (t) => {
  const tb = await startTestBroker(t, { readyDelayMs: 200 })
  const created = await tb.request({ method: 'POST', url: '/v1/connections', body: SEED_BODIES.salesforceBasicWithUrl })
  t.equal(created.statusCode, 201, created.body)
  const id = created.json<{ id: string }>().id
  await tb.waitForState(id, 'enabled')
  t.equal((await tb.request({ method: 'GET', url: `/v1/connections/${id}` })).statusCode, 200)

  const res = await tb.request({ method: 'GET', url: '/metrics', key: null })
  const text = res.body

  t.equal(res.statusCode, 200, 'open by default')
  t.match(res.headers['content-type'], /^text\/plain; version=0\.0\.4/, 'Prometheus text format')
  t.notMatch(text, /^"/, 'the text itself, not a JSON string')

  t.equal(
    sample(text, 'broker_http_request_duration_seconds_count{method="POST",route="/v1/connections",status="201"}'),
    1,
    'the create, by route and status'
  )
  t.ok(
    (sample(
      text,
      'broker_http_request_duration_seconds_count{method="GET",route="/v1/connections/:id",status="200"}'
    ) ?? 0) >= 1,
    'reads under the route pattern'
  )
  t.notOk(text.includes(id), 'never a raw URL (or any connection id) in a label')

  t.equal(
    sample(text, 'broker_flow_service_requests_total{operation="createConnection",status="ok"}'),
    1,
    'downstream calls by operation and status'
  )
  t.ok(
    (sample(text, 'broker_flow_service_requests_total{operation="listConnections",status="ok"}') ?? 0) >= 1,
    'the poller’s batch calls too'
  )
  t.ok((sample(text, 'broker_flow_service_request_duration_seconds_count{operation="createConnection"}') ?? 0) >= 1)
  t.ok(
    (sample(text, 'broker_flow_service_budget_wait_seconds_count') ?? 0) >= 2,
    'every call went through the request budget'
  )

  t.equal(
    sample(text, 'broker_secret_store_duration_seconds_count{operation="write",outcome="ok"}'),
    1,
    'secret store latency by operation'
  )

  t.ok((sample(text, 'broker_poller_sweep_duration_seconds_count') ?? 0) >= 1, 'sweeps are timed')
  t.ok((sample(text, 'broker_poller_sweep_connections_sum') ?? 0) >= 1, 'and sized')
  t.ok((sample(text, 'broker_poller_polls_total{outcome="changed"}') ?? 0) >= 1)
  t.ok(sample(text, 'broker_poller_lag_seconds') !== undefined, 'poller lag')

  t.equal(
    sample(text, 'broker_connection_transitions_total{from="none",to="pending",observed_by="request"}'),
    1,
    'transitions recorded by the request'
  )
  t.equal(
    sample(text, 'broker_connection_transitions_total{from="pending",to="initializing",observed_by="request"}'),
    1
  )
  t.equal(
    sample(text, 'broker_connection_transitions_total{from="initializing",to="enabled",observed_by="poller"}'),
    1,
    'and by the poller'
  )

  t.ok((sample(text, 'broker_db_pool_connections{state="total"}') ?? 0) >= 1, 'pool usage')
  const statements = sample(text, 'broker_db_query_duration_seconds_count{outcome="ok"}') ?? 0
  t.ok(statements >= 10, `database statements counted (${statements})`)
  t.ok((sample(text, 'process_resident_memory_bytes') ?? 0) > 0, 'process metrics under their usual names')
})

void t.test('a Flow Service error is counted under its status', async (t) => {
  const tb = await startTestBroker(t, { poller: false })
  tb.emulator.control.injectFault('get', { kind: 'status', status: 503 })
  await tb.broker.flow.getConnection('prod', 'any').catch(() => {})
  t.equal(sample(await scrape(tb), 'broker_flow_service_requests_total{operation="getConnection",status="503"}'), 1)
})

void t.test('poller lag is the age of the oldest due connection, 0 when nothing is overdue', async (t) => {
  const tb = await startTestBroker(t, { poller: false })
  t.equal(sample(await scrape(tb), 'broker_poller_lag_seconds'), 0, 'nothing scheduled')
  await insertTestConnection(tb.broker.database.db, {
    next_poll_at: new Date(Date.now() + 60000),
    flow_connection_id: 'later'
  })
  t.equal(sample(await scrape(tb), 'broker_poller_lag_seconds'), 0, 'scheduled in the future: not late')
  await insertTestConnection(tb.broker.database.db, {
    next_poll_at: new Date(Date.now() - 30000),
    flow_connection_id: 'overdue'
  })
  const lag = sample(await scrape(tb), 'broker_poller_lag_seconds') ?? 0
  t.ok(lag >= 30 && lag < 300, `overdue by ${lag} s`)
})

void t.test('with METRICS_REQUIRE_KEY=true, /metrics answers any valid key and nobody else', async (t) => {
  const tb = await startTestBroker(t, { poller: false, env: { METRICS_REQUIRE_KEY: 'true' } })
  const anyKey = await tb.createKey('crm', ['connections:read'])

  t.equal((await tb.request({ method: 'GET', url: '/metrics', key: null })).statusCode, 401, 'no key')
  t.equal(
    (await tb.request({ method: 'GET', url: '/metrics', key: 'cbk_not-a-key' })).statusCode,
    401,
    'an unknown key'
  )
  const res = await tb.request({ method: 'GET', url: '/metrics', key: anyKey })
  t.equal(res.statusCode, 200, 'a key with no particular scope')
  t.match(res.body, /broker_http_request_duration_seconds/)
})

void t.test('/metrics is not part of the API document', async (t) => {
  const tb = await startTestBroker(t, { poller: false })
  const doc = (await tb.request({ method: 'GET', url: '/openapi.json', key: null })).json<{
    paths: Record<string, unknown>
  }>()
  t.notOk('/metrics' in doc.paths)
})

void t.test('two brokers in one process keep their own metrics', async (t) => {
  const a = await startTestBroker(t, { poller: false })
  const b = await startTestBroker(t, { poller: false })
  for (let i = 0; i < 3; i++) await a.request({ method: 'GET', url: '/v1/connection-specs' })

  t.equal(
    sample(
      await scrape(a),
      'broker_http_request_duration_seconds_count{method="GET",route="/v1/connection-specs",status="200"}'
    ),
    3
  )
  t.equal(
    sample(
      await scrape(b),
      'broker_http_request_duration_seconds_count{method="GET",route="/v1/connection-specs",status="200"}'
    ),
    undefined
  )
})
