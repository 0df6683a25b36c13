// The control API over HTTP (/_emulator/...), for tests that drive a standalone emulator from another process.
import t from 'tap'
import { answer, fetchToken, harness, salesforceBody } from './helpers.js'

void t.test('HTTP control API', async (t) => {
  const h = await harness(t)
  const control = async (method: string, path: string, body?: unknown): ReturnType<typeof answer> =>
    await answer(
      await fetch(`${h.emu.origin}/_emulator${path}`, {
        method,
        ...(body === undefined ? {} : { headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) })
      })
    )

  void t.test('GET /health', async (t) => {
    t.same((await control('GET', '/health')).json, { status: 'ok' })
  })

  void t.test('POST /seed creates connections and returns their ids', async (t) => {
    const res = await control('POST', '/seed', { count: 3, sandboxName: 'qa', namePrefix: 'qa-' })
    t.equal(res.status, 201)
    const body = res.json as { count: number; ids: string[] }
    t.equal(body.count, 3)
    const list = await h.flow('GET', '/connections', { sandbox: 'qa' })
    t.same(
      (list.json as { items: Array<{ name: string; state: string }> }).items.map((c) => [c.name, c.state]),
      [
        ['qa-0', 'enabled'],
        ['qa-1', 'enabled'],
        ['qa-2', 'enabled']
      ]
    )
  })

  void t.test('POST /seed refuses a bad body with 400', async (t) => {
    t.equal((await control('POST', '/seed', { count: -1 })).status, 400)
    t.equal((await control('POST', '/seed', { count: 1, connectionSpecId: 'nope' })).status, 400)
  })

  void t.test('GET /connections and /connections/:id show stored values, secrets in clear', async (t) => {
    const { id } = await h.create()
    const all = await control('GET', '/connections?sandbox=prod')
    t.ok((all.json as { items: Array<{ id: string }> }).items.some((c) => c.id === id))
    const one = await control('GET', `/connections/${id}`)
    t.match(one.json, { id, auth: { params: { password: 'hunter2-very-secret' } } })
    t.equal((await control('GET', '/connections/nope')).status, 404)
  })

  void t.test('PUT /connections/:id/state forces a state', async (t) => {
    const { id } = await h.create()
    const res = await control('PUT', `/connections/${id}/state`, { state: 'disabled' })
    t.equal(res.status, 200)
    t.equal((await h.read(id)).state, 'disabled')
    t.equal((await control('PUT', '/connections/nope/state', { state: 'disabled' })).status, 404)
    t.equal((await control('PUT', `/connections/${id}/state`, {})).status, 400)
  })

  void t.test('PUT /connections/:id/test-result sets what /test answers', async (t) => {
    const { id } = await h.create()
    await control('PUT', `/connections/${id}/test-result`, { result: false })
    t.same((await h.flow('GET', `/connections/${id}/test`)).json, { result: false })
  })

  void t.test('DELETE /connections/:id deletes behind the broker’s back', async (t) => {
    const { id } = await h.create()
    t.equal((await control('DELETE', `/connections/${id}`)).status, 204)
    t.equal((await h.flow('GET', `/connections/${id}`)).status, 404)
  })

  void t.test('POST /faults queues a fault, GET lists, DELETE clears', async (t) => {
    const res = await control('POST', '/faults', {
      operation: 'create',
      fault: { kind: 'status', status: 503 },
      count: 2
    })
    t.equal(res.status, 201)
    t.same((await control('GET', '/faults')).json, {
      items: [{ operation: 'create', fault: { kind: 'status', status: 503 }, remaining: 2 }]
    })
    t.equal((await h.flow('POST', '/connections', { body: salesforceBody() })).status, 503)
    t.equal((await control('DELETE', '/faults?operation=create')).status, 204)
    t.same((await control('GET', '/faults')).json, { items: [] })
    t.equal((await h.flow('POST', '/connections', { body: salesforceBody() })).status, 201)
  })

  void t.test('POST /faults refuses unknown operations and kinds', async (t) => {
    t.equal((await control('POST', '/faults', { operation: 'explode', fault: { kind: 'reset' } })).status, 400)
    t.equal((await control('POST', '/faults', { operation: 'get', fault: { kind: 'meteor' } })).status, 400)
    t.equal((await control('POST', '/faults', 'not json')).status, 400)
  })

  void t.test('POST /faults takes the new kinds, and refuses one that cannot apply to the operation', async (t) => {
    const { id } = await h.create({ name: 'over http' })
    t.equal(
      (await control('POST', '/faults', { operation: 'get', fault: { kind: 'odd-200', body: 'empty-items' } })).status,
      201
    )
    const odd = await h.flow('GET', `/connections/${id}`)
    t.same(odd.json, { items: [] })
    t.match(h.emu.control.recentRequests().at(-1), { operation: 'get', status: 200, fault: 'odd-200' })
    const refused = await control('POST', '/faults', { operation: 'get', fault: { kind: 'same-id' } })
    t.equal(refused.status, 400)
    t.match(refused.json, { error: /same-id.*create/ })
    t.equal(
      (await control('POST', '/faults', { operation: 'create', fault: { kind: 'echo', encodings: [] } })).status,
      400,
      'echo needs an encoding'
    )
    t.equal(
      (
        await control('POST', '/faults', {
          operation: 'create',
          fault: { kind: 'late-landing', delayMs: 60_000, answer: '504' }
        })
      ).status,
      201
    )
    t.equal((await h.flow('POST', '/connections', { body: salesforceBody({ name: 'lands over http' }) })).status, 504)
    t.match((await control('GET', '/landings')).json, { items: [{ name: 'lands over http', sandboxName: 'prod' }] })
    const landed = (await control('POST', '/landings/land')).json as { ids: string[] }
    t.equal(landed.ids.length, 1)
    t.equal((await h.read(landed.ids[0] as string)).name, 'lands over http')
    t.same((await control('GET', '/landings')).json, { items: [] })
  })

  void t.test('PUT /chaos turns chaos on, GET shows it and its log, DELETE turns it off', async (t) => {
    const options = { seed: 7, rate: 1, kinds: ['status'], maxDelayMs: 10 }
    t.same((await control('PUT', '/chaos', options)).json, { options })
    t.ok([500, 502, 503, 504].includes((await h.flow('GET', '/connections')).status))
    t.match((await control('GET', '/chaos')).json, {
      options,
      log: [{ request: 1, operation: 'list', kind: 'status', fault: { kind: 'status' } }]
    })
    t.equal((await control('DELETE', '/chaos')).status, 204)
    t.same((await control('GET', '/chaos')).json, { options: null, log: [] })
    t.equal((await h.flow('GET', '/connections')).status, 200)
    t.equal((await control('PUT', '/chaos', { seed: 1, rate: 1.5 })).status, 400)
    t.equal((await control('PUT', '/chaos', { seed: 1, rate: 0.5, kinds: ['meteor'] })).status, 400)
  })

  void t.test('PUT /ready-delay changes how long new connections initialize', async (t) => {
    t.same((await control('PUT', '/ready-delay', { readyDelayMs: 60_000 })).json, { readyDelayMs: 60_000 })
    t.same((await control('GET', '/ready-delay')).json, { readyDelayMs: 60_000 })
    const { id } = await h.create()
    t.equal((await h.read(id)).state, 'initializing')
    await control('PUT', '/ready-delay', { readyDelayMs: 0 })
  })

  void t.test('POST /tokens/expire and /tokens/revoke', async (t) => {
    const token = ((await fetchToken(h.emu)).json as { access_token: string }).access_token
    t.equal((await control('POST', '/tokens/revoke', { token })).status, 204)
    const revoked = await h.flow('GET', '/connections', { headers: { authorization: `Bearer ${token}` } })
    t.equal(revoked.status, 401)
    t.equal((await control('POST', '/tokens/expire')).status, 204)
    t.equal((await h.flow('GET', '/connections')).status, 401, 'the harness token expired too')
    t.equal((await control('POST', '/tokens/revoke')).status, 204, 'no body revokes all')
  })

  void t.test('GET /calls and /requests report what clients did, never secrets or tokens', async (t) => {
    const calls = (await control('GET', '/calls')).json as Record<string, number>
    t.same(Object.keys(calls).sort(), ['create', 'delete', 'get', 'list', 'test', 'token', 'update'])
    t.ok((calls.create ?? 0) > 0)
    const requests = await control('GET', '/requests')
    const items = (requests.json as { items: Array<Record<string, unknown>> }).items
    t.ok(items.length > 0)
    t.match(items.at(-1), { at: Number, method: String, path: String, query: String })
    t.notMatch(requests.text, 'hunter2-very-secret')
    t.notMatch(requests.text, h.token)
    t.notMatch(requests.text, h.emu.credentials.clientSecret)
    t.notMatch(requests.text, /Bearer/)
  })

  void t.test('control calls are not counted or logged as Flow Service traffic', async (t) => {
    const before = h.emu.control.recentRequests().length
    await control('GET', '/calls')
    t.equal(h.emu.control.recentRequests().length, before)
  })

  void t.test('unknown control routes are 404', async (t) => {
    t.equal((await control('GET', '/nothing')).status, 404)
    t.equal((await control('PATCH', '/connections/x')).status, 405)
  })

  void t.test('POST /reset forgets everything, tokens too unless keepTokens=true', async (t) => {
    const token = await fetchToken(h.emu).then((r) => (r.json as { access_token: string }).access_token)
    await control('POST', '/faults', { operation: 'get', fault: { kind: 'reset' } })
    await control('PUT', '/chaos', { seed: 1, rate: 0.5 })
    t.equal((await control('POST', '/reset?keepTokens=true')).status, 204)
    t.same(h.emu.control.storedConnections(), [])
    t.same(h.emu.control.pendingFaults(), [])
    t.same(h.emu.control.recentRequests(), [])
    t.equal(h.emu.control.chaos(), null)
    t.equal(h.emu.control.callCounts().create, 0)
    const kept = await h.flow('GET', '/connections', { headers: { authorization: `Bearer ${token}` } })
    t.equal(kept.status, 200)
    await control('POST', '/reset')
    const gone = await h.flow('GET', '/connections', { headers: { authorization: `Bearer ${token}` } })
    t.equal(gone.status, 401)
  })
})

void t.test('the request log is bounded and redacts a client_secret sent in a query', async (t) => {
  const h = await harness(t, { requestLogSize: 3 })
  for (let i = 0; i < 5; i++) await h.flow('GET', `/connections?limit=${i + 1}`)
  const log = h.emu.control.recentRequests()
  t.same(
    log.map((e) => e.query),
    ['limit=3', 'limit=4', 'limit=5'],
    'the oldest entries go first'
  )
  t.match(log[0], {
    method: 'GET',
    path: '/data/foundation/flowservice/connections',
    sandbox: 'prod',
    operation: 'list',
    status: 200
  })

  await fetch(`${h.emu.imsUrl}/ims/token/v3?client_secret=leaked`, { method: 'POST' }).then(
    async (r) => await r.arrayBuffer()
  )
  t.notMatch(JSON.stringify(h.emu.control.recentRequests()), 'leaked')
})
