// Names that trip filters (commas, quotes, '==', unicode, 256 characters) read exactly as Flow Service reads them:
// the value is URL-decoded, then split on every ','; and ordered paging across creates made between page reads.
import t from 'tap'
import { parseListQuery } from '../../src/emulator/list-query.js'
import { harness, MARKETING_CLOUD, SALESFORCE } from './helpers.js'

interface ListBody {
  items: Array<{ id: string; name: string; createdAt: number }>
  _links: { next?: { href: string } }
}

const clauseOf = (query: string): unknown => {
  const plan = parseListQuery(new URLSearchParams(query))
  return 'clauses' in plan ? plan.clauses : plan
}

void t.test('the parser splits on commas after URL-decoding, and keeps everything else of a value', async (t) => {
  t.same(clauseOf('property=name==ACME%2C%20Inc.'), [{ field: 'name', op: '==', values: ['ACME', ' Inc.'] }])
  t.same(
    clauseOf('property=name==ACME,%20Inc.'),
    [{ field: 'name', op: '==', values: ['ACME', ' Inc.'] }],
    'encoded or not, the same'
  )
  t.same(
    clauseOf('property=name%3D%3Da%3D%3Db'),
    [{ field: 'name', op: '==', values: ['a==b'] }],
    "the first '==' is the operator"
  )
  t.same(clauseOf('property=name!%3Dc!%3Dd'), [{ field: 'name', op: '!=', values: ['c!=d'] }])
  t.same(
    clauseOf(`property=${encodeURIComponent('name=="Prod" \'EU\'')}`),
    [{ field: 'name', op: '==', values: ['"Prod" \'EU\''] }],
    'quotes are plain characters'
  )
  t.same(
    clauseOf('property=name==a+b%2Bc'),
    [{ field: 'name', op: '==', values: ['a b+c'] }],
    "'+' is a space, %2B a plus"
  )
  t.same(clauseOf(`property=${encodeURIComponent('name==Größe 日本 🚀')}`), [
    { field: 'name', op: '==', values: ['Größe 日本 🚀'] }
  ])
  t.same(
    clauseOf('property=name==a,,b,'),
    [{ field: 'name', op: '==', values: ['a', '', 'b', ''] }],
    'empty parts stay (and match nothing)'
  )
  t.same(clauseOf(`property=${encodeURIComponent('name==a==b,c!=d&limit=1')}`), [
    { field: 'name', op: '==', values: ['a==b', 'c!=d&limit=1'] }
  ])
})

const HARD_NAMES: Record<string, { name: string; findable: boolean }> = {
  comma: { name: 'ACME, Inc.', findable: false },
  'comma without space': { name: 'ACME,Inc.', findable: false },
  quotes: { name: 'ACME "Prod" \'EU\'', findable: true },
  '== inside': { name: 'a==b', findable: true },
  'filter syntax with a comma': { name: 'a==b,c!=d&limit=1', findable: false },
  unicode: { name: 'Größe 日本 🚀 Ünïcødé', findable: true },
  '256 characters': { name: 'n'.repeat(256), findable: true },
  '256 characters with a comma': { name: `${'n'.repeat(250)}, end.`, findable: false }
}

void t.test('looking up hard names by property=name==', async (t) => {
  const h = await harness(t)
  const ids: Record<string, string> = {}
  for (const [label, { name }] of Object.entries(HARD_NAMES)) ids[label] = (await h.create({ name })).id
  // The parts of the comma names exist as connections too: a filter finds those, never the whole name.
  const acme = (await h.create({ name: 'ACME' })).id
  const inc = (await h.create({ name: ' Inc.' })).id
  const list = async (filter: string): Promise<string[]> => {
    const res = await h.flow('GET', `/connections?property=${encodeURIComponent(filter)}`)
    t.equal(res.status, 200)
    return (res.json as ListBody).items.map((c) => c.id)
  }

  for (const [label, { name, findable }] of Object.entries(HARD_NAMES)) {
    void t.test(`${label}: ${findable ? 'found exactly' : 'never found by its name'}`, async (t) => {
      t.equal(h.emu.control.storedConnection(ids[label] as string)?.name, name, 'stored as sent')
      t.equal((await h.read(ids[label] as string)).name, name, 'read back as sent')
      const found = await list(`name==${name}`)
      if (findable) t.same(found, [ids[label]])
      else t.notOk(found.includes(ids[label] as string))
    })
  }

  void t.test('name==ACME%2C%20Inc. means ACME or " Inc."', async (t) => {
    const res = await h.flow('GET', '/connections?property=name==ACME%2C%20Inc.')
    t.same(
      (res.json as ListBody).items.map((c) => c.id),
      [acme, inc]
    )
  })

  void t.test('!= with a comma name excludes its parts, not the name', async (t) => {
    const found = await list('name!=ACME, Inc.')
    t.notOk(found.includes(acme))
    t.notOk(found.includes(inc))
    t.ok(found.includes(ids.comma as string))
  })

  void t.test('a 256-character name filters and counts like any other', async (t) => {
    const res = await h.flow(
      'GET',
      `/connections?count=true&property=${encodeURIComponent(`name==${'n'.repeat(256)}`)}`
    )
    t.same(res.json, { count: 1 })
  })
})

void t.test(
  'orderby=-createdAt with a connectionSpec.id filter pages every match once while connections are created between pages',
  async (t) => {
    const h = await harness(t)
    const before: string[] = []
    for (let i = 0; i < 11; i++) before.push((await h.create({ name: `before-${i}` })).id)
    const made: string[] = []
    const seen: ListBody['items'] = []
    let href: string | undefined = `/connections?orderby=-createdAt&property=connectionSpec.id==${SALESFORCE}&limit=3`
    let pages = 0
    while (href !== undefined) {
      const res = await h.flow('GET', href)
      t.equal(res.status, 200, href)
      const body = res.json as ListBody
      seen.push(...body.items)
      href = body._links.next?.href
      pages++
      // Between reads: a matching connection (newer than every item, so before the cursor) and one of another spec.
      made.push((await h.create({ name: `between-${pages}` })).id)
      await h.flow('POST', '/connections', {
        body: {
          name: `sfmc-${pages}`,
          auth: {
            specName: 'Client-Id-Secret Based Authentication',
            params: { host: 'acme.rest.marketingcloudapis.com', clientId: 'c', clientSecret: 's' }
          },
          connectionSpec: { id: MARKETING_CLOUD, version: '1.0' }
        }
      })
    }
    t.equal(pages, 4)
    const ids = seen.map((c) => c.id)
    t.equal(new Set(ids).size, ids.length, 'no item twice')
    t.same([...ids].sort(), [...before].sort(), 'every connection that existed at the start, and only those')
    for (let i = 1; i < seen.length; i++)
      t.ok(
        (seen[i - 1] as { createdAt: number }).createdAt >= (seen[i] as { createdAt: number }).createdAt,
        'newest first'
      )
    t.ok(made.length > 0)
  }
)

void t.test('deleting an unseen item between ordered pages neither repeats nor skips the others', async (t) => {
  const h = await harness(t)
  const ids: string[] = []
  for (let i = 0; i < 9; i++) ids.push((await h.create({ name: `c-${i}` })).id)
  const first = (await h.flow('GET', '/connections?orderby=+name&limit=4')).json as ListBody
  t.same(
    first.items.map((c) => c.name),
    ['c-0', 'c-1', 'c-2', 'c-3']
  )
  h.emu.control.deleteConnection(ids[1] as string) // already seen
  h.emu.control.deleteConnection(ids[5] as string) // not yet seen
  const second = (await h.flow('GET', first._links.next?.href ?? '')).json as ListBody
  t.same(
    second.items.map((c) => c.name),
    ['c-4', 'c-6', 'c-7', 'c-8']
  )
  t.same(second._links, {})
})
