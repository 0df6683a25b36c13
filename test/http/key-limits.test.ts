// Keys limited to sandboxes and connection specs (issue 11, item 8b): a team's dev-only key cannot create in prod
// (403 naming the sandbox), never finds the team's prod connections (404 on every route that names one, absent
// from lists), and each refusal is an audit row. Keys that name no limits act everywhere, as documented.
import type { Kysely } from 'kysely'
import t from 'tap'
import type { AuditEventRow, Database } from '../../src/db/schema.js'
import { SEED_BODIES } from '../support/seed-bodies.js'
import { startTestBroker, type TestBroker } from '../support/test-broker.js'
import { urlOf, v1Operations } from '../support/v1-operations.js'

const SALESFORCE = SEED_BODIES.salesforceBasicWithUrl.connectionSpec.id
const SERVICE_CLOUD = 'cb66ab34-8619-49cb-96d1-39b37ede86ea'

interface Issued {
  id: string
  key: string
  sandboxes: string[] | null
  connectionSpecs: string[] | null
}

async function issue(b: TestBroker, body: Record<string, unknown>): Promise<Issued> {
  const res = await b.request({
    method: 'POST',
    url: '/v1/api-keys',
    body: { team: 'crm', name: 'limited', scopes: ['connections:read', 'connections:write'], ...body }
  })
  if (res.statusCode !== 201) throw new Error(`issuing failed: ${res.body}`)
  return res.json<Issued>()
}

async function auditRowsOf(db: Kysely<Database>, requestId: string): Promise<AuditEventRow[]> {
  return await db.selectFrom('audit_events').selectAll().where('request_id', '=', requestId).execute()
}

async function create(
  b: TestBroker,
  key: string,
  body: unknown,
  sandbox?: string,
  requestId?: string
): Promise<{ status: number; json: Record<string, unknown> }> {
  const res = await b.request({
    method: 'POST',
    url: '/v1/connections',
    key,
    body,
    headers: {
      ...(sandbox !== undefined ? { 'x-sandbox-name': sandbox } : {}),
      ...(requestId !== undefined ? { 'x-request-id': requestId } : {})
    }
  })
  return { status: res.statusCode, json: res.json<Record<string, unknown>>() }
}

void t.test('a key limited to sandbox dev', async (t) => {
  const b = await startTestBroker(t, { poller: false })
  const db = b.broker.database.db
  const everywhere = await issue(b, {})
  t.same(
    [everywhere.sandboxes, everywhere.connectionSpecs],
    [null, null],
    'a key that names no limits shows null: every sandbox, every spec'
  )
  const devOnly = await issue(b, { sandboxes: ['dev'] })
  t.same(devOnly.sandboxes, ['dev'], 'the answer shows the limit')

  const prod = await create(b, everywhere.key, SEED_BODIES.salesforceBasicWithUrl, 'prod')
  t.equal(prod.status, 201, 'the team has a prod connection')
  const prodId = String(prod.json.id)

  void t.test('cannot create in prod: 403 naming the sandbox, audited, nothing made', async (t) => {
    const before = await db.selectFrom('connections').select('id').execute()
    for (const [why, sandbox] of [
      ['named', 'prod'],
      ['by default (DEFAULT_SANDBOX_NAME)', undefined]
    ] as const) {
      const requestId = `create-prod-${sandbox ?? 'default'}`
      const res = await create(b, devOnly.key, SEED_BODIES.salesforceBasicWithUrl, sandbox, requestId)
      t.equal(res.status, 403, why)
      t.match(res.json, {
        status: 403,
        type: /forbidden/,
        sandboxName: 'prod',
        detail: /sandbox "prod".*"dev"/,
        errors: [{ path: 'header.x-sandbox-name' }]
      })
      t.match(
        await auditRowsOf(db, requestId),
        [
          {
            action: 'connection.create',
            outcome: 'denied',
            actor_key_id: devOnly.id,
            detail: { status: 403, sandboxName: 'prod' }
          }
        ],
        'one denial row'
      )
    }
    t.equal((await db.selectFrom('connections').select('id').execute()).length, before.length, 'no row was made')
    t.equal((await create(b, devOnly.key, SEED_BODIES.salesforceBasicWithUrl, 'dev')).status, 201, 'dev is fine')
  })

  void t.test('never finds the prod connection: 404 on every route that names it, audited', async (t) => {
    const ops = (await v1Operations(b.app)).filter((op) => op.namesConnection)
    t.ok(ops.length >= 5, 'read, events, rename, rotate, delete')
    for (const op of ops) {
      const requestId = `${op.operationId}-outside`
      const res = await b.request({
        method: op.method,
        url: urlOf(op, { connectionId: prodId, otherId: prodId }),
        key: devOnly.key,
        body: op.body,
        headers: { ...op.headers, 'x-request-id': requestId }
      })
      t.equal(res.statusCode, 404, `${op.method} ${op.path}`)
      t.match(res.json(), { status: 404, detail: `No connection ${prodId}.` }, 'exactly as for a missing one')
      t.match(
        await auditRowsOf(db, requestId),
        [{ actor_key_id: devOnly.id, connection_id: prodId, outcome: 'denied', detail: { status: 404 } }],
        'audited as a denial'
      )
    }
    const still = await b.request({ method: 'GET', url: `/v1/connections/${prodId}`, key: everywhere.key })
    t.match(
      still.json(),
      { id: prodId, sandboxName: 'prod', name: SEED_BODIES.salesforceBasicWithUrl.name },
      'and it is unchanged'
    )
  })

  void t.test('lists leave it out, whatever the filter', async (t) => {
    const list = async (key: string, query = ''): Promise<Array<{ id: string; sandboxName: string }>> =>
      (await b.request({ method: 'GET', url: `/v1/connections?limit=100${query}`, key })).json<{
        items: Array<{ id: string; sandboxName: string }>
      }>().items
    const mine = await list(devOnly.key)
    t.ok(mine.length > 0, 'it sees its dev connections')
    t.same([...new Set(mine.map((c) => c.sandboxName))], ['dev'], 'and only those')
    t.same(await list(devOnly.key, '&sandboxName=prod'), [], 'asking for prod finds nothing')
    t.ok(
      (await list(everywhere.key)).some((c) => c.id === prodId),
      'the unlimited key still lists it'
    )
  })
})

void t.test('a key limited to connection specs acts on those only; the spec is matched after correction', async (t) => {
  const b = await startTestBroker(t, { poller: false })
  const everywhere = await issue(b, {})
  const serviceCloudOnly = await issue(b, { connectionSpecs: [SERVICE_CLOUD] })
  const salesforce = await create(b, everywhere.key, SEED_BODIES.salesforceBasicWithUrl, 'prod')

  const refused = await create(b, serviceCloudOnly.key, SEED_BODIES.salesforceBasicWithUrl, 'prod', 'create-other-spec')
  t.equal(refused.status, 403)
  t.match(refused.json, {
    connectionSpecId: SALESFORCE,
    detail: new RegExp(`connection spec "${SALESFORCE}"`),
    errors: [{ path: '/connectionSpec/id' }]
  })
  t.match(await auditRowsOf(b.broker.database.db, 'create-other-spec'), [
    { outcome: 'denied', detail: { status: 403, connectionSpecId: SALESFORCE } }
  ])

  // The tutorial's body carries the mistyped id b66ab34-…, corrected to the one the key names.
  t.equal(
    (await create(b, serviceCloudOnly.key, SEED_BODIES.serviceCloudBasic, 'prod')).status,
    201,
    'its own spec, even mistyped, is fine'
  )
  t.equal(
    (
      await b.request({
        method: 'GET',
        url: `/v1/connections/${String(salesforce.json.id)}`,
        key: serviceCloudOnly.key
      })
    ).statusCode,
    404,
    'another spec’s connection is not found'
  )
})

void t.test('the key API takes, shows and checks the limits', async (t) => {
  const b = await startTestBroker(t, { poller: false })
  const limited = await issue(b, { sandboxes: ['dev', 'staging'], connectionSpecs: [SALESFORCE] })
  const listed = (await b.request({ method: 'GET', url: '/v1/api-keys?team=crm' })).json<{ items: Issued[] }>().items
  t.match(listed, [{ id: limited.id, sandboxes: ['dev', 'staging'], connectionSpecs: [SALESFORCE] }])
  const created = (await b.request({ method: 'GET', url: `/v1/audit?action=api_key.create&limit=1` })).json<{
    items: unknown[]
  }>().items
  t.match(
    created,
    [
      {
        changedFields: ['team', 'name', 'scopes', 'sandboxes', 'connectionSpecs'],
        detail: { apiKeyId: limited.id, sandboxes: ['dev', 'staging'], connectionSpecs: [SALESFORCE] }
      }
    ],
    'the grant is audited with its limits'
  )

  const cases: Array<{ body: Record<string, unknown>; status: number; path: string }> = [
    { body: { sandboxes: ['Prod'] }, status: 400, path: '/sandboxes/0' },
    { body: { sandboxes: [] }, status: 400, path: '/sandboxes' },
    { body: { connectionSpecs: ['not-a-spec'] }, status: 400, path: '/connectionSpecs/0' },
    { body: { team: undefined, scopes: ['admin'], sandboxes: ['dev'] }, status: 400, path: '/sandboxes' }
  ]
  for (const c of cases) {
    const res = await b.request({
      method: 'POST',
      url: '/v1/api-keys',
      body: { team: 'crm', name: 'n', scopes: ['connections:read'], ...c.body }
    })
    t.equal(res.statusCode, c.status, JSON.stringify(c.body))
    t.match(
      res.json<{ errors: Array<{ path: string }> }>().errors.map((e) => e.path),
      [c.path],
      `names ${c.path}`
    )
  }
})
