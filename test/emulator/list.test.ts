// GET /connections: property filters (comma = OR, repeated = AND), paging with continuationToken, limit, count, orderby.
import t from 'tap'
import { harness, MARKETING_CLOUD, SALESFORCE } from './helpers.js'

interface ListBody {
  items: Array<{ id: string; name: string; state: string; connectionSpec: { id: string } }>
  _links: { next?: { href: string } }
}

void t.test('listing connections', async (t) => {
  const h = await harness(t)
  const ids: string[] = []
  for (let i = 0; i < 7; i++)
    ids.push((await h.create({ name: `conn-${i}`, description: i % 2 === 0 ? 'even' : 'odd' })).id)
  const sfmc = (
    await h.flow('POST', '/connections', {
      body: {
        name: 'sfmc',
        auth: {
          specName: 'Client-Id-Secret Based Authentication',
          params: { host: 'acme.rest.marketingcloudapis.com', clientId: 'c', clientSecret: 's' }
        },
        connectionSpec: { id: MARKETING_CLOUD, version: '1.0' }
      }
    })
  ).json as { id: string }
  h.emu.control.forceState(ids[0] as string, 'disabled')
  h.emu.control.forceState(ids[1] as string, 'enabled-finalizing')

  const list = async (query: string): Promise<ListBody> => {
    const res = await h.flow('GET', `/connections${query}`)
    if (res.status !== 200) throw new Error(`${res.status} ${res.text}`)
    return res.json as ListBody
  }
  const names = (body: ListBody): string[] => body.items.map((c) => c.name)

  void t.test('without filters: everything in creation order, and no next link when it all fits', async (t) => {
    const body = await list('')
    t.same(names(body), ['conn-0', 'conn-1', 'conn-2', 'conn-3', 'conn-4', 'conn-5', 'conn-6', 'sfmc'])
    t.same(body._links, {})
  })

  void t.test('property=id==a,b,c returns those ids (comma = OR)', async (t) => {
    const body = await list(`?property=id==${ids[5]},${ids[2]},${sfmc.id},not-there`)
    t.same(
      body.items.map((c) => c.id),
      [ids[2], ids[5], sfmc.id]
    )
  })

  void t.test('property=name==x matches the exact name', async (t) => {
    t.same(names(await list('?property=name==conn-3')), ['conn-3'])
    t.same(names(await list('?property=name==conn')), [])
  })

  void t.test('an encoded comma still splits: a name with a comma is never found by name', async (t) => {
    const { id } = await h.create({ name: 'With Spaces & Symbols, Inc.' })
    const body = await list(`?property=${encodeURIComponent('name==With Spaces & Symbols, Inc.')}`)
    t.same(body.items, [], 'looked up as "With Spaces & Symbols" or " Inc."')
    t.same(
      names(await list(`?property=${encodeURIComponent('name==conn-1 ,conn-2, conn-3')}`)),
      ['conn-2'],
      'parts are not trimmed'
    )
    h.emu.control.deleteConnection(id)
  })

  void t.test('repeated property parameters are AND-ed', async (t) => {
    t.same(names(await list('?property=description==even&property=name==conn-2,conn-3')), ['conn-2'])
  })

  void t.test('state, description and connectionSpec.id can be filtered', async (t) => {
    t.same(names(await list('?property=state==disabled')), ['conn-0'])
    t.same(names(await list('?property=state==enabled-finalizing,disabled')), ['conn-0', 'conn-1'])
    t.same(names(await list('?property=description==odd')), ['conn-1', 'conn-3', 'conn-5'])
    t.same(names(await list(`?property=connectionSpec.id==${MARKETING_CLOUD}`)), ['sfmc'])
    t.equal((await list(`?property=connectionSpec.id==${SALESFORCE}`)).items.length, 7)
  })

  void t.test('!= excludes', async (t) => {
    t.same(names(await list('?property=state!=enabled')), ['conn-0', 'conn-1'])
  })

  void t.test('an unsupported field or operator is 400', async (t) => {
    t.equal((await h.flow('GET', '/connections?property=auth.specName==x')).status, 400)
    t.equal((await h.flow('GET', '/connections?property=name')).status, 400)
  })

  void t.test('limit pages, and _links.next.href carries the continuationToken and the same filters', async (t) => {
    const seen: string[] = []
    let href: string | undefined = '/connections?property=description==even,odd&limit=3'
    let pages = 0
    while (href !== undefined) {
      const body = await list(href.slice('/connections'.length))
      pages++
      t.ok(body.items.length <= 3)
      seen.push(...names(body))
      href = body._links.next?.href
      if (href !== undefined) {
        t.match(href, /^\/connections\?/)
        t.match(href, /continuationToken=/)
        t.match(decodeURIComponent(href), /property=description==even,odd/)
        t.match(href, /limit=3/)
      }
    }
    t.equal(pages, 3)
    t.same(seen, ['conn-0', 'conn-1', 'conn-2', 'conn-3', 'conn-4', 'conn-5', 'conn-6'])
  })

  void t.test('a page exactly filled has no next link', async (t) => {
    const body = await list('?property=description==odd&limit=3')
    t.equal(body.items.length, 3)
    t.same(body._links, {})
  })

  void t.test('limit above 100, zero or not a number is 400', async (t) => {
    for (const limit of ['101', '0', '-1', 'ten']) {
      const res = await h.flow('GET', `/connections?limit=${limit}`)
      t.equal(res.status, 400, `limit=${limit}`)
      t.match(res.json, { status: 400, errorMessage: /limit/ })
    }
    t.equal((await h.flow('GET', '/connections?limit=100')).status, 200)
  })

  void t.test('a forged continuationToken is 400', async (t) => {
    t.equal((await h.flow('GET', '/connections?continuationToken=garbage')).status, 400)
  })

  void t.test('count=true gives {count: N}, with the filters applied', async (t) => {
    t.same((await h.flow('GET', '/connections?count=true')).json, { count: 8 })
    t.same((await h.flow('GET', '/connections?count=true&property=description==odd')).json, { count: 3 })
  })

  void t.test('count with limit is 1401-400', async (t) => {
    const res = await h.flow('GET', '/connections?count=true&limit=10')
    t.equal(res.status, 400)
    t.match((res.json as { type: string }).type, /FLOW-1401-400$/)
  })

  void t.test('orderby=-name sorts descending, +name (even unencoded) ascending, and pages with offsets', async (t) => {
    const desc = await list('?orderby=-name&property=connectionSpec.id==' + SALESFORCE)
    t.same(names(desc), ['conn-6', 'conn-5', 'conn-4', 'conn-3', 'conn-2', 'conn-1', 'conn-0'])
    const asc = await list('?orderby=+name&limit=4&property=description==even,odd')
    t.same(names(asc), ['conn-0', 'conn-1', 'conn-2', 'conn-3'])
    const next = asc._links.next?.href
    t.ok(next)
    t.same(names(await list((next as string).slice('/connections'.length))), ['conn-4', 'conn-5', 'conn-6'])
  })

  void t.test('orderby on an unknown field is 400', async (t) => {
    t.equal((await h.flow('GET', '/connections?orderby=auth')).status, 400)
  })

  void t.test('deleted connections drop out of lists and counts at once', async (t) => {
    await h.remove(ids[6] as string)
    t.notOk(names(await list('')).includes('conn-6'))
    t.same((await h.flow('GET', '/connections?count=true')).json, { count: 7 })
  })

  void t.test('list items mask secrets like GET does', async (t) => {
    const res = await h.flow('GET', '/connections')
    t.notMatch(res.text, 'hunter2-very-secret')
    t.match(res.text, 'arn:aws:secretsmanager')
  })
})
