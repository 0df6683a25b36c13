// The broker with the Vault secret store when Vault is sealed, refusing connections or hanging: creates answer 503
// before anything reaches Flow Service (and free their Idempotency-Key), deletes still delete and leave the secret to
// the reconciler, readiness says which dependency is down, and everything works again once Vault is back.
import t from 'tap'
import { connectionRow, salesforceBody } from '../support/lifecycle-fixtures.js'
import { startTestBroker } from '../support/test-broker.js'
import { startVaultEmulator } from '../support/vault-emulator.js'

interface Problem {
  type: string
  connectionId?: string
}

const vault = await startVaultEmulator()
t.teardown(async () => {
  await vault.close()
})
const b = await startTestBroker(t, {
  poller: false,
  reconciler: false,
  readyDelayMs: 0,
  env: { VAULT_ADDR: vault.addr, VAULT_TOKEN: vault.rootToken, VAULT_TIMEOUT_MS: '500' }
})
const control = b.emulator.control

t.afterEach(async () => {
  vault.control.unseal()
  await vault.control.setUnreachable(false)
})

for (const [label, breakVault] of [
  [
    'sealed',
    async () => {
      vault.control.seal()
    }
  ],
  [
    'refusing connections',
    async () => {
      await vault.control.setUnreachable('refuse')
    }
  ],
  [
    'hanging (answers never come)',
    async () => {
      await vault.control.setUnreachable('hang')
    }
  ]
] as const) {
  void t.test(`create with Vault ${label}: 503, nothing sent to Flow Service, the key freed for a retry`, async (t) => {
    await breakVault()
    const body = salesforceBody()
    const creates = control.callCounts().create
    const started = Date.now()
    const res = await b.request({
      method: 'POST',
      url: '/v1/connections',
      body,
      headers: { 'idempotency-key': `vault-${label.split(' ')[0] ?? ''}` }
    })
    t.ok(Date.now() - started < 5000, 'answered within the Vault timeout, not hanging')
    t.equal(res.statusCode, 503)
    t.equal(res.json<Problem>().type, 'https://credential-broker.dev/problems/secret-store-unavailable')
    t.ok(Number(res.headers['retry-after']) >= 1)
    t.equal(control.callCounts().create, creates, 'Flow Service never heard of it')
    const failed = await b.broker.database.db
      .selectFrom('connections')
      .selectAll()
      .where('name', '=', body.name)
      .executeTakeFirstOrThrow()
    t.match(failed, { state: 'failed', idempotency_key: null })
    t.match(failed.state_reason, /secret store was unavailable/)

    vault.control.unseal()
    await vault.control.setUnreachable(false)
    const retry = await b.request({
      method: 'POST',
      url: '/v1/connections',
      body,
      headers: { 'idempotency-key': `vault-${label.split(' ')[0] ?? ''}` }
    })
    t.equal(retry.statusCode, 201, 'the same key and body create anew once Vault is back')
  })
}

void t.test('readiness names the secret store while Vault is sealed', async (t) => {
  vault.control.seal()
  const ready = await b.request({ method: 'GET', url: '/health/ready', key: null })
  t.equal(ready.statusCode, 503)
  t.match(ready.json(), { ready: false, checks: { secretStore: { ok: false }, database: { ok: true } } })
  vault.control.unseal()
  t.equal((await b.request({ method: 'GET', url: '/health/ready', key: null })).statusCode, 200)
})

void t.test(
  'a replay cannot compare secrets while Vault is down: 503, and the original answer once it is back',
  async (t) => {
    const body = salesforceBody()
    const first = await b.request({
      method: 'POST',
      url: '/v1/connections',
      body,
      headers: { 'idempotency-key': 'vault-replay' }
    })
    t.equal(first.statusCode, 201)
    vault.control.seal()
    const during = await b.request({
      method: 'POST',
      url: '/v1/connections',
      body,
      headers: { 'idempotency-key': 'vault-replay' }
    })
    t.equal(during.statusCode, 503)
    vault.control.unseal()
    const after = await b.request({
      method: 'POST',
      url: '/v1/connections',
      body,
      headers: { 'idempotency-key': 'vault-replay' }
    })
    t.equal(after.statusCode, 201)
    t.equal(after.json<{ id: string }>().id, first.json<{ id: string }>().id)
  }
)

void t.test(
  'delete with Vault sealed: deleted in Flow Service and recorded; the reconciler destroys the secret later',
  async (t) => {
    const created = (await b.request({ method: 'POST', url: '/v1/connections', body: salesforceBody() })).json<{
      id: string
      flowConnectionId: string
    }>()
    vault.control.seal()
    const res = await b.request({ method: 'DELETE', url: `/v1/connections/${created.id}` })
    t.equal(res.statusCode, 204)
    t.equal(control.storedConnection(created.flowConnectionId), undefined, 'gone downstream')
    t.match(
      await connectionRow(b, created.id),
      { state: 'deleted', secret_version: 1 },
      'the secret is still recorded as kept'
    )

    const sealedSweep = await b.broker.reconciler.sweep()
    t.equal(sealedSweep.secretsDestroyed, 0, 'still sealed: nothing destroyed, nothing thrown')
    vault.control.unseal()
    t.ok((await b.broker.secrets.listKeys()).includes(created.id))
    t.ok((await b.broker.reconciler.sweep()).secretsDestroyed >= 1)
    t.notOk((await b.broker.secrets.listKeys()).includes(created.id), 'destroyed in Vault (all versions)')
    t.match(await connectionRow(b, created.id), { secret_version: null })
  }
)
