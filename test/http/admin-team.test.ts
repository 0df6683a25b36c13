// Admin keys belong to no team a caller can name (issue 11, item 8): they used to live in an ordinary team
// (`platform`, `dev` in dev mode), so a plain key issued for that team saw the admins' audit rows and connections.
import t from 'tap'
import { SEED_BODIES } from '../support/seed-bodies.js'
import { startTestBroker } from '../support/test-broker.js'

void t.test('a plain key of the team admins used to be in sees nothing of theirs', async (t) => {
  const b = await startTestBroker(t, { poller: false })
  const adminConnection = await b.request({
    method: 'POST',
    url: '/v1/connections',
    body: SEED_BODIES.oracleServiceCloud
  })
  t.equal(adminConnection.statusCode, 201)
  const adminConnectionId = adminConnection.json<{ id: string }>().id
  t.equal(
    (
      await b.request({
        method: 'POST',
        url: '/v1/api-keys',
        body: { team: 'crm', name: 'granted', scopes: ['connections:read'] }
      })
    ).statusCode,
    201,
    'the admin grants a key: an api_key.create row'
  )

  for (const team of ['dev', 'platform']) {
    const issued = await b.request({
      method: 'POST',
      url: '/v1/api-keys',
      body: { team, name: `${team} reader`, scopes: ['connections:read', 'audit:read'] }
    })
    t.equal(issued.statusCode, 201, `a key for team ${team}`)
    const key = issued.json<{ key: string }>().key
    const audit = await b.request({ method: 'GET', url: '/v1/audit?action=api_key.create', key })
    t.same(audit.json<{ items: unknown[] }>().items, [], `${team} sees no admin api_key.create row`)
    const listed = await b.request({ method: 'GET', url: '/v1/connections', key })
    t.same(listed.json<{ items: unknown[] }>().items, [], `${team} lists none of the admin's connections`)
    t.equal(
      (await b.request({ method: 'GET', url: `/v1/connections/${adminConnectionId}`, key })).statusCode,
      404,
      `${team} cannot read one`
    )
  }
  const own = await b.request({ method: 'GET', url: `/v1/connections/${adminConnectionId}` })
  t.match(
    own.json(),
    { id: adminConnectionId, team: '*admin*' },
    'the admin’s connection is filed under the reserved team'
  )
})

void t.test('admin keys take no team; team names that would collide are refused', async (t) => {
  const b = await startTestBroker(t, { poller: false })
  const admin = await b.request({
    method: 'POST',
    url: '/v1/api-keys',
    body: { name: 'second operator', scopes: ['admin'] }
  })
  t.equal(admin.statusCode, 201, 'an admin key without a team')
  t.match(admin.json(), { team: '*admin*', scopes: ['admin'], sandboxes: null })
  t.equal(
    (
      await b.request({
        method: 'POST',
        url: '/v1/api-keys',
        body: { team: 'crm', name: 'crm', scopes: ['connections:read'] }
      })
    ).statusCode,
    201
  )

  const cases: Array<{ why: string; body: Record<string, unknown>; status: number; detail: RegExp }> = [
    {
      why: 'the reserved team itself',
      body: { team: '*admin*', scopes: ['connections:read'] },
      status: 400,
      detail: /not valid/
    },
    {
      why: 'a team that reads as the admins’',
      body: { team: 'Admin', scopes: ['connections:read'] },
      status: 400,
      detail: /"Admin" is reserved/
    },
    {
      why: 'an admin key with a team',
      body: { team: 'platform', scopes: ['admin'] },
      status: 400,
      detail: /admin keys belong to no team/
    },
    { why: 'a key without a team', body: { scopes: ['audit:read'] }, status: 400, detail: /team is required/ },
    {
      why: 'an existing team in other case',
      body: { team: 'CRM', scopes: ['connections:read'] },
      status: 409,
      detail: /Team "crm" exists/
    }
  ]
  for (const c of cases) {
    const res = await b.request({ method: 'POST', url: '/v1/api-keys', body: { name: 'n', ...c.body } })
    t.equal(res.statusCode, c.status, c.why)
    t.match(res.json(), { detail: c.detail, errors: [{ path: '/team' }] }, `${c.why}: says why, at /team`)
  }
})
