// The Vault secret store's contract: check-and-set writes, versions, destroy, listing, references, readiness.
// Runs on the emulator, or on a real Vault when VAULT_ADDR and VAULT_TOKEN are set.
import t from 'tap'
import { SecretStoreError } from '../../src/secrets/secret-store.js'
import { openStore } from '../support/vault-store-harness.js'
import { startVaultTarget, vaultApiOk, vaultApi } from '../support/vault-setup.js'

const target = await startVaultTarget()
t.teardown(async () => {
  await target.close()
})

const id = (): string => crypto.randomUUID()

void t.test('write with cas 0 creates version 1; a second cas 0 is a cas_mismatch', async (t) => {
  const { store } = openStore(t, target)
  const key = id()
  t.equal(await store.write(key, { password: 'p1' }, { cas: 0 }), 1)
  await t.rejects(store.write(key, { password: 'p2' }, { cas: 0 }), { name: 'SecretStoreError', code: 'cas_mismatch' })
  t.same(await store.read(key), { password: 'p1' }, 'the refused write left the secret alone')
})

void t.test('each write with the current version as cas adds a version; a stale cas is refused', async (t) => {
  const { store } = openStore(t, target)
  const key = id()
  t.equal(await store.write(key, { password: 'p1' }, { cas: 0 }), 1)
  t.equal(await store.write(key, { password: 'p2' }, { cas: 1 }), 2)
  t.equal(await store.write(key, { password: 'p3' }, { cas: 2 }), 3)
  const stale = await store.write(key, { password: 'lost' }, { cas: 2 }).catch((err: unknown) => err)
  t.type(stale, SecretStoreError)
  t.equal((stale as SecretStoreError).code, 'cas_mismatch')
  t.equal((stale as SecretStoreError).retryable, false)
  await t.rejects(store.write(id(), { password: 'x' }, { cas: 1 }), { code: 'cas_mismatch' }, 'cas N on a missing key')
})

void t.test("currentVersion reads the key's metadata: 0 when absent, then the newest version", async (t) => {
  const { store } = openStore(t, target)
  const key = id()
  t.equal(await store.currentVersion(key), 0)
  await store.write(key, { password: 'p1' }, { cas: 0 })
  await store.write(key, { password: 'p2' }, { cas: 1 })
  t.equal(await store.currentVersion(key), 2)
  t.equal(
    await store.write(key, { password: 'p3' }, { cas: await store.currentVersion(key) }),
    3,
    'the cas for the next write'
  )
  await store.destroy(key)
  t.equal(await store.currentVersion(key), 0)
})

void t.test('read gives the latest version, or the one asked for', async (t) => {
  const { store } = openStore(t, target)
  const key = id()
  await store.write(key, { user: 'u', password: 'p1' }, { cas: 0 })
  await store.write(key, { user: 'u', password: 'p2' }, { cas: 1 })
  t.same(await store.read(key), { user: 'u', password: 'p2' })
  t.same(await store.read(key, 1), { user: 'u', password: 'p1' })
  t.same(await store.read(key, 2), { user: 'u', password: 'p2' })
  await t.rejects(store.read(key, 3), { code: 'not_found' })
  await t.rejects(store.read(id()), { code: 'not_found' })
})

void t.test(
  'a soft-deleted or destroyed version is not_found, and reads never fall back to an older one',
  async (t) => {
    const { store, config } = openStore(t, target)
    const key = id()
    await store.write(key, { password: 'p1' }, { cas: 0 })
    await store.write(key, { password: 'p2' }, { cas: 1 })
    await store.write(key, { password: 'p3' }, { cas: 2 })
    const base = `${config.mount}/%s/${config.prefix}/connections/${key}`
    await vaultApiOk(target, 'DELETE', base.replace('%s', 'data'))
    await t.rejects(store.read(key), { code: 'not_found' })
    await vaultApiOk(target, 'PUT', base.replace('%s', 'destroy'), { versions: [2] })
    await t.rejects(store.read(key, 2), { code: 'not_found' })
    t.same(await store.read(key, 1), { password: 'p1' })
    t.equal(await store.write(key, { password: 'p4' }, { cas: 3 }), 4, 'the version count goes on')
  }
)

void t.test('destroy removes every version; destroying again, or a key never written, succeeds', async (t) => {
  const { store } = openStore(t, target)
  const key = id()
  await store.write(key, { password: 'p1' }, { cas: 0 })
  await store.write(key, { password: 'p2' }, { cas: 1 })
  await store.destroy(key)
  await t.rejects(store.read(key), { code: 'not_found' })
  await t.rejects(store.read(key, 1), { code: 'not_found' })
  await store.destroy(key)
  await store.destroy(id())
  t.equal(await store.write(key, { password: 'again' }, { cas: 0 }), 1, 'the key starts over')
})

void t.test("listKeys lists the broker's keys only", async (t) => {
  const { store, config } = openStore(t, target)
  t.same(await store.listKeys(), [], 'an empty folder (Vault: 404) is an empty list')
  const keys = [id(), id(), id()]
  for (const key of keys) await store.write(key, { password: 'x' }, { cas: 0 })
  await vaultApiOk(target, 'POST', `${config.mount}/data/${config.prefix}/connections/nested/thing`, {
    data: { x: '1' }
  })
  await vaultApiOk(target, 'POST', `${config.mount}/data/${config.prefix}/elsewhere`, { data: { x: '1' } })
  t.same((await store.listKeys()).sort(), [...keys].sort(), 'no sub-folder, nothing outside connections/')
  await store.destroy(keys[0] ?? '')
  t.same((await store.listKeys()).sort(), keys.slice(1).sort())
})

void t.test('secrets land at <mount>/data/<prefix>/connections/<key>, and reference() says so', async (t) => {
  const { store, config } = openStore(t, target, { prefix: `team-a/${crypto.randomUUID().slice(0, 8)}` })
  const key = id()
  await store.write(key, { password: 'p1' }, { cas: 0 })
  const raw = await vaultApiOk(target, 'GET', `${config.mount}/data/${config.prefix}/connections/${key}`)
  t.same(raw.data, { password: 'p1' })
  t.equal(store.reference(key, 'password', 1), `vault:${config.mount}/${config.prefix}/connections/${key}#password@v1`)
})

void t.test('keys outside the safe alphabet are refused before any call', async (t) => {
  const { store } = openStore(t, target)
  for (const key of ['', '.', '..', 'a/b', 'a#b', 'a?b', 'a b']) {
    await t.rejects(store.write(key, { p: 'x' }, { cas: 0 }), RangeError, JSON.stringify(key))
  }
  await t.rejects(store.write(id(), { p: 'x' }, { cas: -1 }), RangeError)
  await t.rejects(store.read(id(), 0), RangeError)
})

void t.test('values Vault holds as other JSON types come back as strings', async (t) => {
  const { store, config } = openStore(t, target)
  const key = id()
  await vaultApiOk(target, 'POST', `${config.mount}/data/${config.prefix}/connections/${key}`, {
    data: { port: 443, flags: { a: true } }
  })
  t.same(await store.read(key), { port: '443', flags: '{"a":true}' })
})

void t.test('ping succeeds on a healthy Vault with a valid token', async (t) => {
  const { store } = openStore(t, target)
  await store.ping()
  t.pass()
})

void t.test('a bad static token: calls and ping are denied, and nothing tries to log in', async (t) => {
  const { store, logs } = openStore(t, target, { auth: { method: 'token', token: 'hvs.definitely-not-valid' } })
  await t.rejects(store.write(id(), { p: 'x' }, { cas: 0 }), { code: 'denied' })
  await t.rejects(store.ping(), { code: 'denied' })
  t.same(logs.events('vault_login'), [])
  t.same(logs.events('vault_relogin'), [])
})

void t.test('a closed store refuses calls', async (t) => {
  const { store } = openStore(t, target)
  await store.close()
  await t.rejects(store.read(id()), { code: 'unavailable' })
  await t.rejects(store.ping(), { code: 'unavailable' })
  await store.close()
})

void t.test('the raw Vault answer for a missing key stays a 404 (sanity of the target)', async (t) => {
  t.equal((await vaultApi(target, 'GET', `secret/data/${id()}`)).status, 404)
})
