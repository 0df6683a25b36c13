// The budgeted FlowServiceClient against the emulator: a 429 pauses every caller for Retry-After, a call the budget
// refuses fails as retryable without reaching Flow Service, and in a whole broker the poller and API requests
// draw on the same budget.
import t from 'tap'
import { budgetFlowServiceClient, REQUEST_BUDGET_CODE } from '../../src/flow-service/budgeted-flow-service-client.js'
import { createFlowServiceClient, type FlowServiceClient } from '../../src/flow-service/flow-service-client.js'
import { FlowServiceError } from '../../src/flow-service/flow-service-error.js'
import { RequestBudget } from '../../src/flow-service/request-budget.js'
import { startEmulator, type RunningEmulator } from '../../src/emulator/emulator.js'
import type { RequestLogEntry } from '../../src/emulator/types.js'
import { loadConfig } from '../../src/config.js'
import { waitFor } from '../support/poller-scene.js'
import { SEED_BODIES } from '../support/seed-bodies.js'
import { startTestBroker } from '../support/test-broker.js'

interface Teardown {
  teardown: (fn: () => Promise<void> | void) => void
}

async function budgetedClient(
  t: Teardown,
  emulator: RunningEmulator,
  budget: RequestBudget,
  defaultRetryAfterMs = 5000
): Promise<{ client: FlowServiceClient; refusals: () => number }> {
  let refusals = 0
  const inner = createFlowServiceClient({
    url: emulator.flowServiceUrl,
    imsUrl: emulator.imsUrl,
    ...emulator.credentials,
    scopes: 'openid,AdobeID',
    timeoutMs: 5000
  })
  const client = budgetFlowServiceClient(inner, budget, {
    defaultRetryAfterMs,
    onRefused: () => {
      refusals++
    }
  })
  t.teardown(client.close)
  await client.ping() // a token now, so the calls under test are connection calls only
  return { client, refusals: () => refusals }
}

async function rejection(promise: Promise<unknown>): Promise<unknown> {
  return await promise.then(
    () => undefined,
    (err: unknown) => err
  )
}

const entries = (emulator: RunningEmulator, operation: string): RequestLogEntry[] =>
  emulator.control.recentRequests().filter((r) => r.operation === operation && r.query !== 'count=true')

void t.test('budgeted Flow Service client', async (t) => {
  const emulator = await startEmulator({ readyDelayMs: 0 })
  t.teardown(emulator.close)
  const [id] = emulator.control.seed({ count: 1, sandboxName: 'prod' })
  if (id === undefined) throw new Error('no seed')

  void t.test('a 429 answered to one call holds every later call, of any operation, until Retry-After', async (t) => {
    emulator.control.reset({ keepTokens: true })
    const [c] = emulator.control.seed({ count: 1, sandboxName: 'prod' })
    const { client } = await budgetedClient(t, emulator, new RequestBudget({ ratePerSecond: 0, maxWaitMs: 10000 }))
    emulator.control.injectFault('list', { kind: 'rate-limit', retryAfterSeconds: 1 })

    const err = await rejection(client.listConnections('prod', { ids: [c ?? ''] }))
    t.match(err, { status: 429, kind: 'retryable' })
    t.ok(await client.getConnection('prod', c ?? ''), 'the next call goes through, once the pause is over')

    const [throttled] = entries(emulator, 'list')
    const [next] = entries(emulator, 'get')
    if (throttled === undefined || next === undefined) throw new Error('requests missing from the log')
    t.ok(
      next.at >= throttled.at + 1000,
      `the GET reached Flow Service ${next.at - throttled.at} ms after the 429, Retry-After was 1000`
    )
  })

  void t.test('a 429 without Retry-After pauses for the default', async (t) => {
    emulator.control.reset({ keepTokens: true })
    const [c] = emulator.control.seed({ count: 1, sandboxName: 'prod' })
    const budget = new RequestBudget({ ratePerSecond: 0, maxWaitMs: 10000 })
    const { client } = await budgetedClient(t, emulator, budget, 300)
    emulator.control.injectFault('get', { kind: 'rate-limit', emptyBody: true })
    const before = Date.now()

    t.match(await rejection(client.getConnection('prod', c ?? '')), { status: 429 })
    t.ok((budget.pausedUntil() ?? 0) >= before + 300, 'paused for the default')
  })

  void t.test(
    'a call the budget would hold too long fails at once as retryable, and never reaches Flow Service',
    async (t) => {
      emulator.control.reset({ keepTokens: true })
      const [c] = emulator.control.seed({ count: 1, sandboxName: 'prod' })
      const { client, refusals } = await budgetedClient(
        t,
        emulator,
        new RequestBudget({ ratePerSecond: 0, maxWaitMs: 100 })
      )
      emulator.control.injectFault('get', { kind: 'rate-limit', retryAfterSeconds: 30 })
      await rejection(client.getConnection('prod', c ?? ''))
      const before = emulator.control.callCounts()

      const err = await rejection(client.createConnection('prod', SEED_BODIES.salesforceBasicWithUrl))

      t.ok(err instanceof FlowServiceError, 'a FlowServiceError, which callers already handle')
      t.match(err, { kind: 'retryable', code: REQUEST_BUDGET_CODE, operation: 'createConnection' })
      t.ok(
        err instanceof FlowServiceError && (err.retryAfterMs ?? 0) > 29000,
        'Retry-After is what is left of the pause'
      )
      t.same(emulator.control.callCounts(), before, 'nothing was sent')
      t.equal(refusals(), 1)
    }
  )

  void t.test('a list of no ids costs nothing, even while paused', async (t) => {
    const budget = new RequestBudget({ ratePerSecond: 0, maxWaitMs: 0 })
    const { client } = await budgetedClient(t, emulator, budget)
    budget.pause(60000)
    t.same(await client.listConnections('prod', { ids: [] }), { items: [] })
  })

  void t.test('close() releases callers waiting for the budget', async (t) => {
    const budget = new RequestBudget({ ratePerSecond: 0, maxWaitMs: 60000 })
    const { client } = await budgetedClient(t, emulator, budget)
    budget.pause(60000)
    const waiting = rejection(client.getConnection('prod', id))
    await client.close()
    t.match(await waiting, { kind: 'retryable', code: REQUEST_BUDGET_CODE })
  })
})

void t.test('each replica paces itself at FLOW_SERVICE_MAX_RPS / BROKER_REPLICAS', async (t) => {
  t.equal(loadConfig({ FLOW_SERVICE_MAX_RPS: '60', BROKER_REPLICAS: '3' }).flowServiceRatePerSecond, 20)
  t.equal(loadConfig({}).flowServiceRatePerSecond, 50, 'default: 50 calls a second, one replica')
  t.equal(loadConfig({ FLOW_SERVICE_MAX_RPS: '0', BROKER_REPLICAS: '4' }).flowServiceRatePerSecond, 0, '0: unpaced')
  t.throws(() => loadConfig({ BROKER_REPLICAS: '0' }), /BROKER_REPLICAS/)
  t.throws(() => loadConfig({ FLOW_SERVICE_MAX_RPS: '-1' }), /FLOW_SERVICE_MAX_RPS/)
})

void t.test('in a broker, a 429 the poller got holds an API request’s call to Flow Service too', async (t) => {
  const tb = await startTestBroker(t, { readyDelayMs: 60000 })
  const first = await tb.request({ method: 'POST', url: '/v1/connections', body: SEED_BODIES.salesforceBasicWithUrl })
  t.equal(first.statusCode, 201, first.body)
  tb.emulator.control.injectFault('list', { kind: 'rate-limit', retryAfterSeconds: 2 })
  await waitFor('the poller to meet the 429', () => tb.emulator.control.pendingFaults().length === 0)

  const second = await tb.request({
    method: 'POST',
    url: '/v1/connections',
    body: { ...SEED_BODIES.salesforceBasicWithUrl, name: 'second' }
  })

  t.equal(second.statusCode, 201, 'the create waited and succeeded')
  const throttled = tb.emulator.control.recentRequests().find((r) => r.operation === 'list' && r.status === 429)
  const creates = entries(tb.emulator, 'create')
  const create = creates[creates.length - 1]
  if (throttled === undefined || create === undefined) throw new Error('requests missing from the log')
  t.ok(
    create.at >= throttled.at + 2000,
    `the create reached Flow Service ${create.at - throttled.at} ms after the poller's 429 (Retry-After 2000)`
  )
})
