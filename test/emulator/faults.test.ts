// Injected faults, per operation and count: answered errors, rate limits, held requests, lost answers, resets, delays.
import t from 'tap'
import { startEmulator } from '../../src/emulator/emulator.js'
import { fetchToken, flowHeaders, harness, mintToken, salesforceBody, sleep } from './helpers.js'

void t.test('answering faults', async (t) => {
  const h = await harness(t)
  t.afterEach(() => {
    h.emu.control.clearFaults()
  })

  void t.test('status 500 answers 1102-500 once, without creating anything', async (t) => {
    h.emu.control.injectFault('create', { kind: 'status', status: 500 })
    const failed = await h.flow('POST', '/connections', { body: salesforceBody() })
    t.equal(failed.status, 500)
    t.match(failed.json, { type: /FLOW-1102-500$/, status: 500 })
    t.equal(h.emu.control.storedConnections().length, 0)
    t.equal(
      (await h.flow('POST', '/connections', { body: salesforceBody() })).status,
      201,
      'the next call goes through'
    )
  })

  void t.test('status 503 with Retry-After, 504, and 502 in the gateway shape', async (t) => {
    h.emu.control.injectFault('get', { kind: 'status', status: 503, retryAfterSeconds: 2 })
    h.emu.control.injectFault('get', { kind: 'status', status: 504 })
    h.emu.control.injectFault('get', { kind: 'status', status: 502 })
    const a = await h.flow('GET', '/connections/x')
    t.equal(a.status, 503)
    t.equal(a.headers.get('retry-after'), '2')
    t.match((a.json as { type: string }).type, /1103-503$/)
    const b = await h.flow('GET', '/connections/x')
    t.equal(b.status, 504)
    t.match((b.json as { type: string }).type, /1104-504$/)
    const c = await h.flow('GET', '/connections/x')
    t.equal(c.status, 502)
    t.match(c.json, { error_code: String, message: String })
    t.equal((await h.flow('GET', '/connections/x')).status, 404, 'queue exhausted: normal answer')
  })

  void t.test('status 401 looks like an expired token, to test refresh-and-retry', async (t) => {
    h.emu.control.injectFault('list', { kind: 'status', status: 401 })
    const res = await h.flow('GET', '/connections')
    t.equal(res.status, 401)
    t.same(res.json, { error_code: '401013', message: 'Oauth token is not valid' })
  })

  void t.test('a count applies the fault to that many requests', async (t) => {
    h.emu.control.injectFault('list', { kind: 'status', status: 503 }, 2)
    t.equal((await h.flow('GET', '/connections')).status, 503)
    t.equal((await h.flow('GET', '/connections')).status, 503)
    t.equal((await h.flow('GET', '/connections')).status, 200)
  })

  void t.test('rate-limit: 429 with Retry-After and a gateway body', async (t) => {
    h.emu.control.injectFault('create', { kind: 'rate-limit', retryAfterSeconds: 3 })
    const res = await h.flow('POST', '/connections', { body: salesforceBody() })
    t.equal(res.status, 429)
    t.equal(res.headers.get('retry-after'), '3')
    t.match(res.json, { error_code: String, message: String })
  })

  void t.test('rate-limit with an empty body and no Retry-After, as some gateways send', async (t) => {
    h.emu.control.injectFault('get', { kind: 'rate-limit', emptyBody: true })
    const res = await h.flow('GET', '/connections/x')
    t.equal(res.status, 429)
    t.equal(res.text, '')
    t.equal(res.headers.get('retry-after'), null)
  })

  void t.test('reject: the given catalogue code with its status, and nothing done', async (t) => {
    const { id } = await h.create()
    h.emu.control.injectFault('delete', { kind: 'reject', code: '1418-400', message: 'used by flows' })
    const res = await h.flow('DELETE', `/connections/${id}`)
    t.equal(res.status, 400)
    t.match(res.json, { type: 'https://ns.adobe.com/aep/errors/FLOW-1418-400', errorMessage: 'used by flows' })
    t.ok(h.emu.control.storedConnection(id))
  })

  void t.test('token faults answer in the IMS shape', async (t) => {
    h.emu.control.injectFault('token', { kind: 'status', status: 500 })
    h.emu.control.injectFault('token', { kind: 'rate-limit', retryAfterSeconds: 1 })
    h.emu.control.injectFault('token', {
      kind: 'reject',
      code: 'invalid_client',
      message: 'invalid client_secret parameter'
    })
    const a = await fetchToken(h.emu)
    t.equal(a.status, 500)
    t.match(a.json, { error: 'internal_error' })
    const b = await fetchToken(h.emu)
    t.equal(b.status, 429)
    t.equal(b.headers.get('retry-after'), '1')
    const c = await fetchToken(h.emu)
    t.equal(c.status, 400)
    t.same(c.json, { error: 'invalid_client', error_description: 'invalid client_secret parameter' })
    t.equal((await fetchToken(h.emu)).status, 200)
  })

  void t.test('faults are spent only by requests that pass the gateway', async (t) => {
    h.emu.control.injectFault('list', { kind: 'status', status: 500 })
    t.equal((await h.flow('GET', '/connections', { headers: { authorization: undefined } })).status, 403)
    t.equal(h.emu.control.pendingFaults().length, 1, 'still queued')
    t.equal((await h.flow('GET', '/connections')).status, 500)
  })

  void t.test('faults of one operation do not touch another', async (t) => {
    h.emu.control.injectFault('update', { kind: 'status', status: 500 })
    t.equal((await h.flow('GET', '/connections')).status, 200)
    t.same(
      h.emu.control.pendingFaults().map((f) => [f.operation, f.remaining]),
      [['update', 1]]
    )
    h.emu.control.clearFaults('update')
    t.same(h.emu.control.pendingFaults(), [])
  })

  void t.test('delay answers normally, later', async (t) => {
    h.emu.control.injectFault('list', { kind: 'delay', delayMs: 200 })
    const started = Date.now()
    const res = await h.flow('GET', '/connections')
    t.equal(res.status, 200)
    t.ok(Date.now() - started >= 190, 'answered after the delay')
  })

  void t.test('the request log marks faulted requests', async (t) => {
    h.emu.control.injectFault('test', { kind: 'status', status: 503 })
    await h.flow('GET', '/connections/x/test')
    const last = h.emu.control.recentRequests().at(-1)
    t.match(last, { operation: 'test', status: 503, fault: 'status' })
  })
})

void t.test('faults that never answer', async (t) => {
  const h = await harness(t)
  t.afterEach(() => {
    h.emu.control.clearFaults()
  })

  void t.test('lost-answer: the connection IS created but the client sees a socket error', async (t) => {
    h.emu.control.injectFault('create', { kind: 'lost-answer' })
    await t.rejects(h.flow('POST', '/connections', { body: salesforceBody({ name: 'lost but made' }) }))
    const stored = h.emu.control.storedConnections()
    t.equal(stored.length, 1)
    t.equal(stored[0]?.name, 'lost but made')
    const entry = h.emu.control.recentRequests().at(-1)
    t.match(entry, { operation: 'create', status: 'no-answer', fault: 'lost-answer' })
  })

  void t.test('lost-answer on delete: it is gone although the client heard nothing', async (t) => {
    const { id } = await h.create()
    h.emu.control.injectFault('delete', { kind: 'lost-answer' })
    await t.rejects(h.remove(id))
    t.equal(h.emu.control.storedConnection(id), undefined)
  })

  void t.test('reset: the socket drops and nothing is done', async (t) => {
    const before = h.emu.control.storedConnections().length
    h.emu.control.injectFault('create', { kind: 'reset' })
    await t.rejects(h.flow('POST', '/connections', { body: salesforceBody({ name: 'never made' }) }))
    t.equal(h.emu.control.storedConnections().length, before)
  })

  void t.test('timeout: the request is held unanswered; a client timeout fires and nothing is created', async (t) => {
    const before = h.emu.control.storedConnections().length
    h.emu.control.injectFault('create', { kind: 'timeout' })
    const started = Date.now()
    await t.rejects(
      fetch(`${h.emu.flowServiceUrl}/connections`, {
        method: 'POST',
        headers: { ...flowHeaders(h.emu, h.token), 'content-type': 'application/json' },
        body: JSON.stringify(salesforceBody()),
        signal: AbortSignal.timeout(300)
      }),
      { name: 'TimeoutError' }
    )
    t.ok(Date.now() - started >= 290)
    t.equal(h.emu.control.storedConnections().length, before)
    await sleep(20)
    t.match(h.emu.control.recentRequests().at(-1), { operation: 'create', status: 'no-answer', fault: 'timeout' })
  })

  void t.test('timeout with delayMs: the socket drops after that long', async (t) => {
    h.emu.control.injectFault('get', { kind: 'timeout', delayMs: 150 })
    const started = Date.now()
    await t.rejects(h.flow('GET', '/connections/x'))
    t.ok(Date.now() - started >= 140)
  })
})

void t.test('close() releases held requests at once', async (t) => {
  const emu = await startEmulator({ readyDelayMs: 0 })
  const token = await mintToken(emu)
  emu.control.injectFault('list', { kind: 'timeout', delayMs: 60_000 })
  const held = fetch(`${emu.flowServiceUrl}/connections`, { headers: flowHeaders(emu, token) })
  const outcome = held.then(
    () => 'answered',
    () => 'dropped'
  )
  while (emu.control.callCounts().list === 0) await sleep(5)
  const started = Date.now()
  await emu.close()
  t.equal(await outcome, 'dropped')
  t.ok(Date.now() - started < 2000, 'close did not wait for the hold')
})
