// Connection state over time: initializing → enabled after readyDelayMs (by Adobe's own identity), forced states.
import t from 'tap'
import { harness, QUOTED_ETAG, sleep } from './helpers.js'

void t.test('with readyDelayMs 0 a new connection reads enabled at once', async (t) => {
  const h = await harness(t, { readyDelayMs: 0 })
  const { id } = await h.create()
  const conn = await h.read(id)
  t.equal(conn.state, 'enabled')
  t.equal(conn.updatedBy, 'acp_foundation_connectors@AdobeID')
  t.match(conn.etag, QUOTED_ETAG)
})

void t.test('with a ready delay', async (t) => {
  const h = await harness(t, { readyDelayMs: 300 })
  const created = await h.create()

  void t.test('right after create: initializing, without version or etag', async (t) => {
    const conn = await h.read(created.id)
    t.equal(conn.state, 'initializing')
    t.notOk('etag' in conn)
    t.notOk('version' in conn)
    t.equal(conn.updatedBy, h.emu.credentials.clientId)
    t.equal(h.emu.control.storedConnection(created.id)?.state, 'initializing')
  })

  void t.test('after the delay: enabled, moved by acp_foundation_connectors, with a new etag', async (t) => {
    await sleep(350)
    const conn = await h.read(created.id)
    t.equal(conn.state, 'enabled')
    t.equal(conn.updatedBy, 'acp_foundation_connectors@AdobeID')
    t.equal(conn.updatedClient, 'acp_foundation_connectors')
    t.match(conn.etag, QUOTED_ETAG)
    t.not(conn.etag, created.etag, 'Adobe’s move is an update: the create etag is stale now')
    t.ok((conn.updatedAt as number) >= (conn.createdAt as number) + 300)
  })

  void t.test('the state also settles in lists and state filters without a GET by id', async (t) => {
    const other = await h.create({ name: 'second' })
    const init = await h.flow('GET', '/connections?property=state==initializing')
    t.same(
      (init.json as { items: Array<{ id: string }> }).items.map((c) => c.id),
      [other.id]
    )
    await sleep(350)
    const after = await h.flow('GET', '/connections?property=state==initializing&count=true')
    t.same(after.json, { count: 0 })
  })

  void t.test('setReadyDelayMs applies to connections created afterwards', async (t) => {
    h.emu.control.setReadyDelayMs(0)
    t.equal(h.emu.control.readyDelayMs(), 0)
    const { id } = await h.create({ name: 'fast' })
    t.equal((await h.read(id)).state, 'enabled')
  })
})

void t.test('forced states', async (t) => {
  const h = await harness(t)

  void t.test('any string, even one Flow Service only uses internally, with a new etag', async (t) => {
    const { id } = await h.create()
    const before = await h.read(id)
    t.ok(h.emu.control.forceState(id, 'enabled-finalizing'))
    const after = await h.read(id)
    t.equal(after.state, 'enabled-finalizing')
    t.not(after.etag, before.etag)
    t.equal(after.updatedBy, 'acp_foundation_connectors@AdobeID')
  })

  void t.test('a forced initializing stays initializing (no automatic move)', async (t) => {
    const { id } = await h.create()
    h.emu.control.forceState(id, 'initializing')
    await sleep(20)
    t.equal((await h.read(id)).state, 'initializing')
  })

  void t.test('disabled, then enabled again', async (t) => {
    const { id } = await h.create()
    h.emu.control.forceState(id, 'disabled')
    t.equal((await h.read(id)).state, 'disabled')
    h.emu.control.forceState(id, 'enabled')
    t.equal((await h.read(id)).state, 'enabled')
  })

  void t.test('an unknown id is reported', async (t) => {
    t.equal(h.emu.control.forceState('nope', 'enabled'), false)
  })

  void t.test('deleted behind the broker’s back: a GET is 404', async (t) => {
    const { id } = await h.create()
    t.ok(h.emu.control.deleteConnection(id))
    t.equal((await h.flow('GET', `/connections/${id}`)).status, 404)
    t.equal(h.emu.control.deleteConnection(id), false)
  })
})
