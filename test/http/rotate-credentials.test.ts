// PUT /v1/connections/{id}/credentials: a new secret version, then Flow Service's PATCH with the stored etag; the new
// version is live only once Flow Service took it. Every fault leaves one set of credentials live, the same in the
// secret store's row pointer and in Flow Service.
import t from 'tap'
import {
  connectionRow,
  eventually,
  salesforceBody,
  type SalesforceBody,
  auditOf
} from '../support/lifecycle-fixtures.js'
import { startTestApp, type TestBroker } from '../support/test-broker.js'
import { startVaultEmulator } from '../support/vault-emulator.js'

interface Resource {
  id: string
  state: string
  flowConnectionId: string
  etag: string
  auth: { params: Record<string, string> }
}
interface Problem {
  type: string
  detail: string
  errors?: Array<{ path: string; message: string }>
  downstream?: { code: string | null }
}

// Virtual time (startTestApp): backoff, Retry-After and initializing waits are instant. Held answers still wait for
// the client's real timeout (undici checks it on a ~0.5 s tick, so a lower setting would not make them shorter).
const b = await startTestApp(t, {
  readyDelayMs: 0,
  env: {
    FLOW_SERVICE_TIMEOUT_MS: '500',
    CHANGE_DEADLINE_MS: '3000',
    CREATE_DEADLINE_MS: '3000',
    PENDING_GRACE_MS: '4000'
  }
})
const control = b.emulator.control
t.beforeEach(() => {
  control.clearFaults()
  control.setReadyDelayMs(0)
})

/** A connection Flow Service has enabled (its etag has changed since the create answered). */
async function enabledConnection(broker: TestBroker = b): Promise<{ created: Resource; body: SalesforceBody }> {
  const body = salesforceBody()
  const res = await broker.request({ method: 'POST', url: '/v1/connections', body })
  if (res.statusCode !== 201) throw new Error(res.body)
  const created = res.json<Resource>()
  await eventually(() =>
    broker.emulator.control.storedConnection(created.flowConnectionId)?.state === 'enabled' ? true : undefined
  )
  return { created, body }
}

const newParams = (body: SalesforceBody, password: string): SalesforceBody['auth']['params'] => ({
  ...body.auth.params,
  password
})

async function rotate(
  id: string,
  params: Record<string, unknown>,
  broker: TestBroker = b
): Promise<ReturnType<TestBroker['request']>> {
  return await broker.request({ method: 'PUT', url: `/v1/connections/${id}/credentials`, body: { params } })
}

void t.test(
  'rotation: 200, a new secret version, Flow Service holds the new password, the new etag is stored',
  async (t) => {
    const { created, body } = await enabledConnection()
    const calls = control.callCounts()
    const res = await rotate(created.id, newParams(body, 'rotated-password-1'))
    t.equal(res.statusCode, 200, res.body)
    const rotated = res.json<Resource>()
    t.equal(rotated.auth.params.password, `local:connections/${created.id}#password@v2`)
    t.equal(rotated.auth.params.securityToken, `local:connections/${created.id}#securityToken@v2`)
    t.equal(rotated.auth.params.username, body.auth.params.username)
    const downstream = control.storedConnection(created.flowConnectionId)
    t.equal(downstream?.auth.params.password, 'rotated-password-1')
    t.equal(rotated.etag, downstream?.etag, 'the etag Flow Service gave back, quotes included')
    t.match(rotated.etag, /^".+"$/)
    t.same(await b.broker.secrets.read(created.id), {
      password: 'rotated-password-1',
      securityToken: body.auth.params.securityToken
    })
    // The stored etag was stale (the connection was enabled since): one 412, one GET, one more PATCH.
    t.equal(control.callCounts().update - calls.update, 2, 'PATCH, 412, PATCH')
    t.ok(control.callCounts().get - calls.get >= 1, 're-read the etag')
    const audit = (await auditOf(b, created.id)).filter((a) => a.action === 'connection.rotate')
    t.match(audit, [{ outcome: 'success', changed_fields: ['auth.params.password'] }])
    t.notMatch(JSON.stringify(audit), 'rotated-password-1', 'no value in the audit')
    t.notMatch(res.body, 'rotated-password-1', 'no value in the answer')
    t.notMatch(b.logs(), 'rotated-password-1', 'no value in the logs')
  }
)

void t.test('rotation with the current etag: one PATCH, If-Match accepted as stored', async (t) => {
  const { created, body } = await enabledConnection()
  await rotate(created.id, newParams(body, 'first-rotation'))
  const calls = control.callCounts()
  const res = await rotate(created.id, newParams(body, 'second-rotation'))
  t.equal(res.statusCode, 200)
  t.equal(control.callCounts().update - calls.update, 1, 'the stored etag was current')
  t.equal(res.json<Resource>().auth.params.password, `local:connections/${created.id}#password@v3`)
})

void t.test("the params are checked like a create's: bad fields named under /params, nothing sent", async (t) => {
  const { created, body } = await enabledConnection()
  const calls = control.callCounts()
  const { password: _password, ...withoutPassword } = body.auth.params
  const missing = await rotate(created.id, withoutPassword)
  t.equal(missing.statusCode, 400)
  t.match(missing.json<Problem>().errors, [{ path: '/params/password' }])
  const extra = await rotate(created.id, { ...body.auth.params, clientSecret: 'not-a-param-here' })
  t.equal(extra.statusCode, 400)
  t.match(extra.json<Problem>().errors, [{ path: '/params/clientSecret' }])
  t.notMatch(extra.body, 'not-a-param-here')
  const noParams = await b.request({
    method: 'PUT',
    url: `/v1/connections/${created.id}/credentials`,
    body: { password: 'x' }
  })
  t.equal(noParams.statusCode, 400)
  t.equal(control.callCounts().update, calls.update, 'nothing sent downstream')
  t.equal((await connectionRow(b, created.id)).secret_version, 1)
})

void t.test(
  'Flow Service refuses the new credentials: 422 with its code; the previous version stays live everywhere',
  async (t) => {
    const { created, body } = await enabledConnection()
    control.injectFault('update', { kind: 'reject', code: '1100-400', message: 'invalid params' })
    const res = await rotate(created.id, newParams(body, 'refused-password'))
    t.equal(res.statusCode, 422)
    t.equal(res.json<Problem>().type, 'https://credential-broker.dev/problems/downstream-refused')
    t.equal(res.json<Problem>().downstream?.code, '1100-400')
    const row = await connectionRow(b, created.id)
    t.match(row, { secret_version: 1, pending_change: null })
    t.equal(
      control.storedConnection(created.flowConnectionId)?.auth.params.password,
      body.auth.params.password,
      'Flow Service kept the old password'
    )
    t.same(
      await b.broker.secrets.read(created.id, 1),
      { password: body.auth.params.password, securityToken: body.auth.params.securityToken },
      'the live version is intact'
    )
    t.equal(await b.broker.secrets.currentVersion(created.id), 2, 'the refused version stays in history, unreferenced')
    const shown = (await b.request({ method: 'GET', url: `/v1/connections/${created.id}` })).json<Resource>()
    t.equal(shown.auth.params.password, `local:connections/${created.id}#password@v1`)
    t.match(
      (await auditOf(b, created.id)).filter((a) => a.action === 'connection.rotate'),
      [{ outcome: 'failure' }]
    )

    // The next rotation writes on top of the unreferenced version and goes live.
    const next = await rotate(created.id, newParams(body, 'accepted-password'))
    t.equal(next.statusCode, 200)
    t.equal((await connectionRow(b, created.id)).secret_version, 3)
    t.equal(control.storedConnection(created.flowConnectionId)?.auth.params.password, 'accepted-password')
  }
)

void t.test('Flow Service unavailable for the whole budget: 503; the previous version stays live', async (t) => {
  const { created, body } = await enabledConnection()
  control.injectFault('update', { kind: 'status', status: 503 }, 1000)
  const res = await rotate(created.id, newParams(body, 'never-sent'))
  t.equal(res.statusCode, 503)
  t.ok(Number(res.headers['retry-after']) >= 1)
  t.match(await connectionRow(b, created.id), { secret_version: 1, pending_change: null })
  t.equal(control.storedConnection(created.flowConnectionId)?.auth.params.password, body.auth.params.password)
})

void t.test(
  'the PATCH landed but its answer was lost: the etag read again, the same values sent again, live on that 200',
  async (t) => {
    const { created, body } = await enabledConnection()
    await rotate(created.id, newParams(body, 'warm-up')) // the stored etag is current from here on
    const calls = control.callCounts()
    control.injectFault('update', { kind: 'lost-answer' })
    const res = await rotate(created.id, newParams(body, 'landed-password'))
    t.equal(res.statusCode, 200, res.body)
    // A read-back cannot show which password Flow Service holds: only a 200 to a PATCH carrying it counts.
    t.equal(control.callCounts().update - calls.update, 2, 'sent again with the etag read back')
    t.ok(control.callCounts().get - calls.get >= 1, 'read only for the current etag')
    t.match(await connectionRow(b, created.id), { secret_version: 3, pending_change: null })
    t.equal(control.storedConnection(created.flowConnectionId)?.auth.params.password, 'landed-password')
    t.equal(res.json<Resource>().etag, control.storedConnection(created.flowConnectionId)?.etag)
    t.match((await auditOf(b, created.id)).filter((a) => a.action === 'connection.rotate').at(-1), {
      outcome: 'success'
    })
  }
)

for (const [label, fault] of [
  ['a timeout', { kind: 'timeout', delayMs: 1500 }],
  ['a 500', { kind: 'status', status: 500 }],
  ['a reset', { kind: 'reset' }],
  ['a 502', { kind: 'status', status: 502 }],
  ['a 504', { kind: 'status', status: 504 }]
] as const) {
  void t.test(`the PATCH did not land (${label}): etag read again, sent again, 200`, async (t) => {
    const { created, body } = await enabledConnection()
    await rotate(created.id, newParams(body, 'warm-up'))
    const calls = control.callCounts()
    control.injectFault('update', fault)
    const res = await rotate(created.id, newParams(body, 'second-try-password'))
    t.equal(res.statusCode, 200, res.body)
    t.equal(control.callCounts().update - calls.update, 2)
    t.ok(control.callCounts().get - calls.get >= 1, 'read for the current etag')
    t.equal(control.storedConnection(created.flowConnectionId)?.auth.params.password, 'second-try-password')
    t.match(await connectionRow(b, created.id), { secret_version: 3, pending_change: null })
  })
}

const AFTER_AMBIGUOUS: Record<
  string,
  {
    first: Parameters<typeof control.injectFault>[1]
    then: Parameters<typeof control.injectFault>[1]
    count: number
    landed: boolean
  }
> = {
  'the re-send is refused (1100-400) after a lost answer': {
    first: { kind: 'lost-answer' },
    then: { kind: 'reject', code: '1100-400', message: 'invalid params' },
    count: 1,
    landed: true
  },
  'no re-send is answered 200 within the deadline after a timeout': {
    first: { kind: 'timeout', delayMs: 1500 },
    then: { kind: 'status', status: 503 },
    count: 1000,
    landed: false
  }
}

for (const [label, c] of Object.entries(AFTER_AMBIGUOUS)) {
  void t.test(
    `outcome unknown when ${label}: 503 with the connection id, pending kept, settled by the reconciler`,
    async (t) => {
      const { created, body } = await enabledConnection()
      await rotate(created.id, newParams(body, 'warm-up'))
      control.injectFault('update', c.first)
      control.injectFault('update', c.then, c.count)
      const res = await rotate(created.id, newParams(body, 'maybe-password'))
      t.equal(res.statusCode, 503, res.body)
      t.equal(
        res.json<Problem & { connectionId: string }>().type,
        'https://credential-broker.dev/problems/downstream-unavailable'
      )
      t.equal(res.json<Problem & { connectionId: string }>().connectionId, created.id)
      t.ok(Number(res.headers['retry-after']) >= 1)
      const row = await connectionRow(b, created.id)
      t.equal(row.secret_version, 2, 'not live until a 200 says so')
      t.match(row.pending_change, { kind: 'rotate', secretVersion: 3 })
      t.equal(
        control.storedConnection(created.flowConnectionId)?.auth.params.password,
        c.landed ? 'maybe-password' : 'warm-up'
      )
      t.match((await auditOf(b, created.id)).filter((a) => a.action === 'connection.rotate').at(-1), {
        outcome: 'failure'
      })

      control.clearFaults()
      t.match(await b.broker.reconciler.sweep(), { rotationsSettled: 1 })
      t.match(await connectionRow(b, created.id), {
        secret_version: 3,
        pending_change: null,
        etag: control.storedConnection(created.flowConnectionId)?.etag
      })
      t.equal(
        control.storedConnection(created.flowConnectionId)?.auth.params.password,
        'maybe-password',
        'sent again by the reconciler'
      )
    }
  )
}

void t.test(
  'Flow Service answers 404: 409 conflict; not recorded as deleted, secret kept, suspected gone',
  async (t) => {
    const { created, body } = await enabledConnection()
    control.deleteConnection(created.flowConnectionId)
    const res = await rotate(created.id, newParams(body, 'into-the-void'))
    t.equal(res.statusCode, 409, res.body)
    t.equal(res.json<Problem>().type, 'https://credential-broker.dev/problems/conflict')
    t.equal(Number(res.headers['retry-after']), 10)
    const row = await connectionRow(b, created.id)
    t.not(row.state, 'deleted', 'one 404 is not proof')
    t.match(row, { secret_version: 1, pending_change: null })
    t.ok(row.gone_suspected_at !== null, 'suspected gone: the poller confirms with a second 404')
    t.ok(row.duplicate_watch_until !== null, 'the reconciler looks for the marker first')
    t.ok((await b.broker.secrets.listKeys()).includes(created.id), 'secret kept')
    t.same(await b.broker.secrets.read(created.id, 1), {
      password: body.auth.params.password,
      securityToken: body.auth.params.securityToken
    })
    t.match(
      (await auditOf(b, created.id)).filter((a) => a.action === 'connection.rotate'),
      [{ outcome: 'failure' }]
    )
  }
)

void t.test('429 with Retry-After on the PATCH: waited, then 200', async (t) => {
  const { created, body } = await enabledConnection()
  control.injectFault('update', { kind: 'rate-limit', retryAfterSeconds: 1 })
  const started = b.clock.now()
  const res = await rotate(created.id, newParams(body, 'after-429'))
  t.equal(res.statusCode, 200, res.body)
  t.ok(b.clock.now() - started >= 1000, "waited at least the Retry-After, in the broker's (virtual) time")
})

void t.test(
  'outcome unknown (answer lost, then Flow Service unreadable): 503, settled later by the reconciler',
  async (t) => {
    const landed = await enabledConnection()
    control.injectFault('update', { kind: 'lost-answer' })
    control.injectFault('get', { kind: 'status', status: 503 }, 1000)
    const res = await rotate(landed.created.id, newParams(landed.body, 'maybe-landed'))
    t.equal(res.statusCode, 503)
    let row = await connectionRow(b, landed.created.id)
    t.equal(row.secret_version, 1, 'not live until known')
    t.match(row.pending_change, { kind: 'rotate', secretVersion: 2 })
    control.clearFaults()
    t.match(await b.broker.reconciler.sweep(), { rotationsSettled: 1 })
    row = await connectionRow(b, landed.created.id)
    t.match(row, {
      secret_version: 2,
      pending_change: null,
      etag: control.storedConnection(landed.created.flowConnectionId)?.etag
    })

    // And one that did not land: the reconciler sends the pending version again, and its 200 makes it live.
    const lost = await enabledConnection()
    await rotate(lost.created.id, newParams(lost.body, 'warm-up'))
    control.injectFault('update', { kind: 'timeout', delayMs: 1500 })
    control.injectFault('get', { kind: 'status', status: 503 }, 1000)
    const res2 = await rotate(lost.created.id, newParams(lost.body, 'never-landed'))
    t.equal(res2.statusCode, 503)
    t.equal(res2.json<Problem & { connectionId: string }>().connectionId, lost.created.id)
    t.match(await connectionRow(b, lost.created.id), { secret_version: 2, pending_change: { secretVersion: 3 } })
    t.equal(control.storedConnection(lost.created.flowConnectionId)?.auth.params.password, 'warm-up', 'did not land')
    control.clearFaults()
    t.match(await b.broker.reconciler.sweep(), { rotationsSettled: 1 })
    t.match(await connectionRow(b, lost.created.id), { secret_version: 3, pending_change: null })
    t.equal(control.storedConnection(lost.created.flowConnectionId)?.auth.params.password, 'never-landed')

    // And one Flow Service refuses when the reconciler sends it again: the live version is sent again and stays live.
    const refused = await enabledConnection()
    await rotate(refused.created.id, newParams(refused.body, 'warm-up'))
    control.injectFault('update', { kind: 'timeout', delayMs: 1500 })
    control.injectFault('get', { kind: 'status', status: 503 }, 1000)
    t.equal((await rotate(refused.created.id, newParams(refused.body, 'refused-later'))).statusCode, 503)
    control.clearFaults()
    const calls = control.callCounts()
    control.injectFault('update', { kind: 'reject', code: '1100-400', message: 'invalid params' })
    t.match(await b.broker.reconciler.sweep(), { rotationsSettled: 1 })
    t.equal(control.callCounts().update - calls.update, 2, 'the pending version, refused; then the live one')
    t.match(await connectionRow(b, refused.created.id), {
      secret_version: 2,
      pending_change: null,
      etag: control.storedConnection(refused.created.flowConnectionId)?.etag
    })
    t.equal(control.storedConnection(refused.created.flowConnectionId)?.auth.params.password, 'warm-up')
    t.match((await auditOf(b, refused.created.id)).filter((a) => a.action === 'connection.rotate').at(-1), {
      outcome: 'failure',
      actor: /reconciler/
    })
  }
)

void t.test('still initializing in Flow Service (1417-400): waits within the budget, then 200', async (t) => {
  control.setReadyDelayMs(1200)
  const body = salesforceBody()
  const created = (await b.request({ method: 'POST', url: '/v1/connections', body })).json<Resource>()
  const res = await rotate(created.id, newParams(body, 'after-initializing'))
  t.equal(res.statusCode, 200, res.body)
  t.equal(control.storedConnection(created.flowConnectionId)?.auth.params.password, 'after-initializing')
})

void t.test('initializing past the budget: 409 with Retry-After; nothing changed', async (t) => {
  control.setReadyDelayMs(60000)
  const body = salesforceBody()
  const created = (await b.request({ method: 'POST', url: '/v1/connections', body })).json<Resource>()
  const res = await rotate(created.id, newParams(body, 'too-early'))
  t.equal(res.statusCode, 409)
  t.equal(res.json<Problem>().type, 'https://credential-broker.dev/problems/connection-busy')
  t.ok(Number(res.headers['retry-after']) >= 1)
  t.match(await connectionRow(b, created.id), { secret_version: 1, pending_change: null })
})

void t.test("another team's connection is 404; a deleted one is 409", async (t) => {
  const { created, body } = await enabledConnection()
  const other = await b.createKey('other-team', ['connections:write', 'connections:read'])
  const res = await b.request({
    method: 'PUT',
    url: `/v1/connections/${created.id}/credentials`,
    key: other,
    body: { params: body.auth.params }
  })
  t.equal(res.statusCode, 404)
  t.equal((await b.request({ method: 'DELETE', url: `/v1/connections/${created.id}` })).statusCode, 204)
  const afterDelete = await rotate(created.id, body.auth.params)
  t.equal(afterDelete.statusCode, 409)
})

void t.test('with Vault: sealed during a rotation → 503, nothing sent; unsealed → rotated to v2', async (t) => {
  const vault = await startVaultEmulator()
  t.teardown(async () => {
    await vault.close()
  })
  const vb = await startTestApp(t, {
    readyDelayMs: 0,
    env: { VAULT_ADDR: vault.addr, VAULT_TOKEN: vault.rootToken, VAULT_TIMEOUT_MS: '1000' }
  })
  const { created, body } = await enabledConnection(vb)
  t.match(created.auth.params.password, /^vault:secret\/credential-broker\/connections\/.+#password@v1$/)
  vault.control.seal()
  const calls = vb.emulator.control.callCounts()
  const sealed = await rotate(created.id, newParams(body, 'vault-rotated'), vb)
  t.equal(sealed.statusCode, 503)
  t.equal(sealed.json<Problem>().type, 'https://credential-broker.dev/problems/secret-store-unavailable')
  t.equal(vb.emulator.control.callCounts().update, calls.update, 'nothing sent to Flow Service')
  vault.control.unseal()
  const res = await rotate(created.id, newParams(body, 'vault-rotated'), vb)
  t.equal(res.statusCode, 200, res.body)
  t.match(res.json<Resource>().auth.params.password, /#password@v2$/)
  t.same(await vb.broker.secrets.read(created.id, 2), {
    password: 'vault-rotated',
    securityToken: body.auth.params.securityToken
  })
})
