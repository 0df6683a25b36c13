// Chaos mode: seeded random faults for property-based tests. Same seed, same requests: same faults; whatever it
// injects, every answer is a valid HTTP answer or a dropped socket and the store stays consistent.
import fc from 'fast-check'
import t from 'tap'
import type { RunningEmulator } from '../../src/emulator/types.js'
import { answer, flowHeaders, harness, salesforceBody, type Answer } from './helpers.js'

type Outcome = { answered: Answer } | { dropped: string }

/** One Flow Service call that never throws: an answer, or why there was none. */
async function call(
  emu: RunningEmulator,
  token: string,
  method: string,
  path: string,
  body?: unknown,
  ifMatch?: string
): Promise<Outcome> {
  const headers: Record<string, string> = { ...flowHeaders(emu, token) }
  if (body !== undefined) headers['content-type'] = 'application/json'
  if (ifMatch !== undefined) headers['if-match'] = ifMatch
  try {
    const res = await fetch(`${emu.flowServiceUrl}${path}`, {
      method,
      headers,
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
      signal: AbortSignal.timeout(5000)
    })
    return { answered: await answer(res) }
  } catch (err) {
    return { dropped: (err as Error).name }
  }
}

type Step =
  | { op: 'create'; name: string }
  | { op: 'get' | 'update' | 'delete' | 'test'; pick: number }
  | { op: 'list'; limit: number }

/** Runs the steps one after the other against whatever connections exist; returns every outcome. */
async function run(emu: RunningEmulator, token: string, steps: readonly Step[]): Promise<Outcome[]> {
  const out: Outcome[] = []
  for (const step of steps) {
    const stored = emu.control.storedConnections()
    const target = stored.length === 0 ? undefined : stored[('pick' in step ? step.pick : 0) % stored.length]
    const id = target?.id ?? 'no-such-id'
    switch (step.op) {
      case 'create':
        out.push(await call(emu, token, 'POST', '/connections', salesforceBody({ name: step.name })))
        break
      case 'list':
        out.push(await call(emu, token, 'GET', `/connections?limit=${step.limit}`))
        break
      case 'get':
        out.push(await call(emu, token, 'GET', `/connections/${id}`))
        break
      case 'test':
        out.push(await call(emu, token, 'GET', `/connections/${id}/test`))
        break
      case 'update':
        out.push(
          await call(
            emu,
            token,
            'PATCH',
            `/connections/${id}`,
            [{ op: 'replace', path: '/description', value: step.pick.toString() }],
            target?.etag ?? '"x"'
          )
        )
        break
      case 'delete':
        out.push(await call(emu, token, 'DELETE', `/connections/${id}`, undefined, target?.etag ?? '"x"'))
        break
    }
  }
  return out
}

const SCRIPT: Step[] = []
for (let i = 0; i < 60; i++) {
  const ops = ['create', 'create', 'get', 'list', 'update', 'delete', 'test'] as const
  const op = ops[i % ops.length] as Step['op']
  SCRIPT.push(op === 'create' ? { op, name: `c-${i}` } : op === 'list' ? { op, limit: 1 + (i % 5) } : { op, pick: i })
}

void t.test('the same seed injects the same kinds for the same requests; another seed does not', async (t) => {
  const h = await harness(t)
  const kinds = async (seed: number): Promise<string[]> => {
    h.emu.control.reset({ keepTokens: true })
    h.emu.control.setChaos({ seed, rate: 0.5, maxDelayMs: 20 })
    await run(h.emu, h.token, SCRIPT)
    return h.emu.control.chaosLog().map((e) => `${e.request}:${e.operation}:${e.kind}`)
  }
  const first = await kinds(42)
  t.ok(first.length > 10, 'a fair share of the requests got a fault')
  t.same(await kinds(42), first)
  t.not((await kinds(43)).join(), first.join())
})

void t.test('chaos settings and scope', async (t) => {
  const h = await harness(t)
  t.afterEach(() => {
    h.emu.control.reset({ keepTokens: true })
  })

  void t.test('rate 0 injects nothing, rate 1 faults every request, only with the kinds asked for', async (t) => {
    h.emu.control.setChaos({ seed: 1, rate: 0 })
    await run(h.emu, h.token, SCRIPT.slice(0, 10))
    t.same(h.emu.control.chaosLog(), [])
    h.emu.control.setChaos({ seed: 1, rate: 1, kinds: ['status'] })
    const outcomes = await run(h.emu, h.token, SCRIPT.slice(0, 10))
    t.ok(outcomes.every((o) => 'answered' in o && [500, 502, 503, 504].includes(o.answered.status)))
    t.equal(h.emu.control.chaosLog().length, 10)
    t.ok(
      h.emu.control
        .recentRequests()
        .slice(-10)
        .every((r) => r.fault === 'status' && r.chaos === true),
      'marked in the request log'
    )
  })

  void t.test('token requests are left alone; a queued fault goes first and is not logged as chaos', async (t) => {
    h.emu.control.setChaos({ seed: 9, rate: 1, kinds: ['status'] })
    const token = await fetch(`${h.emu.imsUrl}/ims/token/v3`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({
        grant_type: 'client_credentials',
        client_id: h.emu.credentials.clientId,
        client_secret: h.emu.credentials.clientSecret,
        scope: 'openid'
      })
    })
    t.equal(token.status, 200)
    await token.arrayBuffer()
    h.emu.control.injectFault('list', { kind: 'odd-200', body: 'no-items' })
    const res = await call(h.emu, h.token, 'GET', '/connections')
    t.match(res, { answered: { status: 200, json: {} } })
    t.same(h.emu.control.chaosLog(), [])
    t.match(h.emu.control.recentRequests().at(-1), { fault: 'odd-200' })
    t.notOk(h.emu.control.recentRequests().at(-1)?.chaos)
  })

  void t.test('kinds that never apply to an operation are never drawn for it', async (t) => {
    h.emu.control.setChaos({ seed: 5, rate: 1, kinds: ['same-id', 'late-landing'] })
    const outcomes = await run(h.emu, h.token, [
      { op: 'get', pick: 0 },
      { op: 'list', limit: 1 },
      { op: 'delete', pick: 0 }
    ])
    t.ok(outcomes.every((o) => 'answered' in o && o.answered.status !== 201))
    t.same(h.emu.control.chaosLog(), [])
  })

  void t.test('a rate outside 0..1 is refused', async (t) => {
    t.throws(() => {
      h.emu.control.setChaos({ seed: 1, rate: 2 })
    }, RangeError)
  })

  void t.test('reset turns chaos off and forgets its log', async (t) => {
    h.emu.control.setChaos({ seed: 1, rate: 1, kinds: ['status'] })
    await run(h.emu, h.token, [{ op: 'list', limit: 1 }])
    h.emu.control.reset({ keepTokens: true })
    t.equal(h.emu.control.chaos(), null)
    t.same(h.emu.control.chaosLog(), [])
  })
})

const stepArb: fc.Arbitrary<Step> = fc.oneof(
  fc.record({
    op: fc.constant('create' as const),
    name: fc.string({ minLength: 1, maxLength: 20 }).filter((s) => s.trim() !== '')
  }),
  fc.record({
    op: fc.constantFrom('get' as const, 'update' as const, 'delete' as const, 'test' as const),
    pick: fc.nat(50)
  }),
  fc.record({ op: fc.constant('list' as const), limit: fc.integer({ min: 1, max: 100 }) })
)

void t.test('whatever chaos injects: valid HTTP answers or dropped sockets, and a consistent store', async (t) => {
  const h = await harness(t)
  const injected = new Set<string>()
  await fc.assert(
    fc.asyncProperty(fc.integer(), fc.array(stepArb, { minLength: 5, maxLength: 25 }), async (seed, steps) => {
      h.emu.control.reset({ keepTokens: true })
      h.emu.control.setChaos({ seed, rate: 0.6, maxDelayMs: 30 })
      const outcomes = await run(h.emu, h.token, steps)
      for (const o of outcomes) {
        if ('dropped' in o) {
          if (!['TypeError'].includes(o.dropped)) return false // a socket error, never a client timeout
          continue
        }
        if (o.answered.status < 200 || o.answered.status > 599) return false
      }
      for (const e of h.emu.control.chaosLog()) injected.add(e.kind)
      h.emu.control.setChaos(null)
      h.emu.control.landNow()
      return await storeIsConsistent(h.emu, h.token)
    }),
    { numRuns: 15 }
  )
  t.ok(injected.size >= 8, `most of the repertoire was exercised: ${[...injected].sort().join(', ')}`)
})

/** What Flow Service answers agrees with what the emulator stores: ids unique, list = count = store, each readable. */
async function storeIsConsistent(emu: RunningEmulator, token: string): Promise<boolean> {
  const stored = emu.control.storedConnections('prod')
  if (new Set(stored.map((c) => c.id)).size !== stored.length) return false
  const listed: string[] = []
  let href: string | undefined = '/connections?limit=7'
  while (href !== undefined) {
    const o = await call(emu, token, 'GET', href)
    if (!('answered' in o) || o.answered.status !== 200) return false
    const body = o.answered.json as { items: Array<{ id: string }>; _links: { next?: { href: string } } }
    listed.push(...body.items.map((c) => c.id))
    href = body._links.next?.href
  }
  if (listed.join() !== stored.map((c) => c.id).join()) return false
  const count = await call(emu, token, 'GET', '/connections?count=true')
  if (!('answered' in count) || (count.answered.json as { count: number }).count !== stored.length) return false
  for (const c of stored) {
    const got = await call(emu, token, 'GET', `/connections/${c.id}`)
    if (!('answered' in got) || (got.answered.json as { items: Array<{ id: string }> }).items[0]?.id !== c.id)
      return false
  }
  return true
}
