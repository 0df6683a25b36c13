// The client never passes on an answer it has not checked: answers about other ids, empty or unreadable 200s, 404s
// that are not Flow Service's own, and lists with items nobody asked for. Each is counted through onUnexpectedAnswer.
import t from 'tap'
import { UNEXPECTED_ANSWER } from '../../src/flow-service/flow-service-error.js'
import type { FlowServiceClient, UnexpectedAnswerReason } from '../../src/flow-service/flow-service-client.js'
import type { FlowServiceOperation } from '../../src/flow-service/flow-service-error.js'
import { BASE, ETAG, capturedLogger, client, connection, failure, mockUpstreams, type Upstreams } from './helpers.js'

interface Counted {
  operation: FlowServiceOperation
  reason: UnexpectedAnswerReason
}

function checkedClient(t: Parameters<typeof mockUpstreams>[0]): {
  up: Upstreams
  fs: FlowServiceClient
  counted: Counted[]
  warned: () => unknown[]
} {
  const up = mockUpstreams(t)
  const counted: Counted[] = []
  const { logger, lines } = capturedLogger()
  const fs = client(up, {
    onUnexpectedAnswer: (operation, reason) => {
      counted.push({ operation, reason })
    },
    logger
  })
  const warned = (): unknown[] =>
    lines.map((line) => JSON.parse(line) as { level: number }).filter((entry) => entry.level === 40)
  return { up, fs, counted, warned }
}

const FLOW_404 = {
  errorMessage: 'connections not found with id = [c1]',
  errorDetails: 'connections not found with id = [c1]'
}
const FLOW_404_LONG = {
  type: 'https://ns.adobe.com/aep/errors/FLOW-1439-404',
  title: 'Not Found',
  status: 404,
  report: { 'detailed-message': 'connections not found' }
}
const GATEWAY_404 = { error_code: '404000', message: 'No route for /connections/c1' }

void t.test(
  'getConnection: odd 200s are retryable failures with code unexpected_answer, never "not found"',
  async (t) => {
    const cases: Array<{ name: string; body: unknown; reason: UnexpectedAnswerReason }> = [
      { name: 'empty items', body: { items: [] }, reason: 'empty_items' },
      { name: 'items: null', body: { items: null }, reason: 'no_items' },
      { name: 'no items array', body: { id: 'c1' }, reason: 'no_items' },
      { name: 'a JSON array', body: [connection('c1')], reason: 'no_items' },
      { name: 'unparseable body', body: '{"items":[{"id":"c1"', reason: 'unparseable' },
      { name: 'HTML body', body: '<html>OK</html>', reason: 'unparseable' },
      { name: 'empty body', body: '', reason: 'unparseable' },
      { name: 'an item without an id', body: { items: [{ name: 'x' }] }, reason: 'malformed_item' }
    ]
    for (const c of cases) {
      const { up, fs, counted } = checkedClient(t)
      up.reply('GET', { status: 200, body: c.body })
      const err = await failure(fs.getConnection('prod', 'c1'))
      t.match(err, { kind: 'retryable', code: UNEXPECTED_ANSWER, status: 200, operation: 'getConnection' }, c.name)
      t.same(counted, [{ operation: 'getConnection', reason: c.reason }], `${c.name}: counted once`)
    }
  }
)

void t.test('getConnection: the error says what was odd without quoting the body', async (t) => {
  const { up, fs } = checkedClient(t)
  up.reply('GET', { status: 200, body: '{"items": "marker-text-from-the-body"}' })
  const err = await failure(fs.getConnection('prod', 'c1'))
  t.match(err.message, /without an items array/)
  t.notMatch(err.message, /marker-text-from-the-body/)
  t.equal(err.downstreamMessage, undefined)
})

void t.test(
  'getConnection: a 200 about other ids only is retryable; the other items are logged by id and counted',
  async (t) => {
    const { up, fs, counted, warned } = checkedClient(t)
    up.reply('GET', { status: 200, body: { items: [connection('c2', { name: 'someone else' }), connection('c3')] } })
    t.match(await failure(fs.getConnection('prod', 'c1')), { kind: 'retryable', code: UNEXPECTED_ANSWER })
    t.same(counted, [
      { operation: 'getConnection', reason: 'other_id' },
      { operation: 'getConnection', reason: 'other_id' }
    ])
    t.equal(warned().length, 1)
    t.match(warned()[0], {
      flowService: {
        operation: 'getConnection',
        dropped: [
          { id: 'c2', reason: 'other_id' },
          { id: 'c3', reason: 'other_id' }
        ]
      }
    })
    t.notMatch(JSON.stringify(warned()), /someone else/, 'ids only, never the items')
  }
)

void t.test('getConnection: the item asked is picked out of an answer that also carries another id', async (t) => {
  const { up, fs, counted } = checkedClient(t)
  up.reply('GET', { status: 200, body: { items: [connection('c2'), connection('c1', { name: 'mine' })] } })
  t.equal((await fs.getConnection('prod', 'c1'))?.name, 'mine')
  t.same(counted, [{ operation: 'getConnection', reason: 'other_id' }])
})

void t.test('getConnection: an id sent twice keeps the first', async (t) => {
  const { up, fs, counted } = checkedClient(t)
  up.reply('GET', {
    status: 200,
    body: { items: [connection('c1', { name: 'first' }), connection('c1', { name: 'second' })] }
  })
  t.equal((await fs.getConnection('prod', 'c1'))?.name, 'first')
  t.same(counted, [{ operation: 'getConnection', reason: 'duplicate_id' }])
})

void t.test("getConnection: null only on Flow Service's own 404", async (t) => {
  const { up, fs, counted } = checkedClient(t)
  up.reply('GET', { status: 404, body: FLOW_404 })
  up.reply('GET', { status: 404, body: FLOW_404_LONG })
  t.equal(await fs.getConnection('prod', 'c1'), null, 'short form')
  t.equal(await fs.getConnection('prod', 'c1'), null, 'long form with an NNNN-404 code')
  t.same(counted, [])
})

void t.test('getConnection: a 404 from a gateway, a proxy or nobody proves nothing', async (t) => {
  const bodies: Array<{ name: string; body: unknown }> = [
    { name: 'gateway error_code', body: GATEWAY_404 },
    { name: 'empty', body: '' },
    { name: 'HTML', body: '<html><body>404 Not Found</body></html>' },
    { name: 'another catalogue code', body: { type: 'https://ns.adobe.com/aep/errors/FLOW-1102-500', title: 'x' } }
  ]
  for (const { name, body } of bodies) {
    const { up, fs, counted } = checkedClient(t)
    up.reply('GET', { status: 404, body })
    t.match(
      await failure(fs.getConnection('prod', 'c1')),
      { kind: 'retryable', code: UNEXPECTED_ANSWER, status: 404 },
      name
    )
    t.same(counted, [{ operation: 'getConnection', reason: 'gateway_404' }], `${name}: counted`)
  }
})

void t.test("deleteConnection: not_found only on Flow Service's own 404", async (t) => {
  const { up, fs, counted } = checkedClient(t)
  up.reply('DELETE', { status: 404, body: FLOW_404 })
  up.reply('DELETE', { status: 404, body: GATEWAY_404 })
  up.reply('DELETE', { status: 404, body: '' })
  t.equal(await fs.deleteConnection('prod', 'c1', ETAG), 'not_found')
  t.match(await failure(fs.deleteConnection('prod', 'c1', ETAG)), {
    kind: 'retryable',
    code: UNEXPECTED_ANSWER,
    status: 404,
    operation: 'deleteConnection'
  })
  t.match(await failure(fs.deleteConnection('prod', 'c1', ETAG)), {
    kind: 'retryable',
    code: UNEXPECTED_ANSWER,
    status: 404
  })
  t.same(counted, [
    { operation: 'deleteConnection', reason: 'gateway_404' },
    { operation: 'deleteConnection', reason: 'gateway_404' }
  ])
})

void t.test('updateConnection: a 2xx naming another id is ambiguous (the PATCH may have landed)', async (t) => {
  const { up, fs, counted } = checkedClient(t)
  up.reply('PATCH', { status: 200, body: { id: 'c2', etag: '"2"' } })
  const err = await failure(fs.updateConnection('prod', 'c1', ETAG, [{ op: 'replace', path: '/name', value: 'n' }]))
  t.match(err, { kind: 'ambiguous', code: UNEXPECTED_ANSWER, status: 200, operation: 'updateConnection' })
  t.same(counted, [{ operation: 'updateConnection', reason: 'other_id' }])
})

void t.test('updateConnection: the id patched comes back as it is', async (t) => {
  const { up, fs, counted } = checkedClient(t)
  up.reply('PATCH', { status: 200, body: { id: 'c1', etag: '"2"' } })
  t.same(await fs.updateConnection('prod', 'c1', ETAG, []), { id: 'c1', etag: '"2"' })
  t.same(counted, [])
})

void t.test("listConnections by ids drops the ids not asked and repeats, and keeps the answer's order", async (t) => {
  const { up, fs, counted, warned } = checkedClient(t)
  up.reply('GET', {
    status: 200,
    body: {
      items: [
        connection('b'),
        connection('x'),
        connection('a', { name: 'first a' }),
        connection('a', { name: 'second a' })
      ]
    }
  })
  const page = await fs.listConnections('prod', { ids: ['a', 'b', 'c'] })
  t.same(
    page.items.map((c) => [c.id, c.name]),
    [
      ['b', 'conn b'],
      ['a', 'first a']
    ]
  )
  t.same(counted, [
    { operation: 'listConnections', reason: 'other_id' },
    { operation: 'listConnections', reason: 'duplicate_id' }
  ])
  t.match(warned()[0], {
    flowService: {
      dropped: [
        { id: 'x', reason: 'other_id' },
        { id: 'a', reason: 'duplicate_id' }
      ]
    }
  })
})

void t.test('listConnections by connection spec drops items of another spec', async (t) => {
  const { up, fs, counted } = checkedClient(t)
  const mine = { id: 'spec-1', version: '1.0' }
  up.reply('GET', {
    status: 200,
    body: {
      items: [
        connection('a', { connectionSpec: mine }),
        connection('b', { connectionSpec: { id: 'spec-2', version: '1.0' } }),
        { ...connection('c'), connectionSpec: null }
      ]
    }
  })
  const page = await fs.listConnections('prod', {
    connectionSpecId: 'spec-1',
    orderBy: { field: 'createdAt', descending: true }
  })
  t.same(
    page.items.map((c) => c.id),
    ['a']
  )
  t.same(
    counted.map((c) => c.reason),
    ['other_spec', 'other_spec']
  )
  t.equal(up.seen[0]?.path, `${BASE}/connections?property=connectionSpec.id==spec-1&orderby=-createdAt`)
})

void t.test(
  'listConnections by name drops items of another name (Flow Service splits filter values on commas)',
  async (t) => {
    const { up, fs, counted } = checkedClient(t)
    up.reply('GET', {
      status: 200,
      body: {
        items: [
          connection('a', { name: 'ACME' }),
          connection('b', { name: 'ACME, Inc.' }),
          connection('c', { name: ' Inc.' })
        ]
      }
    })
    const page = await fs.listConnections('prod', { name: 'ACME, Inc.' })
    t.same(
      page.items.map((c) => c.id),
      ['b']
    )
    t.same(
      counted.map((c) => c.reason),
      ['other_name', 'other_name']
    )
  }
)

void t.test('listConnections: an empty page is an answer; a page without items is not', async (t) => {
  const { up, fs, counted } = checkedClient(t)
  up.reply('GET', { status: 200, body: { items: [] } })
  up.reply('GET', { status: 200, body: { items: null } })
  up.reply('GET', { status: 200, body: 'not json' })
  t.same(await fs.listConnections('prod', { ids: ['a'] }), { items: [] })
  t.match(await failure(fs.listConnections('prod', { ids: ['a'] })), { kind: 'retryable', code: UNEXPECTED_ANSWER })
  t.match(await failure(fs.listConnections('prod', { ids: ['a'] })), { kind: 'retryable', code: UNEXPECTED_ANSWER })
  t.same(
    counted.map((c) => c.reason),
    ['no_items', 'unparseable']
  )
})

void t.test('without the option, odd answers still fail the same way', async (t) => {
  const up = mockUpstreams(t)
  up.reply('GET', { status: 200, body: { items: [connection('c2')] } })
  t.match(await failure(client(up).getConnection('prod', 'c1')), { kind: 'retryable', code: UNEXPECTED_ANSWER })
})
