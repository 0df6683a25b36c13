// The store on its own: paging returns every match exactly once, in order, whatever the data, filters and deletions.
import fc from 'fast-check'
import t from 'tap'
import { ConnectionStore, type StoredConnection } from '../../src/emulator/connection-store.js'
import { EtagSource } from '../../src/emulator/identifiers.js'
import { parseListQuery, decodeCursor, encodeCursor, type ListPlan } from '../../src/emulator/list-query.js'
import { SALESFORCE } from './helpers.js'

function newStore(now = { t: 1_700_000_000_000 }): ConnectionStore {
  return new ConnectionStore(() => now.t, new EtagSource())
}

function add(store: ConnectionStore, name: string, description: string, sandboxName = 'prod'): StoredConnection {
  return store.create({
    sandboxName,
    imsOrgId: 'ORG@AdobeOrg',
    actor: 'client',
    name,
    description,
    connectionSpec: { id: SALESFORCE, version: '1.0' },
    auth: { specName: 'Basic Authentication', params: {} },
    readyDelayMs: 0
  })
}

function plan(query: string): Extract<ListPlan, { kind: 'page' }> {
  const p = parseListQuery(new URLSearchParams(query))
  if (!('kind' in p) || p.kind !== 'page') throw new Error(`not a page plan: ${JSON.stringify(p)}`)
  return p
}

/** Follows the cursors to the end, as a client follows _links.next. */
function pageThrough(store: ConnectionStore, query: string): string[] {
  const seen: string[] = []
  let cursor: string | undefined
  for (let guard = 0; guard < 10_000; guard++) {
    const page = store.list('prod', plan(cursor === undefined ? query : `${query}&continuationToken=${cursor}`))
    seen.push(...page.items.map((c) => c.id))
    if (page.next === undefined) return seen
    cursor = encodeCursor(page.next)
  }
  throw new Error('paging did not end')
}

void t.test('paging yields each match once, in creation order, for any data, filter, limit and deletions', async () => {
  const names = ['a', 'b', 'c', 'd']
  fc.assert(
    fc.property(
      fc.array(
        fc.record({
          name: fc.constantFrom(...names),
          description: fc.constantFrom('x', 'y'),
          sandbox: fc.constantFrom('prod', 'dev'),
          deleted: fc.boolean()
        }),
        { maxLength: 60 }
      ),
      fc.integer({ min: 1, max: 100 }),
      fc.constantFrom(
        '',
        'property=name==a,c',
        'property=description==y',
        'property=name==b&property=description==x',
        'property=state==enabled',
        'property=name!=a'
      ),
      (rows, limit, filter) => {
        const store = newStore()
        const made = rows.map((r) => ({ row: r, conn: add(store, r.name, r.description, r.sandbox) }))
        for (const m of made) if (m.row.deleted) store.delete(m.conn)
        const expected = made
          .filter((m) => {
            if (m.row.deleted || m.row.sandbox !== 'prod') return false
            const r = m.row
            switch (filter) {
              case 'property=name==a,c':
                return r.name === 'a' || r.name === 'c'
              case 'property=description==y':
                return r.description === 'y'
              case 'property=name==b&property=description==x':
                return r.name === 'b' && r.description === 'x'
              case 'property=name!=a':
                return r.name !== 'a'
              default:
                return true
            }
          })
          .map((m) => m.conn.id)
        const got = pageThrough(store, `${filter}&limit=${limit}`)
        return JSON.stringify(got) === JSON.stringify(expected)
      }
    ),
    { numRuns: 300 }
  )
})

void t.test('paging stays correct when connections are deleted between pages', async (t) => {
  const store = newStore()
  const conns = Array.from({ length: 300 }, (_, i) => add(store, `n${i}`, 'x'))
  const first = store.list('prod', plan('limit=100'))
  for (const c of conns.slice(50, 250)) store.delete(c) // also triggers compaction of the order array
  const cursor = encodeCursor(first.next as { after: number })
  const second = store.list('prod', plan(`limit=100&continuationToken=${cursor}`))
  t.same(
    second.items.map((c) => c.name),
    conns.slice(250).map((c) => c.name)
  )
  t.equal(second.next, undefined)
})

void t.test('an explicit order pages by offset over the sorted matches', async (t) => {
  const store = newStore()
  for (const n of ['m', 'c', 'x', 'a', 'q']) add(store, n, 'x')
  const seen: string[] = []
  let query = 'orderby=-name&limit=2'
  for (;;) {
    const page = store.list('prod', plan(query))
    seen.push(...page.items.map((c) => c.name))
    if (page.next === undefined) break
    query = `orderby=-name&limit=2&continuationToken=${encodeCursor(page.next)}`
  }
  t.same(seen, ['x', 'q', 'm', 'c', 'a'])
})

void t.test('list query parsing', async (t) => {
  t.match(parseListQuery(new URLSearchParams('count=true&limit=5')), { code: '1401-400' })
  t.match(parseListQuery(new URLSearchParams('limit=101')), { code: '1100-400' })
  t.match(parseListQuery(new URLSearchParams('property=createdAt>=5')), { code: '1100-400' })
  t.same(parseListQuery(new URLSearchParams('property=id==a,b&property=state!=enabled')), {
    kind: 'page',
    clauses: [
      { field: 'id', op: '==', values: ['a', 'b'] },
      { field: 'state', op: '!=', values: ['enabled'] }
    ],
    limit: 100
  })
  t.match(
    parseListQuery(new URLSearchParams('orderby=createdAt&continuationToken=' + encodeCursor({ after: 3 }))),
    { code: '1100-400' },
    'a token of another ordering is refused'
  )
  const key = { field: 'name', descending: true, key: 'ACME, "Inc."', seq: 42 } as const
  t.same(decodeCursor(encodeCursor(key)), key)
  t.same(decodeCursor(encodeCursor({ field: 'createdAt', descending: false, key: 1_700_000_000_000, seq: 1 })), {
    field: 'createdAt',
    descending: false,
    key: 1_700_000_000_000,
    seq: 1
  })
  t.match(
    parseListQuery(new URLSearchParams('orderby=name&continuationToken=' + encodeCursor(key))),
    { code: '1100-400' },
    'a token of the other direction is refused'
  )
  t.match(
    parseListQuery(new URLSearchParams('continuationToken=' + encodeCursor(key))),
    { code: '1100-400' },
    'a keyed token needs its orderby'
  )
  t.match(parseListQuery(new URLSearchParams('orderby=-name&continuationToken=' + encodeCursor(key))), {
    kind: 'page',
    cursor: key
  })
  t.equal(decodeCursor('%%%'), undefined)
})

void t.test('lazy readiness: a connection turns enabled when read after its ready time, with a new etag', async (t) => {
  const now = { t: 1_000 }
  const store = newStore(now)
  const conn = store.create({
    sandboxName: 'prod',
    imsOrgId: 'O@AdobeOrg',
    actor: 'client',
    name: 'n',
    connectionSpec: { id: SALESFORCE, version: '1.0' },
    auth: { specName: 'Basic Authentication', params: {} },
    readyDelayMs: 500
  })
  const createEtag = conn.etag
  now.t = 1_499
  t.equal(store.get('prod', conn.id)?.state, 'initializing')
  now.t = 1_500
  const ready = store.get('prod', conn.id)
  t.equal(ready?.state, 'enabled')
  t.equal(ready?.updatedAt, 1_500)
  t.equal(ready?.updatedBy, 'acp_foundation_connectors@AdobeID')
  t.not(ready?.etag, createEtag)
})
