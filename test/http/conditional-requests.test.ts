// The broker's own ETag on a connection: 304 for If-None-Match on reads; If-Match on PATCH, PUT credentials and
// DELETE (412 when stale or malformed, nothing changed); and of two writers with the same If-Match, one at most wins.
import t from 'tap'
import { auditOf, connectionRow, eventually, salesforceBody } from '../support/lifecycle-fixtures.js'
import { startTestApp, startTestBroker } from '../support/test-broker.js'

interface Resource {
  id: string
  name: string
  state: string
  flowConnectionId: string
  etag: string
  updatedAt: string
}
interface Problem {
  type: string
  status: number
  detail: string
  errors?: Array<{ path: string; message: string }>
  etag?: string
  state?: string
  connectionId?: string
}

const b = await startTestApp(t, { readyDelayMs: 0 })
const control = b.emulator.control

async function enabledConnection(): Promise<{ created: Resource; password: string }> {
  const body = salesforceBody()
  const res = await b.request({ method: 'POST', url: '/v1/connections', body })
  if (res.statusCode !== 201) throw new Error(res.body)
  const created = res.json<Resource>()
  await eventually(() => (control.storedConnection(created.flowConnectionId)?.state === 'enabled' ? true : undefined))
  return { created, password: body.auth.params.password }
}

const read = async (id: string, headers: Record<string, string> = {}) =>
  await b.request({ method: 'GET', url: `/v1/connections/${id}`, headers })

void t.test('GET answers a strong ETag of its own, not the body etag, stable while nothing changes', async (t) => {
  const { created } = await enabledConnection()
  const first = await read(created.id)
  const etag = first.headers.etag as string
  t.match(etag, /^"[A-Za-z0-9_-]{22}"$/, 'strong: quoted, no W/')
  t.not(etag, first.json<Resource>().etag, "not Flow Service's etag")
  t.equal((await read(created.id)).headers.etag, etag, 'the same representation, the same tag')
  t.equal(
    (
      await b.request({
        method: 'GET',
        url: `/v1/connections/${created.id}`,
        headers: { 'if-none-match': '"other"' }
      })
    ).statusCode,
    200,
    'a tag that is not current: the full answer'
  )
})

void t.test(
  'If-None-Match naming the current ETag (strong or weak, in a list, or *): 304 without a body',
  async (t) => {
    const { created } = await enabledConnection()
    const etag = (await read(created.id)).headers.etag as string
    for (const header of [etag, `W/${etag}`, `"x", ${etag}`, '*']) {
      const res = await read(created.id, { 'if-none-match': header })
      t.equal(res.statusCode, 304, header)
      t.equal(res.body, '', `${header}: no body`)
      t.equal(res.headers.etag, etag, `${header}: the ETag again`)
    }
  }
)

void t.test('a rename changes the ETag; the PATCH answer carries the new one, as GET then does', async (t) => {
  const { created } = await enabledConnection()
  const before = (await read(created.id)).headers.etag as string
  const renamed = await b.request({
    method: 'PATCH',
    url: `/v1/connections/${created.id}`,
    body: { name: 'Renamed' },
    headers: { 'if-match': before }
  })
  t.equal(renamed.statusCode, 200, renamed.body)
  t.not(renamed.headers.etag, before)
  t.equal((await read(created.id)).headers.etag, renamed.headers.etag)
  t.equal((await read(created.id, { 'if-none-match': before })).statusCode, 200, 'the old tag is stale')
})

void t.test(
  'PATCH with a stale If-Match: 412 problem naming the header and the current ETag; nothing changes',
  async (t) => {
    const { created, password } = await enabledConnection()
    const current = (await read(created.id)).headers.etag as string
    const res = await b.request({
      method: 'PATCH',
      url: `/v1/connections/${created.id}`,
      body: { name: 'Should not happen' },
      headers: { 'if-match': '"bogus"' }
    })
    t.equal(res.statusCode, 412, res.body)
    t.match(res.headers['content-type'], /^application\/problem\+json/)
    const problem = res.json<Problem>()
    t.match(problem, {
      status: 412,
      type: /precondition-failed/,
      detail: /If-Match "bogus" does not match .*current ETag/,
      etag: current,
      state: String,
      connectionId: created.id,
      errors: [{ path: 'header.if-match' }]
    })
    t.notOk(res.body.includes(password), 'no secret in the problem')
    t.match(
      (await auditOf(b, created.id)).filter((a) => a.action === 'connection.rename'),
      [{ outcome: 'denied', detail: { status: 412 } }],
      'the refused change is an audit row'
    )
    t.equal((await connectionRow(b, created.id)).name, created.name, 'not renamed in the broker')
    t.equal(control.storedConnection(created.flowConnectionId)?.name, created.name, 'nor in Flow Service')
  }
)

void t.test('If-Match that is not an entity tag: 412 saying what to send', async (t) => {
  const { created } = await enabledConnection()
  for (const header of ['bogus', '"unterminated', 'W/']) {
    const res = await b.request({
      method: 'PATCH',
      url: `/v1/connections/${created.id}`,
      body: { name: 'Should not happen' },
      headers: { 'if-match': header }
    })
    t.equal(res.statusCode, 412, header)
    t.match(res.json<Problem>(), { detail: /not an entity tag.*double quotes/, errors: [{ path: 'header.if-match' }] })
  }
  t.equal((await connectionRow(b, created.id)).name, created.name)
})

void t.test('If-Match compares strongly: the weak form of the current tag does not match; * does', async (t) => {
  const { created } = await enabledConnection()
  const etag = (await read(created.id)).headers.etag as string
  const weak = await b.request({
    method: 'PATCH',
    url: `/v1/connections/${created.id}`,
    body: { name: 'Weak' },
    headers: { 'if-match': `W/${etag}` }
  })
  t.equal(weak.statusCode, 412)
  const any = await b.request({
    method: 'PATCH',
    url: `/v1/connections/${created.id}`,
    body: { name: 'Any' },
    headers: { 'if-match': '*' }
  })
  t.equal(any.statusCode, 200, any.body)
  t.equal(any.json<Resource>().name, 'Any')
})

void t.test('PUT credentials honours If-Match; its answer carries the connection ETag', async (t) => {
  const { created } = await enabledConnection()
  const params = salesforceBody().auth.params
  const stale = await b.request({
    method: 'PUT',
    url: `/v1/connections/${created.id}/credentials`,
    body: { params },
    headers: { 'if-match': '"stale"' }
  })
  t.equal(stale.statusCode, 412, stale.body)
  t.notOk(stale.body.includes(params.password))
  t.equal((await connectionRow(b, created.id)).secret_version, 1, 'no new secret version went live')

  const etag = (await read(created.id)).headers.etag as string
  const rotated = await b.request({
    method: 'PUT',
    url: `/v1/connections/${created.id}/credentials`,
    body: { params },
    headers: { 'if-match': etag }
  })
  t.equal(rotated.statusCode, 200, rotated.body)
  t.not(rotated.headers.etag, etag, 'a new version is a new tag')
  t.equal((await read(created.id)).headers.etag, rotated.headers.etag, 'the ETag GET answers')
})

void t.test('DELETE honours If-Match: stale → 412 and the connection lives; current → 204', async (t) => {
  const { created } = await enabledConnection()
  const stale = await b.request({
    method: 'DELETE',
    url: `/v1/connections/${created.id}`,
    headers: { 'if-match': '"stale"' }
  })
  t.equal(stale.statusCode, 412, stale.body)
  t.not((await connectionRow(b, created.id)).state, 'deleted')
  t.ok(control.storedConnection(created.flowConnectionId), 'still in Flow Service')

  const etag = (await read(created.id)).headers.etag as string
  const deleted = await b.request({
    method: 'DELETE',
    url: `/v1/connections/${created.id}`,
    headers: { 'if-match': etag }
  })
  t.equal(deleted.statusCode, 204, deleted.body)
  t.equal((await connectionRow(b, created.id)).state, 'deleted')
  const again = await b.request({
    method: 'DELETE',
    url: `/v1/connections/${created.id}`,
    headers: { 'if-match': etag }
  })
  t.equal(again.statusCode, 412, 'the tag from before the delete is stale on the deleted connection')
})

void t.test('without If-Match, changes stay unconditional', async (t) => {
  const { created } = await enabledConnection()
  const res = await b.request({ method: 'PATCH', url: `/v1/connections/${created.id}`, body: { name: 'Plain' } })
  t.equal(res.statusCode, 200, res.body)
})

void t.test('two renames with the same If-Match at once: one succeeds, the other is refused', async (t) => {
  // Real time here: the loser must wait for the winner's lease as a real request would (under the virtual clock its
  // wait would run out at once), so a check made before the lease would let both through.
  const rb = await startTestBroker(t, { poller: false, reconciler: false, readyDelayMs: 0 })
  const res = await rb.request({ method: 'POST', url: '/v1/connections', body: salesforceBody() })
  const created = res.json<Resource>()
  await eventually(() =>
    rb.emulator.control.storedConnection(created.flowConnectionId)?.state === 'enabled' ? true : undefined
  )
  const etag = (await rb.request({ method: 'GET', url: `/v1/connections/${created.id}` })).headers.etag as string
  const names = ['Writer A', 'Writer B']
  const answers = await Promise.all(
    names.map(
      async (name) =>
        await rb.request({
          method: 'PATCH',
          url: `/v1/connections/${created.id}`,
          body: { name },
          headers: { 'if-match': etag }
        })
    )
  )
  const statuses = answers.map((a) => a.statusCode)
  t.equal(statuses.filter((s) => s === 200).length, 1, `exactly one succeeds: ${statuses.join(', ')}`)
  const loser = answers.find((a) => a.statusCode !== 200)
  t.equal(loser?.statusCode, 412, `the other meets the winner's change: ${loser?.body ?? ''}`)
  const winner = names[statuses.indexOf(200)]
  t.equal(rb.emulator.control.storedConnection(created.flowConnectionId)?.name, winner, 'Flow Service has the winner')
  t.equal((await connectionRow(rb, created.id)).name, winner)
})
