// Faults that answer wrongly rather than fail: odd 200s, items of another connection, creates answered with another
// id, late landings, a lost PATCH answer followed by Adobe's own touch, and errors echoing the request's secrets.
import t from 'tap'
import { flowHeaders, harness, salesforceBody, UUID } from './helpers.js'

interface Items {
  items: Array<{ id: string; name: string }>
}

void t.test('odd-200', async (t) => {
  const h = await harness(t)
  const { id } = await h.create({ name: 'exists' })
  const etag = (await h.read(id)).etag as string
  t.afterEach(() => {
    h.emu.control.clearFaults()
  })

  const expected = {
    'empty-items': { text: '{"items":[]}' },
    'no-items': { text: '{}' },
    'null-items': { text: '{"items":null}' },
    empty: { text: '' },
    'not-json': { text: '<html><body><h1>200 OK</h1></body></html>' }
  } as const

  for (const [body, { text }] of Object.entries(expected)) {
    void t.test(`get answers 200 ${body} although the connection exists`, async (t) => {
      h.emu.control.injectFault('get', { kind: 'odd-200', body: body as keyof typeof expected })
      const res = await h.flow('GET', `/connections/${id}`)
      t.equal(res.status, 200)
      t.equal(res.text, text)
      if (body === 'not-json') t.match(res.headers.get('content-type'), /application\/json/, 'claims JSON all the same')
      t.equal((await h.read(id)).id, id, 'the next GET is normal')
    })
  }

  void t.test('list answers 200 with no items while the connection exists', async (t) => {
    h.emu.control.injectFault('list', { kind: 'odd-200', body: 'empty-items' })
    const res = await h.flow('GET', `/connections?property=id==${id}`)
    t.same(res.json, { items: [], _links: {} })
  })

  void t.test('create answers 201 without an id and creates nothing', async (t) => {
    for (const body of ['no-items', 'empty', 'not-json'] as const) {
      h.emu.control.injectFault('create', { kind: 'odd-200', body })
      const res = await h.flow('POST', '/connections', { body: salesforceBody({ name: `odd ${body}` }) })
      t.equal(res.status, 201, body)
      t.notMatch(res.text, /"id"/)
    }
    t.same(
      h.emu.control.storedConnections().map((c) => c.name),
      ['exists']
    )
  })

  void t.test('update answers 200 without an id and changes nothing', async (t) => {
    h.emu.control.injectFault('update', { kind: 'odd-200', body: 'no-items' })
    const res = await h.flow('PATCH', `/connections/${id}`, {
      body: [{ op: 'replace', path: '/name', value: 'renamed' }],
      headers: { 'if-match': etag }
    })
    t.equal(res.status, 200)
    t.same(res.json, {})
    t.match(h.emu.control.storedConnection(id), { name: 'exists', etag })
  })

  void t.test('does not apply to token', async (t) => {
    t.throws(() => {
      h.emu.control.injectFault('token', { kind: 'odd-200', body: 'empty' })
    }, RangeError)
    t.same(h.emu.control.pendingFaults(), [])
  })
})

void t.test('other-item', async (t) => {
  const h = await harness(t)
  const a = await h.create({ name: 'a' })
  const b = await h.create({ name: 'b' })
  t.afterEach(() => {
    h.emu.control.clearFaults()
  })

  void t.test('replace: a get answers with another stored connection of the sandbox', async (t) => {
    h.emu.control.injectFault('get', { kind: 'other-item', mode: 'replace' })
    const res = await h.flow('GET', `/connections/${a.id}`)
    t.equal(res.status, 200)
    t.same(
      (res.json as Items).items.map((c) => c.id),
      [b.id]
    )
  })

  void t.test('add: a get answers with the right item and another one', async (t) => {
    h.emu.control.injectFault('get', { kind: 'other-item', mode: 'add' })
    const res = await h.flow('GET', `/connections/${b.id}`)
    t.same(
      (res.json as Items).items.map((c) => c.id),
      [b.id, a.id]
    )
  })

  void t.test('an id that is stored gives that connection; one that is not gives a made-up connection', async (t) => {
    h.emu.control.injectFault('get', { kind: 'other-item', mode: 'replace', id: b.id })
    h.emu.control.injectFault('get', { kind: 'other-item', mode: 'replace', id: 'made-up-id' })
    t.same(
      ((await h.flow('GET', `/connections/${a.id}`)).json as Items).items.map((c) => c.id),
      [b.id]
    )
    const madeUp = (await h.flow('GET', `/connections/${a.id}`)).json as Items
    t.match(madeUp.items, [{ id: 'made-up-id', state: 'enabled', sandboxName: 'prod', etag: /^"/ }])
    t.equal(h.emu.control.storedConnection('made-up-id'), undefined, 'nothing stored under it')
  })

  void t.test('list: replace swaps the items, add appends one not already listed', async (t) => {
    h.emu.control.injectFault('list', { kind: 'other-item', mode: 'replace' })
    h.emu.control.injectFault('list', { kind: 'other-item', mode: 'add' })
    const replaced = (await h.flow('GET', `/connections?property=id==${a.id}`)).json as Items
    t.same(
      replaced.items.map((c) => c.id),
      [b.id]
    )
    const added = (await h.flow('GET', `/connections?property=id==${a.id}`)).json as Items
    t.same(
      added.items.map((c) => c.id),
      [a.id, b.id]
    )
  })

  void t.test('with no other connection in the sandbox, a made-up one with a random id', async (t) => {
    const only = await h.create({ name: 'lonely' }, 'dev')
    h.emu.control.injectFault('get', { kind: 'other-item', mode: 'replace' })
    const res = await h.flow('GET', `/connections/${only.id}`, { sandbox: 'dev' })
    const item = (res.json as Items).items[0]
    t.match(item?.id, UUID)
    t.not(item?.id, only.id)
    t.equal(h.emu.control.storedConnection(item?.id ?? ''), undefined)
  })

  void t.test('applies only to get and list', async (t) => {
    for (const op of ['create', 'update', 'delete', 'test', 'token'] as const) {
      t.throws(
        () => {
          h.emu.control.injectFault(op, { kind: 'other-item', mode: 'add' })
        },
        RangeError,
        op
      )
    }
  })
})

void t.test('same-id', async (t) => {
  const h = await harness(t)
  t.afterEach(() => {
    h.emu.control.clearFaults()
  })

  void t.test(
    'create=true (default): answered with the previous connection, the requested one created under its own id',
    async (t) => {
      const first = await h.create({ name: 'first' })
      const firstEtag = h.emu.control.storedConnection(first.id)?.etag
      h.emu.control.injectFault('create', { kind: 'same-id' })
      const res = await h.flow('POST', '/connections', { body: salesforceBody({ name: 'second' }) })
      t.equal(res.status, 201)
      t.same(res.json, { id: first.id, etag: firstEtag })
      const second = h.emu.control.storedConnections().find((c) => c.name === 'second')
      t.ok(second, 'the requested connection exists')
      t.not(second?.id, first.id)
    }
  )

  void t.test('create=false with an explicit id: that id, nothing created', async (t) => {
    const target = await h.create({ name: 'target' })
    await h.create({ name: 'newer' })
    const count = h.emu.control.storedConnections().length
    h.emu.control.injectFault('create', { kind: 'same-id', id: target.id, create: false })
    const res = await h.flow('POST', '/connections', { body: salesforceBody({ name: 'never' }) })
    t.equal(res.status, 201)
    t.equal((res.json as { id: string }).id, target.id)
    t.equal(h.emu.control.storedConnections().length, count)
  })

  void t.test('an empty sandbox: a made-up id that nothing carries', async (t) => {
    h.emu.control.injectFault('create', { kind: 'same-id', create: false })
    const res = await h.flow('POST', '/connections', { body: salesforceBody(), sandbox: 'empty' })
    const { id } = res.json as { id: string }
    t.match(id, UUID)
    t.equal(h.emu.control.storedConnection(id), undefined)
  })

  void t.test('an invalid body is refused as usual', async (t) => {
    h.emu.control.injectFault('create', { kind: 'same-id' })
    const res = await h.flow('POST', '/connections', { body: { name: 'x' } })
    t.equal(res.status, 400)
  })
})

void t.test('late-landing', async (t) => {
  const h = await harness(t)
  t.afterEach(() => {
    h.emu.control.clearFaults()
  })
  const waitFor = async (cond: () => boolean): Promise<void> => {
    while (!cond()) await new Promise((resolve) => setImmediate(resolve))
  }

  void t.test('drop: the client sees a socket error; the connection appears delayMs later', async (t) => {
    h.emu.control.reset({ keepTokens: true })
    h.emu.control.injectFault('create', { kind: 'late-landing', delayMs: 100 })
    await t.rejects(h.flow('POST', '/connections', { body: salesforceBody({ name: 'late' }) }))
    t.same(h.emu.control.storedConnections(), [], 'not there yet')
    t.match(h.emu.control.pendingLandings(), [{ sandboxName: 'prod', name: 'late', dueAt: Number }])
    await waitFor(() => h.emu.control.storedConnections().length === 1)
    t.equal(h.emu.control.storedConnections()[0]?.name, 'late')
    t.same(h.emu.control.pendingLandings(), [])
    t.match(h.emu.control.recentRequests().at(-1), { operation: 'create', status: 'no-answer', fault: 'late-landing' })
    t.equal(h.emu.control.callCounts().create, 1)
  })

  void t.test('504: a gateway timeout answer, and the connection lands when landNow says so', async (t) => {
    h.emu.control.reset({ keepTokens: true })
    h.emu.control.injectFault('create', { kind: 'late-landing', delayMs: 60_000, answer: '504' })
    const res = await h.flow('POST', '/connections', { body: salesforceBody({ name: 'gw' }) })
    t.equal(res.status, 504)
    t.match(res.json, { type: /FLOW-1104-504$/ })
    t.same(h.emu.control.storedConnections(), [])
    const [id] = h.emu.control.landNow()
    t.equal(h.emu.control.storedConnection(id ?? '')?.name, 'gw')
    t.equal((await h.read(id ?? '')).name, 'gw', 'readable through Flow Service')
  })

  void t.test('timeout: held past the client timeout, landing later', async (t) => {
    h.emu.control.reset({ keepTokens: true })
    h.emu.control.injectFault('create', { kind: 'late-landing', delayMs: 60_000, answer: 'timeout' })
    await t.rejects(
      fetch(`${h.emu.flowServiceUrl}/connections`, {
        method: 'POST',
        headers: { ...flowHeaders(h.emu, h.token), 'content-type': 'application/json' },
        body: JSON.stringify(salesforceBody({ name: 'held' })),
        signal: AbortSignal.timeout(100)
      }),
      { name: 'TimeoutError' }
    )
    t.equal(h.emu.control.pendingLandings().length, 1)
    h.emu.control.landNow()
    t.same(
      h.emu.control.storedConnections().map((c) => c.name),
      ['held']
    )
  })

  void t.test('reset cancels pending landings', async (t) => {
    h.emu.control.injectFault('create', { kind: 'late-landing', delayMs: 60_000, answer: '504' })
    await h.flow('POST', '/connections', { body: salesforceBody() })
    h.emu.control.reset({ keepTokens: true })
    t.same(h.emu.control.pendingLandings(), [])
    t.same(h.emu.control.landNow(), [])
  })

  void t.test('a create Flow Service refuses is answered and never lands', async (t) => {
    h.emu.control.reset({ keepTokens: true })
    h.emu.control.injectFault('create', { kind: 'late-landing', delayMs: 0 })
    const res = await h.flow('POST', '/connections', {
      body: { ...salesforceBody(), connectionSpec: { id: 'nope', version: '1.0' } }
    })
    t.equal(res.status, 400)
    t.same(h.emu.control.pendingLandings(), [])
  })
})

void t.test('lost-answer with thenBump: the PATCH lands, then Adobe moves the etag again', async (t) => {
  const h = await harness(t)
  const { id } = await h.create()
  const etag = (await h.read(id)).etag as string
  h.emu.control.injectFault('update', { kind: 'lost-answer', thenBump: true })
  await t.rejects(
    h.flow('PATCH', `/connections/${id}`, {
      body: [{ op: 'replace', path: '/name', value: 'renamed' }],
      headers: { 'if-match': etag }
    })
  )
  const stored = h.emu.control.storedConnection(id)
  t.equal(stored?.name, 'renamed', 'the PATCH was applied')
  t.equal(stored?.state, 'enabled', 'same state')
  t.equal(stored?.updatedBy, 'acp_foundation_connectors@AdobeID', 'touched by Adobe after the client')
  t.not(stored?.etag, etag)
  const retry = await h.flow('PATCH', `/connections/${id}`, {
    body: [{ op: 'replace', path: '/name', value: 'renamed' }],
    headers: { 'if-match': etag }
  })
  t.equal(retry.status, 412, 'a retry with the old etag is refused')

  const plain = await h.create({ name: 'plain' })
  const plainEtag = (await h.read(plain.id)).etag as string
  h.emu.control.injectFault('update', { kind: 'lost-answer' })
  await t.rejects(
    h.flow('PATCH', `/connections/${plain.id}`, {
      body: [{ op: 'replace', path: '/name', value: 'x' }],
      headers: { 'if-match': plainEtag }
    })
  )
  t.equal(
    h.emu.control.storedConnection(plain.id)?.updatedBy,
    h.emu.credentials.clientId,
    'without thenBump the client is the last updater'
  )

  t.throws(() => {
    h.emu.control.injectFault('delete', { kind: 'lost-answer', thenBump: true })
  }, RangeError)
})

void t.test('echo', async (t) => {
  const h = await harness(t)
  const params = {
    environmentUrl: 'https://acme.my.salesforce.com',
    username: 'integration@acme.com',
    password: 'Pässwörd "quoted" +/= \\ 9f3k',
    securityToken: 'tok/en+with=base64ish'
  }
  const secrets = [params.password, params.securityToken]
  const forms = (s: string): string[] => [
    s,
    JSON.stringify(s),
    encodeURIComponent(s),
    Buffer.from(s).toString('base64'),
    `${s.slice(0, 10)}…`
  ]

  void t.test('create: every message field quotes every param in every encoding, and nothing is created', async (t) => {
    h.emu.control.injectFault('create', { kind: 'echo', encodings: ['raw', 'json', 'url', 'base64', 'truncated'] })
    const res = await h.flow('POST', '/connections', {
      body: salesforceBody({ auth: { specName: 'Basic Authentication', params } })
    })
    t.equal(res.status, 400)
    const body = res.json as {
      type: string
      errorMessage: string
      errorDetails: string
      report: { 'detailed-message': string }
    }
    t.match(body.type, /FLOW-1100-400$/)
    for (const field of [body.errorMessage, body.errorDetails, body.report['detailed-message']]) {
      for (const secret of secrets) for (const form of forms(secret)) t.ok(field.includes(form), `quotes ${form}`)
      t.ok(field.includes(JSON.stringify(params)), 'and all params as JSON')
    }
    t.same(h.emu.control.storedConnections(), [])
  })

  void t.test('update: the PATCH values, with the status and code asked for; nothing changed', async (t) => {
    const { id } = await h.create()
    const etag = (await h.read(id)).etag as string
    h.emu.control.injectFault('update', { kind: 'echo', status: 422, code: '1100-422', encodings: ['base64'] })
    const res = await h.flow('PATCH', `/connections/${id}`, {
      body: [{ op: 'replace', path: '/auth/params', value: params }],
      headers: { 'if-match': etag }
    })
    t.equal(res.status, 422)
    t.match(res.json, { status: 422, type: /FLOW-1100-422$/ })
    for (const secret of secrets) t.ok(res.text.includes(Buffer.from(secret).toString('base64')))
    t.notOk(res.text.includes(params.securityToken), 'only the encodings asked for')
    t.equal(h.emu.control.storedConnection(id)?.etag, etag)
  })

  void t.test('other operations echo the query string', async (t) => {
    h.emu.control.injectFault('list', { kind: 'echo', encodings: ['raw', 'url'] })
    const res = await h.flow('GET', '/connections?property=name==s3cr3t')
    t.equal(res.status, 400)
    t.ok((res.json as { errorMessage: string }).errorMessage.includes('property=name==s3cr3t'))
    t.ok((res.json as { errorMessage: string }).errorMessage.includes(encodeURIComponent('property=name==s3cr3t')))
  })
})

void t.test('status 404 answers a 1439-404 like a missing connection', async (t) => {
  const h = await harness(t)
  const { id } = await h.create()
  h.emu.control.injectFault('get', { kind: 'status', status: 404 })
  const res = await h.flow('GET', `/connections/${id}`)
  t.equal(res.status, 404)
  t.match(res.json, { type: /FLOW-1439-404$/, status: 404 })
  t.equal((await h.read(id)).id, id)
})
