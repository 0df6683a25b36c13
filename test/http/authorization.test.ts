// Who may call what, on every /v1 route the app documents (new routes join the matrix by themselves):
// 401 without a key, with a wrong key and with a revoked key; 403 without the route's scope; 404 across teams on
// every route that names a connection. Refusals of a valid key are audit rows of their own; refusals without one
// are counted into tally rows (per source, reason and minute) that never name a connection. Lists never cross teams.
import type { Kysely } from 'kysely'
import t from 'tap'
import { v7 as uuidv7 } from 'uuid'
import { SCOPES, type Scope } from '../../src/auth/scopes.js'
import type { AuditEventRow, Database } from '../../src/db/schema.js'
import { SEED_BODIES } from '../support/seed-bodies.js'
import { startTestBroker, type TestBroker } from '../support/test-broker.js'
import { urlOf, v1Operations, type V1Operation } from '../support/v1-operations.js'

const NON_ADMIN: Scope[] = SCOPES.filter((s) => s !== 'admin')

/** The audit row a request left; a refusal leaves exactly one (a count instead when it left none or several). */
async function auditRowOf(db: Kysely<Database>, requestId: string): Promise<AuditEventRow | { rows: number }> {
  const rows = await db.selectFrom('audit_events').selectAll().where('request_id', '=', requestId).execute()
  return rows.length === 1 && rows[0] !== undefined ? rows[0] : { rows: rows.length }
}

async function send(
  b: TestBroker,
  op: V1Operation,
  url: string,
  key: string | null,
  requestId: string,
  extraHeaders: Record<string, string> = {}
) {
  return await b.request({
    method: op.method,
    url,
    key,
    body: op.body,
    headers: { ...op.headers, 'x-request-id': requestId, ...extraHeaders }
  })
}

void t.test('every /v1 route', async (t) => {
  const b = await startTestBroker(t, { poller: false })
  const db = b.broker.database.db
  const ops = await v1Operations(b.app)
  const names = ops.map((op) => `${op.method} ${op.path}`)
  for (const known of [
    'POST /v1/connections',
    'GET /v1/connections/{id}',
    'GET /v1/connections/{id}/events',
    'GET /v1/audit',
    'GET /v1/audit/verify',
    'POST /v1/api-keys',
    'GET /v1/api-keys',
    'DELETE /v1/api-keys/{id}'
  ]) {
    t.ok(names.includes(known), `the matrix covers ${known}`)
  }
  t.same(
    ops.filter((op) => !op.needsKey).map((op) => op.operationId),
    [],
    'every /v1 route documents that it needs a key'
  )

  const crmWriter = await b.createKey('crm', ['connections:read', 'connections:write'])
  const created = await b.request({
    method: 'POST',
    url: '/v1/connections',
    key: crmWriter,
    body: SEED_BODIES.salesforceBasicWithUrl
  })
  t.equal(created.statusCode, 201, 'crm has a connection')
  const crmConnection = created.json<{ id: string; name: string; state: string }>()
  const billing = await b.createKey('billing', NON_ADMIN)

  const issued = await b.request({
    method: 'POST',
    url: '/v1/api-keys',
    body: { team: 'crm', name: 'soon revoked', scopes: NON_ADMIN }
  })
  const revokedKey = issued.json<{ id: string; key: string }>()
  t.equal(
    (await b.request({ method: 'DELETE', url: `/v1/api-keys/${revokedKey.id}` })).statusCode,
    204,
    'a key revoked before the matrix runs'
  )

  const keysWithout = new Map<string, string>()
  const keyWithout = async (scope: string): Promise<string> => {
    let key = keysWithout.get(scope)
    if (key === undefined) {
      key = await b.createKey(
        'crm',
        NON_ADMIN.filter((s) => s !== scope)
      )
      keysWithout.set(scope, key)
    }
    return key
  }
  const ids = { connectionId: crmConnection.id, otherId: uuidv7() }
  /** Refusals without a valid key, by reason: they become tally rows, not rows of their own. */
  const tallied = new Map<string, number>()

  for (const op of ops) {
    void t.test(`${op.method} ${op.path}`, async (t) => {
      const url = urlOf(op, ids)
      const tag = `${op.operationId}-${uuidv7()}`

      const refusals: Array<{ why: string; key: string | null; status: number; reason: string }> = [
        { why: 'without a key', key: null, status: 401, reason: 'no key' },
        {
          why: 'with a wrong key',
          key: 'cbk_not-a-key-this-broker-ever-issued',
          status: 401,
          reason: 'unknown or revoked key'
        },
        { why: 'with a revoked key', key: revokedKey.key, status: 401, reason: 'unknown or revoked key' }
      ]
      for (const r of refusals) {
        const requestId = `${tag}-${r.status}-${r.why.replaceAll(' ', '-')}`
        const res = await send(b, op, url, r.key, requestId)
        t.equal(res.statusCode, 401, `401 ${r.why}`)
        t.match(res.headers['content-type'], /^application\/problem\+json/, `problem+json ${r.why}`)
        t.match(res.json(), { status: 401, type: /unauthorized/ })
        t.same(
          await auditRowOf(db, requestId),
          { rows: 0 },
          `no row of its own ${r.why}: counted into the tally instead`
        )
        tallied.set(r.reason, (tallied.get(r.reason) ?? 0) + 1)
      }

      const scope = op.scopes[0]
      if (scope !== undefined) {
        const requestId = `${tag}-403`
        const res = await send(b, op, url, await keyWithout(scope), requestId)
        t.equal(res.statusCode, 403, `403 without ${scope}`)
        t.match(res.json(), { status: 403, detail: new RegExp(scope) })
        t.match(
          await auditRowOf(db, requestId),
          { actor_team: 'crm', outcome: 'denied', detail: { status: 403, missingScope: scope } },
          'the 403 is audited'
        )
      }

      // With its scope (or none, for routes any key may call), on an id that names nothing, the route gets past
      // authorization and changes nothing.
      const allowed = await send(
        b,
        op,
        op.path.replace(/\{[^}]+\}/g, ids.otherId),
        await b.createKey('crm', op.scopes as Scope[]),
        `${tag}-allowed`
      )
      t.notOk(
        [401, 403].includes(allowed.statusCode),
        `with ${op.scopes.join(', ') || 'any key'} the key is let through (${allowed.statusCode})`
      )

      if (op.namesConnection) {
        const requestId = `${tag}-404`
        const res = await send(b, op, url, billing, requestId)
        t.equal(res.statusCode, 404, 'another team gets 404, as for a connection that does not exist')
        t.match(res.json(), { status: 404, type: /not-found/ })
        t.notMatch(res.body, /crm/, 'nothing about the owner leaks')
        t.match(
          await auditRowOf(db, requestId),
          { actor_team: 'billing', connection_id: crmConnection.id, outcome: 'denied', detail: { status: 404 } },
          'the 404 is audited as a denied attempt'
        )
      }
    })
  }

  void t.test(
    'refusals without a valid key are one tally row per source and reason, naming no connection',
    async (t) => {
      await b.app.denialTally.flush({ all: true })
      const rows = await db.selectFrom('audit_events').selectAll().where('action', '=', 'auth.denied').execute()
      t.same(
        [...new Set(rows.map((r) => String(r.detail?.reason)))].sort(),
        [...tallied.keys()].sort(),
        'a row for each reason'
      )
      t.equal(
        new Set(rows.map((r) => `${String(r.detail?.reason)} ${String(r.detail?.from)}`)).size,
        rows.length,
        'one row per reason and minute (one source)'
      )
      for (const [reason, count] of tallied) {
        const mine = rows.filter((r) => r.detail?.reason === reason)
        t.equal(
          mine.reduce((sum, r) => sum + Number(r.detail?.count), 0),
          count,
          `${reason}: every refusal counted`
        )
      }
      t.ok(
        rows.every(
          (r) =>
            r.actor === 'anonymous' &&
            r.connection_id === null &&
            r.request_id === null &&
            r.detail?.source === '127.0.0.1' &&
            r.detail.status === 401
        ),
        'anonymous, from the test client, naming no connection'
      )
      t.notOk(JSON.stringify(rows).includes(crmConnection.id), 'the connection id named in the URLs is in none of them')
    }
  )

  void t.test('the other teams’ attempts left crm’s connection as it was', async (t) => {
    const res = await b.request({ method: 'GET', url: `/v1/connections/${crmConnection.id}`, key: crmWriter })
    t.equal(res.statusCode, 200)
    t.match(res.json(), { id: crmConnection.id, name: crmConnection.name, team: 'crm' })
    t.not(res.json<{ state: string }>().state, 'deleted')
  })
})

void t.test('lists never cross teams; admin keys see every team and can narrow to one', async (t) => {
  const b = await startTestBroker(t, { poller: false })
  const crm = await b.createKey('crm', ['connections:read', 'connections:write', 'audit:read'])
  const billing = await b.createKey('billing', ['connections:read', 'connections:write', 'audit:read'])
  const create = async (key: string, body: object): Promise<string> =>
    (await b.request({ method: 'POST', url: '/v1/connections', key, body })).json<{ id: string }>().id
  const crmIds = [
    await create(crm, SEED_BODIES.salesforceBasicWithUrl),
    await create(crm, SEED_BODIES.oracleServiceCloud)
  ]
  const billingIds = [await create(billing, SEED_BODIES.marketingCloud)]
  const listed = async (key: string, query = ''): Promise<string[]> => {
    const ids: string[] = []
    let cursor: string | null = null
    do {
      const res = await b.request({
        method: 'GET',
        url: `/v1/connections?limit=1${query}${cursor !== null ? `&cursor=${cursor}` : ''}`,
        key
      })
      t.equal(res.statusCode, 200)
      const page = res.json<{ items: Array<{ id: string }>; nextCursor: string | null }>()
      ids.push(...page.items.map((c) => c.id))
      cursor = page.nextCursor
    } while (cursor !== null)
    return ids.sort()
  }

  t.same(await listed(crm), [...crmIds].sort(), 'crm sees its own, page after page')
  t.same(await listed(billing), billingIds, 'billing sees its own')
  t.same(await listed(billing, '&team=crm'), billingIds, 'a team key asking for another team still sees only its own')
  t.same(
    await listed(billing, `&name=${encodeURIComponent(SEED_BODIES.salesforceBasicWithUrl.name)}`),
    [],
    'a filter matching only another team’s connection finds nothing'
  )
  t.same(await listed(b.adminKey), [...crmIds, ...billingIds].sort(), 'admin sees every team')
  t.same(await listed(b.adminKey, '&team=crm'), [...crmIds].sort(), 'admin narrows to one team')

  const audit = (await b.request({ method: 'GET', url: '/v1/audit?limit=100', key: billing })).json<{
    items: Array<{ actorTeam: string | null; connectionId: string | null }>
  }>()
  t.ok(audit.items.length > 0, 'billing has audit rows of its own')
  t.ok(
    audit.items.every((row) => row.actorTeam === 'billing'),
    'billing’s audit reader sees only billing’s rows'
  )
  t.notOk(
    audit.items.some((row) => row.connectionId !== null && crmIds.includes(row.connectionId)),
    'and nothing about crm’s connections'
  )
  const probing = (
    await b.request({ method: 'GET', url: `/v1/audit?connectionId=${crmIds[0] ?? ''}`, key: billing })
  ).json<{ items: unknown[] }>()
  t.same(probing.items, [], 'asking for crm’s connection by id shows billing nothing of crm’s')
})
