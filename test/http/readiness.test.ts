// Readiness follows what the broker cannot serve without (database, secret store): Flow Service down leaves every
// replica ready, with Flow Service's state in the body and in broker_dependency_up, and reads still answered.
import t from 'tap'
import { SEED_BODIES } from '../support/seed-bodies.js'
import { startTestBroker } from '../support/test-broker.js'

interface Readiness {
  ready: boolean
  checks: Record<string, { ok: boolean; required: boolean; error?: string }>
}

const b = await startTestBroker(t, {
  poller: false,
  reconciler: false,
  readyDelayMs: 0,
  env: { FLOW_SERVICE_TIMEOUT_MS: '500' }
})

/** The value of one sample line, e.g. `name{a="b"}`; undefined when absent. */
function sample(text: string, series: string): number | undefined {
  const line = text.split('\n').find((l) => l.startsWith(series + ' '))
  return line === undefined ? undefined : Number(line.slice(series.length + 1))
}

void t.test('everything up: ready, each dependency listed with whether readiness depends on it', async (t) => {
  const res = await b.request({ method: 'GET', url: '/health/ready', key: null })
  t.equal(res.statusCode, 200)
  t.same(res.json<Readiness>(), {
    ready: true,
    checks: {
      database: { ok: true, required: true },
      secretStore: { ok: true, required: true },
      flowService: { ok: true, required: false }
    }
  })
  const metrics = (await b.request({ method: 'GET', url: '/metrics', key: null })).body
  for (const dependency of ['database', 'secretStore', 'flowService']) {
    t.equal(sample(metrics, `broker_dependency_up{dependency="${dependency}"}`), 1, dependency)
  }
})

void t.test(
  'Flow Service down: still ready, the body and /metrics say Flow Service is down, reads still work',
  async (t) => {
    const created = await b.request({
      method: 'POST',
      url: '/v1/connections',
      body: SEED_BODIES.salesforceBasicWithUrl
    })
    t.equal(created.statusCode, 201, created.body)
    const id = created.json<{ id: string }>().id

    b.emulator.control.injectFault('list', { kind: 'status', status: 503 }, 1000)
    t.teardown(() => {
      b.emulator.control.clearFaults()
    })
    const res = await b.request({ method: 'GET', url: '/health/ready', key: null })
    t.equal(res.statusCode, 200, 'a load balancer keeps this replica')
    const body = res.json<Readiness>()
    t.equal(body.ready, true)
    t.match(body.checks, {
      database: { ok: true },
      secretStore: { ok: true },
      flowService: { ok: false, required: false }
    })
    t.match(body.checks.flowService?.error, /Flow Service ping failed \(retryable: HTTP 503/, 'says what failed')

    const metrics = (await b.request({ method: 'GET', url: '/metrics', key: null })).body
    t.equal(sample(metrics, 'broker_dependency_up{dependency="flowService"}'), 0, 'down in /metrics')
    t.equal(sample(metrics, 'broker_dependency_up{dependency="database"}'), 1)

    t.equal((await b.request({ method: 'GET', url: `/v1/connections/${id}` })).statusCode, 200, 'reads are served')
    t.equal(
      (await b.request({ method: 'GET', url: `/v1/audit?connectionId=${id}` })).statusCode,
      200,
      'audit is served'
    )
  }
)

void t.test("IMS refusing the broker's credentials is said in so many words", async (t) => {
  b.emulator.control.injectFault(
    'token',
    { kind: 'reject', code: 'invalid_client', message: 'invalid client_secret parameter' },
    1000
  )
  b.emulator.control.expireTokens()
  t.teardown(() => {
    b.emulator.control.clearFaults()
  })
  const body = (await b.request({ method: 'GET', url: '/health/ready', key: null })).json<Readiness>()
  t.equal(body.ready, true)
  t.match(body.checks.flowService, {
    ok: false,
    error: /IMS refused the broker's credentials \(invalid_client\): check IMS_CLIENT_ID, IMS_CLIENT_SECRET/
  })
})

void t.test('the database down: not ready', async (t) => {
  // Last: it closes the broker's database.
  await b.broker.database.close()
  const res = await b.request({ method: 'GET', url: '/health/ready', key: null })
  t.equal(res.statusCode, 503)
  t.match(res.json<Readiness>(), { ready: false, checks: { database: { ok: false, required: true } } })
})
