// FlowServiceClient against the in-process Flow Service + IMS emulator: a whole lifecycle over real HTTP.
import t from 'tap'
import { startEmulator, type RunningEmulator } from '../../src/emulator/emulator.js'
import { createFlowServiceClient, type FlowServiceClient } from '../../src/flow-service/flow-service-client.js'
import { FlowServiceError } from '../../src/flow-service/flow-service-error.js'
import type { CreateConnectionBody } from '../../src/flow-service/types.js'

async function setUp(
  t: { teardown: (fn: () => Promise<void>) => void },
  readyDelayMs = 0
): Promise<{ emulator: RunningEmulator; fs: FlowServiceClient }> {
  const emulator = await startEmulator({ readyDelayMs })
  t.teardown(emulator.close)
  const fs = createFlowServiceClient({
    url: emulator.flowServiceUrl,
    imsUrl: emulator.imsUrl,
    clientId: emulator.credentials.clientId,
    clientSecret: emulator.credentials.clientSecret,
    scopes: 'openid,AdobeID,read_organizations,additional_info.projectedProductContext,session',
    orgId: emulator.credentials.orgId,
    timeoutMs: 2000
  })
  t.teardown(fs.close)
  return { emulator, fs }
}

async function failure(promise: Promise<unknown>): Promise<FlowServiceError> {
  try {
    await promise
  } catch (err) {
    if (err instanceof FlowServiceError) return err
    throw err
  }
  throw new Error('expected a FlowServiceError')
}

const body: CreateConnectionBody = {
  name: 'Salesforce prod',
  description: 'CRM source',
  auth: {
    specName: 'Basic Authentication',
    params: {
      environmentUrl: 'https://acme.my.salesforce.com',
      username: 'integration@acme.com',
      password: 'hunter2',
      securityToken: 'tok123'
    }
  },
  connectionSpec: { id: 'cfc0fee1-7dc0-40ef-b73e-d8b134c436f5', version: '1.0' }
}

void t.test('create → get → patch with the etag → delete', async (t) => {
  const { fs } = await setUp(t)
  await fs.ping()

  const created = await fs.createConnection('prod', body)
  t.match(created.id, /\S/)

  const fetched = await fs.getConnection('prod', created.id)
  t.equal(fetched?.name, 'Salesforce prod')
  t.notOk(JSON.stringify(fetched).includes('hunter2'), 'secrets come back as references')
  const etag = fetched?.etag
  if (etag === undefined) throw new Error('enabled connection without etag')
  t.match(etag, /^".*"$/, 'the etag keeps its quotes')

  const updated = await fs.updateConnection('prod', created.id, etag, [
    { op: 'replace', path: '/name', value: 'Salesforce EU' }
  ])
  t.equal(updated.id, created.id)
  t.not(updated.etag, etag)
  t.equal((await fs.getConnection('prod', created.id))?.name, 'Salesforce EU')
  t.match(
    await failure(fs.updateConnection('prod', created.id, etag, [{ op: 'replace', path: '/name', value: 'x' }])),
    { kind: 'precondition_failed', status: 412 },
    'the old etag is stale now'
  )

  const page = await fs.listConnections('prod', { ids: [created.id, 'not-there'], limit: 100 })
  t.same(
    page.items.map((c) => c.id),
    [created.id]
  )

  t.equal(await fs.deleteConnection('prod', created.id, updated.etag), 'deleted')
  t.equal(await fs.getConnection('prod', created.id), null, "Flow Service's own 404")
  t.equal(await fs.deleteConnection('prod', created.id, updated.etag), 'not_found')
})

void t.test('an expired token costs one 401 and one new token, not a failed call', async (t) => {
  const { emulator, fs } = await setUp(t)
  await fs.ping()
  emulator.control.expireTokens()
  t.equal(await fs.getConnection('prod', 'unknown-id'), null)
  t.equal(emulator.control.callCounts().token, 2)
})

void t.test('an answer lost after the create happened is ambiguous, and the connection is there', async (t) => {
  const { emulator, fs } = await setUp(t)
  emulator.control.injectFault('create', { kind: 'lost-answer' })
  t.match(await failure(fs.createConnection('prod', body)), { kind: 'ambiguous', operation: 'createConnection' })
  const found = await fs.listConnections('prod', { name: body.name })
  t.equal(found.items.length, 1)
})

void t.test('a connection still initializing cannot be changed yet: busy', async (t) => {
  const { fs } = await setUp(t, 60_000)
  const created = await fs.createConnection('prod', body)
  t.match(await failure(fs.deleteConnection('prod', created.id, '"no-etag-yet"')), { kind: 'busy', code: '1417-400' })
})
