// Pins sys/health and the emulator's own switches (sealed, slow, unreachable, faults, token expiry, request log).
// The switches exist only on the emulator; the health answer of an active node is checked on a real Vault too.
import t from 'tap'
import { EMULATED_VAULT_VERSION, startVaultEmulator, type VaultEmulator } from '../support/vault-emulator.js'
import { startVaultTarget, vaultApi, vaultApiOk, type VaultTarget } from '../support/vault-setup.js'

const target = await startVaultTarget()
t.teardown(async () => {
  await target.close()
})

async function health(target: VaultTarget, query = ''): Promise<{ status: number; body: Record<string, unknown> }> {
  const answer = await vaultApi(target, 'GET', `sys/health${query}`, undefined, '')
  return { status: answer.status, body: answer.body as Record<string, unknown> }
}

void t.test('sys/health of an active node: 200, no token needed, not an envelope', async (t) => {
  const { status, body } = await health(target)
  t.equal(status, 200)
  t.match(body, { initialized: true, sealed: false, standby: false })
  t.type(body.version, 'string')
  t.notOk('data' in body)
})

async function emulator(t: { teardown: (fn: () => Promise<void>) => void }): Promise<VaultEmulator> {
  const e = await startVaultEmulator()
  t.teardown(async () => {
    await e.close()
  })
  return e
}
type EmulatorTarget = VaultTarget & { emulator: VaultEmulator }
function asTarget(e: VaultEmulator): EmulatorTarget {
  return {
    addr: e.addr,
    rootToken: e.rootToken,
    emulator: e,
    close: async () => {
      await e.close()
    }
  }
}

void t.test('sys/health codes: 429 standby, 501 uninitialised, 503 sealed, and the code overrides', async (t) => {
  const e = await emulator(t)
  const v = asTarget(e)
  t.equal((await health(v)).body.version, EMULATED_VAULT_VERSION)
  e.control.setStandby(true)
  t.match(await health(v), { status: 429, body: { standby: true, sealed: false } })
  t.equal((await health(v, '?standbyok=true')).status, 200)
  t.equal((await health(v, '?standbycode=200')).status, 200)
  e.control.setStandby(false)
  e.control.seal()
  t.match(await health(v), { status: 503, body: { sealed: true } })
  t.equal((await health(v, '?sealedcode=200')).status, 200)
  e.control.unseal()
  e.control.setInitialized(false)
  t.match(await health(v), { status: 501, body: { initialized: false } })
  e.control.setInitialized(true)
  t.equal((await health(v)).status, 200)
  const head = await fetch(`${e.addr}/v1/sys/health`, { method: 'HEAD' })
  t.equal(head.status, 200)
  t.equal(head.headers.get('cache-control'), 'no-store')
})

void t.test('sealed: every other call answers 503 "Vault is sealed"', async (t) => {
  const e = await emulator(t)
  const v = asTarget(e)
  e.control.seal()
  const answer = await vaultApi(v, 'GET', 'secret/data/a')
  t.equal(answer.status, 503)
  t.same(answer.body, { errors: ['Vault is sealed'] })
  t.equal((await vaultApi(v, 'POST', 'auth/approle/login', { role_id: 'x' }, '')).status, 503)
  e.control.unseal()
  t.equal((await vaultApi(v, 'GET', 'secret/data/a')).status, 404)
})

void t.test('sealing through the API (sys/seal)', async (t) => {
  const e = await emulator(t)
  t.equal((await vaultApi(asTarget(e), 'PUT', 'sys/seal')).status, 204)
  t.equal((await health(asTarget(e))).status, 503)
})

void t.test('slow: every answer waits the delay', async (t) => {
  const e = await emulator(t)
  e.control.setDelay(300)
  const started = Date.now()
  t.equal((await vaultApi(asTarget(e), 'GET', 'secret/data/a')).status, 404)
  t.ok(Date.now() - started >= 290)
  e.control.setDelay(0)
})

void t.test('unreachable', async (t) => {
  void t.test('refuse: connections are refused, then accepted again on the same address', async (t) => {
    const e = await emulator(t)
    await e.control.setUnreachable('refuse')
    await t.rejects(fetch(`${e.addr}/v1/sys/health`), { cause: { code: 'ECONNREFUSED' } })
    await e.control.setUnreachable(false)
    t.equal((await fetch(`${e.addr}/v1/sys/health`)).status, 200)
  })
  void t.test('reset: sockets are destroyed', async (t) => {
    const e = await emulator(t)
    await e.control.setUnreachable('reset')
    await t.rejects(fetch(`${e.addr}/v1/sys/health`))
    await e.control.setUnreachable(false)
    t.equal((await fetch(`${e.addr}/v1/sys/health`)).status, 200)
  })
  void t.test('hang: requests are read but never answered', async (t) => {
    const e = await emulator(t)
    await e.control.setUnreachable('hang')
    await t.rejects(fetch(`${e.addr}/v1/sys/health`, { signal: AbortSignal.timeout(300) }), { name: 'TimeoutError' })
    t.equal(e.control.count({ path: 'sys/health', status: 0 }), 1, 'the request arrived and got no answer')
    await e.control.setUnreachable(false)
    t.equal((await fetch(`${e.addr}/v1/sys/health`)).status, 200)
  })
})

void t.test('injected faults hit the matching requests the given number of times', async (t) => {
  const e = await emulator(t)
  const v = asTarget(e)
  e.control.injectFault({ status: 500, errors: ['internal error'], path: 'secret/', times: 2 })
  t.same((await vaultApi(v, 'GET', 'secret/data/a')).body, { errors: ['internal error'] })
  t.equal((await vaultApi(v, 'GET', 'sys/health', undefined, '')).status, 200, 'other paths are spared')
  t.equal((await vaultApi(v, 'GET', 'secret/data/a')).status, 500)
  t.equal((await vaultApi(v, 'GET', 'secret/data/a')).status, 404, 'spent')
  e.control.injectFault({ status: 502, method: 'POST', path: /^secret\/data\//, times: Infinity })
  t.equal((await vaultApi(v, 'POST', 'secret/data/a', { data: {} })).status, 502)
  t.equal((await vaultApi(v, 'POST', 'secret/data/a', { data: {} })).status, 502)
  e.control.clearFaults()
  t.equal((await vaultApi(v, 'POST', 'secret/data/a', { data: {} })).status, 200)
})

void t.test('tokens: expire and revoke switches, direct creation, clock', async (t) => {
  const e = await emulator(t)
  const v = asTarget(e)
  const a = e.control.createToken({ policies: ['default'], ttl: 60 })
  const b = e.control.createToken({ policies: ['default'], ttl: 60 })
  const c = e.control.createToken({ policies: ['default'], ttl: 60 })
  t.equal((await vaultApi(v, 'GET', 'auth/token/lookup-self', undefined, a)).status, 200)
  e.control.expireToken(a)
  e.control.revokeToken(b)
  for (const token of [a, b]) {
    const answer = await vaultApi(v, 'GET', 'auth/token/lookup-self', undefined, token)
    t.equal(answer.status, 403)
    t.match((answer.body as { errors: string[] }).errors[0], /invalid token/)
  }
  e.control.advanceClock(61_000)
  t.equal(
    (await vaultApi(v, 'GET', 'auth/token/lookup-self', undefined, c)).status,
    403,
    'past its TTL on the emulator clock'
  )
  t.equal((await vaultApi(v, 'GET', 'auth/token/lookup-self')).status, 200, 'the root token never expires')
  const d = e.control.createToken({ policies: ['default'], ttl: 60 })
  e.control.expireAllTokens()
  t.equal((await vaultApi(v, 'GET', 'auth/token/lookup-self', undefined, d)).status, 403)
  t.equal((await vaultApi(v, 'GET', 'auth/token/lookup-self')).status, 200)
})

void t.test('AppRole roles set up directly', async (t) => {
  const e = await emulator(t)
  e.control.setPolicy('kv-read', 'path "secret/data/*" { capabilities = ["read"] }')
  const { roleId, secretId } = e.control.addAppRole({ name: 'r', policies: ['kv-read'], tokenTtl: 30 })
  const auth = await vaultApiOk(asTarget(e), 'POST', 'auth/approle/login', { role_id: roleId, secret_id: secretId }, '')
  t.match(auth, { lease_duration: 30, renewable: true, policies: ['default', 'kv-read'] })
})

void t.test('the request log counts what arrived, with the status answered', async (t) => {
  const e = await emulator(t)
  const v = asTarget(e)
  await vaultApi(v, 'GET', 'secret/data/a')
  await vaultApi(v, 'POST', 'secret/data/a', { data: { x: '1' } })
  await vaultApi(v, 'GET', 'secret/metadata/?list=1')
  t.equal(e.control.count(), 3)
  t.equal(e.control.count({ method: 'get', path: 'secret/data/a', status: 404 }), 1)
  t.equal(e.control.count({ path: /^secret\/data\// }), 2)
  t.match(e.control.requests()[2], { method: 'GET', path: 'secret/metadata/', query: '?list=1', status: 200 })
  e.control.resetRequests()
  t.equal(e.control.count(), 0)
})

void t.test('unknown routes: 404 "no handler for route" for root, 403 for others', async (t) => {
  const e = await emulator(t)
  const v = asTarget(e)
  const answer = await vaultApi(v, 'GET', 'nomount/x')
  t.equal(answer.status, 404)
  t.match((answer.body as { errors: string[] }).errors[0], /no handler for route/)
  const token = e.control.createToken({ policies: ['default'] })
  t.equal((await vaultApi(v, 'GET', 'nomount/x', undefined, token)).status, 403)
})

void t.test('a missing token is refused', async (t) => {
  const e = await emulator(t)
  const answer = await vaultApi(asTarget(e), 'GET', 'secret/data/a', undefined, '')
  t.equal(answer.status, 403)
  t.match((answer.body as { errors: string[] }).errors[0], /permission denied/)
})

void t.test('malformed JSON is a 400', async (t) => {
  const e = await emulator(t)
  const res = await fetch(`${e.addr}/v1/secret/data/a`, {
    method: 'POST',
    headers: { 'X-Vault-Token': e.rootToken },
    body: '{"data":'
  })
  t.equal(res.status, 400)
  t.match(((await res.json()) as { errors: string[] }).errors[0], /failed to parse JSON input/)
})
