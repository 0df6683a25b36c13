// POST /v1/connections with every seed body: 201, secrets as references, and the connection reaches enabled.
// Virtual time (startTestApp): the emulator's ready delay passes as waitForState drives the poller. One broker for
// the file, its emulator reset before each test (a broker boot costs more than most tests here).
import t from 'tap'
import { SEED_BODIES } from '../support/seed-bodies.js'
import { startTestApp } from '../support/test-broker.js'

const shared = await startTestApp(t)
t.beforeEach(() => {
  shared.emulator.control.reset({ keepTokens: true })
})

void t.test('every seed body (repaired JSON) is created and reaches enabled', async (t) => {
  const b = shared
  for (const [seed, body] of Object.entries(SEED_BODIES)) {
    const res = await b.request({ method: 'POST', url: '/v1/connections', body, headers: { 'x-sandbox-name': 'prod' } })
    t.equal(res.statusCode, 201, `${seed}: 201`)
    const created = res.json<
      Record<string, unknown> & { id: string; auth: { params: Record<string, string> }; flowConnectionId: string }
    >()
    t.equal(res.headers.location, `/v1/connections/${created.id}`, `${seed}: Location`)
    t.equal(created.state, 'initializing', `${seed}: initializing right after create`)
    t.match(created.flowConnectionId, /^[0-9a-f-]{36}$/, `${seed}: Flow Service id recorded`)
    t.match(created.etag, /^".+"$/, `${seed}: etag kept with its quotes`)
    const enabled = await b.waitForState(created.id, 'enabled')
    t.equal(enabled.flowConnectionId, created.flowConnectionId, `${seed}: same downstream connection`)
  }
  // One downstream connection per create, no more.
  t.equal(b.emulator.control.storedConnections().length, Object.keys(SEED_BODIES).length)
})

void t.test('secret params are shown as references to the secret store; others in clear', async (t) => {
  const b = shared
  const res = await b.request({ method: 'POST', url: '/v1/connections', body: SEED_BODIES.salesforceOAuth })
  const created = res.json<{ id: string; auth: { params: Record<string, string> } }>()
  t.same(Object.keys(created.auth.params).sort(), ['apiVersion', 'clientId', 'clientSecret', 'environmentUrl'])
  t.equal(created.auth.params.clientSecret, `local:connections/${created.id}#clientSecret@v1`)
  t.equal(created.auth.params.clientId, 'xxxx')
  t.equal(created.auth.params.environmentUrl, 'https://acme-enterprise-3126.my.salesforce.com')
  // Flow Service got every param, the secret one in clear, and our marker in the description.
  const [downstream] = b.emulator.control.storedConnections()
  t.equal(downstream?.auth.params.clientSecret, 'xxxx')
  t.match(downstream?.description, /Salesforce account using OAuth 2 \[credential-broker:[0-9a-f-]{36}\]$/)
})

void t.test('the Service Cloud id typo from the docs is corrected, and the answer says so', async (t) => {
  const b = shared
  const res = await b.request({ method: 'POST', url: '/v1/connections', body: SEED_BODIES.serviceCloudBasic })
  t.equal(res.statusCode, 201)
  const body = res.json<{
    connectionSpec: { id: string; name: string }
    notices: Array<{ path: string; message: string }>
  }>()
  t.equal(body.connectionSpec.id, 'cb66ab34-8619-49cb-96d1-39b37ede86ea')
  t.equal(body.connectionSpec.name, 'Salesforce Service Cloud')
  t.match(body.notices, [{ path: '/connectionSpec/id', message: /cb66ab34-8619-49cb-96d1-39b37ede86ea/ }])
})

void t.test(
  'a Marketing Cloud host given as a bare subdomain or the auth URL becomes the REST host, reported',
  async (t) => {
    const b = shared
    for (const host of [
      'acme-ab12c3d4e5fg6hijk7lmnop8qrst',
      'https://acme-ab12c3d4e5fg6hijk7lmnop8qrst.auth.marketingcloudapis.com/'
    ]) {
      const body = {
        ...SEED_BODIES.marketingCloud,
        auth: { ...SEED_BODIES.marketingCloud.auth, params: { ...SEED_BODIES.marketingCloud.auth.params, host } }
      }
      const res = await b.request({ method: 'POST', url: '/v1/connections', body })
      t.equal(res.statusCode, 201, host)
      const created = res.json<{ auth: { params: Record<string, string> }; notices: Array<{ path: string }> }>()
      t.equal(created.auth.params.host, 'acme-ab12c3d4e5fg6hijk7lmnop8qrst.rest.marketingcloudapis.com', host)
      t.match(created.notices, [{ path: '/auth/params/host' }], `${host}: notice`)
    }
  }
)

void t.test('x-sandbox-name chooses the sandbox; without it the configured default is used', async (t) => {
  const b = await startTestApp(t, { env: { DEFAULT_SANDBOX_NAME: 'dev-sandbox' } })
  const a = (await b.request({ method: 'POST', url: '/v1/connections', body: SEED_BODIES.oracleServiceCloud })).json<{
    sandboxName: string
  }>()
  t.equal(a.sandboxName, 'dev-sandbox')
  const c = (
    await b.request({
      method: 'POST',
      url: '/v1/connections',
      body: SEED_BODIES.oracleServiceCloud,
      headers: { 'x-sandbox-name': 'prod' }
    })
  ).json<{ sandboxName: string }>()
  t.equal(c.sandboxName, 'prod')
  t.same(
    b.emulator.control
      .storedConnections()
      .map((x) => x.sandboxName)
      .sort(),
    ['dev-sandbox', 'prod']
  )
})

void t.test('events show each state change with who observed it', async (t) => {
  const b = shared
  const created = (await b.request({ method: 'POST', url: '/v1/connections', body: SEED_BODIES.salesforceJwt })).json<{
    id: string
  }>()
  await b.waitForState(created.id, 'enabled')
  const events = (await b.request({ method: 'GET', url: `/v1/connections/${created.id}/events` })).json<{
    items: Array<{ from: string | null; to: string; observedBy: string }>
  }>()
  t.same(
    events.items.map((e) => [e.from, e.to, e.observedBy]),
    [
      [null, 'pending', 'request'],
      ['pending', 'initializing', 'request'],
      ['initializing', 'enabled', 'poller']
    ]
  )
})

void t.test('a state changed downstream is recorded by the poller', async () => {
  const b = shared
  b.emulator.control.setReadyDelayMs(0)
  const created = (
    await b.request({ method: 'POST', url: '/v1/connections', body: SEED_BODIES.salesforceBasic })
  ).json<{ id: string; flowConnectionId: string }>()
  await b.waitForState(created.id, 'enabled')
  b.emulator.control.forceState(created.flowConnectionId, 'disabled')
  await b.waitForState(created.id, 'disabled')
})
