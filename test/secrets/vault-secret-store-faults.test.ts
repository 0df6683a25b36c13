// The Vault store when Vault misbehaves: sealed, unreachable, hanging, slow, 5xx, standby. Every such failure is
// 'unavailable' (retryable) and comes within the configured timeout. Always on the emulator: a real Vault has no
// switches for these, so this file does not use VAULT_ADDR.
import t from 'tap'
import { SecretStoreError } from '../../src/secrets/secret-store.js'
import { startVaultEmulator } from '../support/vault-emulator.js'
import { openStore } from '../support/vault-store-harness.js'
import type { VaultTarget } from '../support/vault-setup.js'

const emulator = await startVaultEmulator()
const target: VaultTarget = {
  addr: emulator.addr,
  rootToken: emulator.rootToken,
  emulator,
  close: async () => {
    await emulator.close()
  }
}
t.teardown(async () => {
  await emulator.close()
})
const { control } = emulator

const id = (): string => crypto.randomUUID()

/** Runs `call`, expects an 'unavailable' SecretStoreError, and resolves to how long it took. */
async function unavailable(t: Tap, call: () => Promise<unknown>, message?: RegExp): Promise<number> {
  const started = Date.now()
  const err = await call().then(
    () => undefined,
    (e: unknown) => e
  )
  const elapsed = Date.now() - started
  t.type(err, SecretStoreError)
  t.equal((err as SecretStoreError).code, 'unavailable')
  t.equal((err as SecretStoreError).retryable, true)
  if (message !== undefined) t.match((err as SecretStoreError).message, message)
  return elapsed
}
type Tap = Pick<typeof t, 'type' | 'equal' | 'match'>

/** Puts the emulator back to normal after each test. */
t.afterEach(async () => {
  control.unseal()
  control.setStandby(false)
  control.setInitialized(true)
  control.setDelay(0)
  control.clearFaults()
  await control.setUnreachable(false)
})

void t.test('sealed: every call and ping are unavailable; unsealed, it works again', async (t) => {
  const { store } = openStore(t, target)
  const key = id()
  await store.write(key, { password: 'p1' }, { cas: 0 })
  control.seal()
  await unavailable(t, async () => await store.write(key, { password: 'p2' }, { cas: 1 }), /Vault is sealed/)
  await unavailable(t, async () => await store.read(key))
  await unavailable(t, async () => await store.destroy(key))
  await unavailable(t, async () => await store.listKeys())
  await unavailable(t, async () => await store.ping(), /sealed/)
  control.unseal()
  t.same(await store.read(key), { password: 'p1' })
})

void t.test('ping: standby and uninitialised are unavailable', async (t) => {
  const { store } = openStore(t, target)
  control.setStandby(true)
  await unavailable(t, async () => await store.ping(), /standby/)
  control.setStandby(false)
  control.setInitialized(false)
  await unavailable(t, async () => await store.ping(), /not initialised/)
})

void t.test('connection refused: unavailable at once', async (t) => {
  const { store } = openStore(t, target, { timeoutMs: 2000 })
  await control.setUnreachable('refuse')
  const elapsed = await unavailable(t, async () => await store.read(id()), /unreachable \(ECONNREFUSED\)/)
  t.ok(elapsed < 1000, `took ${elapsed} ms`)
  await unavailable(t, async () => await store.ping())
})

void t.test('connection reset: unavailable', async (t) => {
  const { store } = openStore(t, target)
  await store.listKeys()
  await control.setUnreachable('reset')
  await unavailable(t, async () => await store.write(id(), { password: 'p' }, { cas: 0 }))
})

void t.test(
  'a Vault that never answers: unavailable once the timeout has passed, not before, not much after',
  async (t) => {
    const { store } = openStore(t, target, { timeoutMs: 400 })
    await control.setUnreachable('hang')
    for (const call of [
      async () => await store.read(id()),
      async () => await store.write(id(), { p: 'x' }, { cas: 0 }),
      async () => await store.ping()
    ]) {
      const elapsed = await unavailable(t, call, /did not answer within 400 ms/)
      t.ok(elapsed >= 380 && elapsed < 1200, `took ${elapsed} ms`)
    }
  }
)

void t.test('slow: answers later than the timeout are unavailable; earlier ones are fine', async (t) => {
  const { store } = openStore(t, target, { timeoutMs: 300 })
  const key = id()
  await store.write(key, { password: 'p1' }, { cas: 0 })
  control.setDelay(1000)
  const elapsed = await unavailable(t, async () => await store.read(key))
  t.ok(elapsed < 900, `took ${elapsed} ms`)
  control.setDelay(100)
  t.same(await store.read(key), { password: 'p1' })
})

void t.test('5xx and 429 answers are unavailable', async (t) => {
  const { store } = openStore(t, target)
  for (const status of [500, 502, 503, 429]) {
    control.injectFault({ status, errors: ['boom'], path: 'secret/' })
    await unavailable(t, async () => await store.read(id()), new RegExp(`${status}`))
  }
})

void t.test('AppRole login against an unreachable Vault is unavailable (not denied), and recovers', async (t) => {
  control.setPolicy('all-kv', 'path "secret/*" { capabilities = ["create", "read", "update", "delete", "list"] }')
  const { roleId, secretId } = control.addAppRole({
    name: 'faulty',
    mount: 'approle-faults',
    policies: ['all-kv'],
    tokenTtl: 60
  })
  const { store } = openStore(t, target, { auth: { method: 'approle', mount: 'approle-faults', roleId, secretId } })
  await control.setUnreachable('refuse')
  await unavailable(t, async () => await store.write(id(), { p: 'x' }, { cas: 0 }))
  control.injectFault({ status: 500, path: 'auth/approle-faults/login' })
  await control.setUnreachable(false)
  await unavailable(t, async () => await store.write(id(), { p: 'x' }, { cas: 0 }), /500/)
  t.equal(await store.write(id(), { p: 'x' }, { cas: 0 }), 1)
})

void t.test('a 403 on the retry after a new login is denied, and a 5xx on it is unavailable', async (t) => {
  control.setPolicy('all-kv', 'path "secret/*" { capabilities = ["create", "read", "update", "delete", "list"] }')
  const { roleId, secretId } = control.addAppRole({
    name: 'retry',
    mount: 'approle-retry',
    policies: ['all-kv'],
    tokenTtl: 60
  })
  const { store, logs } = openStore(t, target, {
    auth: { method: 'approle', mount: 'approle-retry', roleId, secretId }
  })
  await store.listKeys()
  control.injectFault({
    status: 403,
    errors: ['1 error occurred:\n\t* permission denied\n\n'],
    path: 'secret/',
    times: 2
  })
  await t.rejects(store.read(id()), { code: 'denied' })
  control.injectFault({ status: 403, errors: ['1 error occurred:\n\t* permission denied\n\n'], path: 'secret/' })
  control.injectFault({ status: 502, path: 'secret/' })
  await t.rejects(store.read(id()), { code: 'unavailable' })
  t.equal(logs.events('vault_login').length, 3)
})

void t.test('a renewal that fails for a passing reason is tried again while the token lives', async (t) => {
  const token = control.createToken({ policies: ['root'], ttl: 3, explicitMaxTtl: 60 })
  const { store, logs } = openStore(t, target, { auth: { method: 'token', token } })
  await store.listKeys()
  control.injectFault({ status: 503, errors: ['Vault is sealed'], path: 'auth/token/renew-self' })
  await new Promise((resolve) => setTimeout(resolve, 3000))
  t.equal(logs.events('vault_token_renewal_failed').length, 1)
  t.ok(logs.events('vault_token_renewed').length >= 1, 'the retry renewed it')
  t.same(await store.listKeys(), [])
})
