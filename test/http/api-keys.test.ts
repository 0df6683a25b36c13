// /v1/api-keys: an admin issues keys (shown once, kept as a hash), lists them (never the key nor its hash), and
// revokes them with effect on the very next request. Every change is audited, never with the key.
import { createHash } from 'node:crypto'
import t from 'tap'
import { v7 as uuidv7 } from 'uuid'
import { SEED_BODIES } from '../support/seed-bodies.js'
import { startTestBroker } from '../support/test-broker.js'

interface IssuedKey {
  id: string
  key: string
  team: string
  name: string
  scopes: string[]
  sandboxes: string[] | null
  connectionSpecs: string[] | null
  createdAt: string
  createdBy: string | null
  revokedAt: string | null
}

void t.test('an admin issues a key: 201 with the key, once; it acts for its team with its scopes', async (t) => {
  const b = await startTestBroker(t, { poller: false })
  const res = await b.request({
    method: 'POST',
    url: '/v1/api-keys',
    body: { team: 'crm', name: 'crm sync service', scopes: ['connections:read'] }
  })
  t.equal(res.statusCode, 201)
  const issued = res.json<IssuedKey>()
  t.match(issued, {
    id: /^[0-9a-f-]{36}$/,
    key: /^cbk_[A-Za-z0-9_-]{43}$/,
    team: 'crm',
    name: 'crm sync service',
    scopes: ['connections:read'],
    sandboxes: null,
    connectionSpecs: null,
    createdBy: /^key:/,
    revokedAt: null
  })
  t.ok(Date.parse(issued.createdAt) <= Date.now(), 'createdAt is a past instant')
  t.equal(res.headers.location, `/v1/api-keys/${issued.id}`)

  t.equal(
    (await b.request({ method: 'GET', url: '/v1/connections', key: issued.key })).statusCode,
    200,
    'the key reads'
  )
  t.equal(
    (await b.request({ method: 'POST', url: '/v1/connections', key: issued.key, body: SEED_BODIES.oracleServiceCloud }))
      .statusCode,
    403,
    'but may not write: it lacks the scope'
  )

  const dump = await b.dumpDatabase()
  t.notOk(dump.includes(issued.key), 'the key itself is stored nowhere')
  t.ok(dump.includes(createHash('sha256').update(issued.key).digest('hex')), 'only its hash')
  t.notOk(b.logs().includes(issued.key), 'nor logged')
})

void t.test(
  'the list shows who holds which key, never the key nor its hash; pages by cursor and narrows by team',
  async (t) => {
    const b = await startTestBroker(t, { poller: false })
    const issue = async (team: string, name: string): Promise<IssuedKey> =>
      (
        await b.request({
          method: 'POST',
          url: '/v1/api-keys',
          body: { team, name, scopes: ['connections:read', 'audit:read'] }
        })
      ).json<IssuedKey>()
    const alpha = [await issue('alpha', 'a1'), await issue('alpha', 'a2'), await issue('alpha', 'a3')]
    await issue('beta', 'b1')

    const seen: Array<Record<string, unknown>> = []
    let cursor: string | null = null
    let pages = 0
    do {
      const res = await b.request({
        method: 'GET',
        url: `/v1/api-keys?team=alpha&limit=2${cursor !== null ? `&cursor=${cursor}` : ''}`
      })
      t.equal(res.statusCode, 200)
      for (const k of alpha) {
        t.notOk(res.body.includes(k.key), 'no key in the answer')
        t.notOk(res.body.includes(createHash('sha256').update(k.key).digest('hex')), 'no hash either')
      }
      const page = res.json<{ items: Array<Record<string, unknown>>; nextCursor: string | null }>()
      seen.push(...page.items)
      cursor = page.nextCursor
      pages += 1
    } while (cursor !== null)
    t.equal(pages, 2, 'three keys at two a page: two pages')
    t.same(
      seen.map((k) => k.id),
      alpha.map((k) => k.id),
      'alpha’s keys in creation order, each once'
    )
    t.same(Object.keys(seen[0] ?? {}).sort(), [
      'connectionSpecs',
      'createdAt',
      'createdBy',
      'id',
      'name',
      'revokedAt',
      'sandboxes',
      'scopes',
      'team'
    ])

    const all = (await b.request({ method: 'GET', url: '/v1/api-keys?limit=100' })).json<{
      items: Array<{ team: string }>
    }>()
    t.same(
      [...new Set(all.items.map((k) => k.team))].sort(),
      ['*admin*', 'alpha', 'beta'],
      'without a filter: every team (the admin key in the reserved *admin*)'
    )

    const bad = await b.request({ method: 'GET', url: '/v1/api-keys?cursor=bm90LWEtY3Vyc29y' })
    t.equal(bad.statusCode, 400)
    t.match(bad.json(), { errors: [{ path: 'query.cursor' }] })
  }
)

void t.test(
  'revocation takes effect on the next request; revoking again changes nothing; an unknown id is 404',
  async (t) => {
    const b = await startTestBroker(t, { poller: false })
    const issued = (
      await b.request({
        method: 'POST',
        url: '/v1/api-keys',
        body: { team: 'crm', name: 'leaked', scopes: ['connections:read'] }
      })
    ).json<IssuedKey>()
    t.equal(
      (await b.request({ method: 'GET', url: '/v1/connections', key: issued.key })).statusCode,
      200,
      'works before'
    )

    const revoke = await b.request({ method: 'DELETE', url: `/v1/api-keys/${issued.id}` })
    t.equal(revoke.statusCode, 204)
    t.equal(revoke.body, '', 'no body')
    const after = await b.request({ method: 'GET', url: '/v1/connections', key: issued.key })
    t.equal(after.statusCode, 401, 'refused at once')
    t.match(after.json(), { status: 401, detail: /unknown or revoked/ })

    const listed = (await b.request({ method: 'GET', url: '/v1/api-keys?team=crm' })).json<{ items: IssuedKey[] }>()
    const revokedAt = listed.items[0]?.revokedAt
    t.match(revokedAt, /^\d{4}-\d\d-\d\dT/, 'the list shows when it was revoked')

    t.equal(
      (await b.request({ method: 'DELETE', url: `/v1/api-keys/${issued.id}` })).statusCode,
      204,
      'revoking again is fine'
    )
    const again = (await b.request({ method: 'GET', url: '/v1/api-keys?team=crm' })).json<{ items: IssuedKey[] }>()
    t.equal(again.items[0]?.revokedAt, revokedAt, 'and keeps the first revocation time')
    const revocations = await b.broker.database.db
      .selectFrom('audit_events')
      .select('id')
      .where('action', '=', 'api_key.revoke')
      .where('outcome', '=', 'success')
      .execute()
    t.equal(revocations.length, 1, 'one revocation, one audit row')

    const unknown = await b.request({ method: 'DELETE', url: `/v1/api-keys/${uuidv7()}` })
    t.equal(unknown.statusCode, 404)
    t.match(unknown.json(), { status: 404, detail: /No API key/ })
  }
)

void t.test('a bad request names each field', async (t) => {
  const b = await startTestBroker(t, { poller: false })
  const cases: Array<{ body: unknown; path: string }> = [
    { body: { name: 'n', scopes: ['connections:read'] }, path: '/team' },
    { body: { team: 'crm', scopes: ['admin'] }, path: '/name' },
    { body: { team: 'crm', name: 'n', scopes: [] }, path: '/scopes' },
    { body: { team: 'crm', name: 'n', scopes: ['connections:delete'] }, path: '/scopes/0' },
    { body: { team: 'crm', name: 'n', scopes: ['admin', 'admin'] }, path: '/scopes' },
    { body: { team: 'two words', name: 'n', scopes: ['admin'] }, path: '/team' },
    { body: { team: 'crm', name: 'n', scopes: ['admin'], key: 'cbk_chosen-by-the-caller' }, path: '/key' }
  ]
  for (const c of cases) {
    const res = await b.request({ method: 'POST', url: '/v1/api-keys', body: c.body })
    t.equal(res.statusCode, 400, JSON.stringify(c.body))
    t.match(
      res.json<{ errors: Array<{ path: string }> }>().errors.map((e) => e.path),
      [c.path],
      `names ${c.path}`
    )
  }
})

void t.test('issuing and revoking are audited: who, which key, which fields — never the key', async (t) => {
  const b = await startTestBroker(t, { poller: false })
  const issue = await b.request({
    method: 'POST',
    url: '/v1/api-keys',
    body: { team: 'crm', name: 'audited', scopes: ['audit:read', 'connections:read'] },
    headers: { 'x-request-id': 'issue-1' }
  })
  const issued = issue.json<IssuedKey>()
  await b.request({ method: 'DELETE', url: `/v1/api-keys/${issued.id}`, headers: { 'x-request-id': 'revoke-1' } })

  const page = (await b.request({ method: 'GET', url: '/v1/audit?action=api_key.create' })).json<{ items: unknown[] }>()
  t.equal(page.items.length, 2, 'this one, and the boot’s of the admin key')
  t.match(page.items, [
    {
      action: 'api_key.create',
      requestId: 'issue-1',
      outcome: 'success',
      actor: /^key:/,
      actorTeam: '*admin*',
      changedFields: ['team', 'name', 'scopes'],
      detail: { apiKeyId: issued.id, team: 'crm', scopes: ['audit:read', 'connections:read'] }
    },
    { actor: 'boot', detail: { team: '*admin*', scopes: ['admin'], bootstrap: 'dev' } }
  ])
  const revoked = (await b.request({ method: 'GET', url: '/v1/audit?action=api_key.revoke' })).json<{
    items: unknown[]
  }>()
  t.equal(revoked.items.length, 1)
  t.match(revoked.items, [
    {
      action: 'api_key.revoke',
      requestId: 'revoke-1',
      changedFields: ['revokedAt'],
      detail: { apiKeyId: issued.id, team: 'crm' }
    }
  ])

  const rows = await b.broker.database.db.selectFrom('audit_events').selectAll().execute()
  t.notOk(JSON.stringify(rows).includes(issued.key), 'the key is in no audit row')
  t.notOk(JSON.stringify(rows).includes(createHash('sha256').update(issued.key).digest('hex')), 'nor its hash')
})
