// 100 000 connections: seeding, a page of 100 by ids, deep paging, counts. No timing assertions: it must just work.
import t from 'tap'
import { harness } from './helpers.js'

void t.test('100 000 connections', async (t) => {
  const h = await harness(t)
  const ids = h.emu.control.seed({ count: 100_000 })
  t.equal(ids.length, 100_000)
  t.equal(new Set(ids).size, 100_000, 'all ids distinct')

  void t.test('count sees them all', async (t) => {
    t.same((await h.flow('GET', '/connections?count=true')).json, { count: 100_000 })
  })

  void t.test('a page of 100 by ids, as the poller asks', async (t) => {
    const wanted = ids.filter((_, i) => i % 997 === 0).slice(0, 100)
    const res = await h.flow('GET', `/connections?property=id==${wanted.join(',')}&limit=100`)
    t.equal(res.status, 200)
    const items = (res.json as { items: Array<{ id: string; state: string }> }).items
    t.same(
      items.map((c) => c.id),
      wanted
    )
    t.ok(items.every((c) => c.state === 'enabled'))
  })

  void t.test('a name lookup uses the index', async (t) => {
    const res = await h.flow('GET', '/connections?property=name==seed-99999')
    t.same(
      (res.json as { items: Array<{ id: string }> }).items.map((c) => c.id),
      [ids[99_999]]
    )
  })

  void t.test('following next links far into the list', async (t) => {
    let href: string | undefined = '/connections?limit=100'
    let pages = 0
    let last: string | undefined
    while (href !== undefined && pages < 50) {
      const body = (await h.flow('GET', href)).json as {
        items: Array<{ id: string }>
        _links: { next?: { href: string } }
      }
      pages++
      last = body.items.at(-1)?.id
      href = body._links.next?.href
    }
    t.equal(pages, 50)
    t.equal(last, ids[4_999])
  })

  void t.test('deleting many keeps lists and counts right', async (t) => {
    for (let i = 0; i < 60_000; i++) h.emu.control.deleteConnection(ids[i] as string)
    t.same((await h.flow('GET', '/connections?count=true')).json, { count: 40_000 })
    const first = (await h.flow('GET', '/connections?limit=2')).json as { items: Array<{ id: string }> }
    t.same(
      first.items.map((c) => c.id),
      [ids[60_000], ids[60_001]]
    )
  })
})
