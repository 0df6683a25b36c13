// The Vault store's token lifecycle: static token renewal, AppRole and Kubernetes logins, renewal up to the max TTL
// then a new login, a new login after "permission denied" (once per failing call, never a loop).
// Runs on the emulator, or on a real Vault when VAULT_ADDR and VAULT_TOKEN are set (Kubernetes: emulator only).
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import t from 'tap'
import type { VaultAuth } from '../../src/config.js'
import { serviceAccountJwt } from '../support/vault-emulator.js'
import { openStore, type OpenedStore } from '../support/vault-store-harness.js'
import {
  brokerPolicy,
  createToken,
  enableAuth,
  lookupToken,
  putPolicy,
  revokeLogins,
  setupAppRole,
  startVaultTarget,
  uniqueName,
  vaultApiOk,
  type AppRoleCredentials
} from '../support/vault-setup.js'

const target = await startVaultTarget()
t.teardown(async () => {
  await target.close()
})

const id = (): string => crypto.randomUUID()
const sleep = async (ms: number): Promise<void> => {
  await new Promise((resolve) => setTimeout(resolve, ms))
}
const onEmulator = target.emulator !== undefined

async function tempDir(t: { teardown: (fn: () => Promise<void>) => void }): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'vault-store-'))
  t.teardown(async () => {
    await rm(dir, { recursive: true, force: true })
  })
  return dir
}

/** A store logging in with AppRole; the role's policy covers the store's folder unless `withPolicy` is false. */
async function appRoleStore(
  t: { teardown: (fn: () => Promise<void>) => void },
  spec: {
    tokenTtl?: number
    tokenMaxTtl?: number
    withPolicy?: boolean
    auth?: (c: AppRoleCredentials) => VaultAuth
  } = {}
): Promise<OpenedStore & { creds: AppRoleCredentials }> {
  const prefix = uniqueName('broker-test')
  const policy = uniqueName('broker')
  await putPolicy(target, policy, brokerPolicy('secret', prefix))
  const creds = await setupAppRole(target, {
    policies: spec.withPolicy === false ? [] : [policy],
    ...(spec.tokenTtl !== undefined ? { tokenTtl: spec.tokenTtl } : {}),
    ...(spec.tokenMaxTtl !== undefined ? { tokenMaxTtl: spec.tokenMaxTtl } : {})
  })
  const auth = spec.auth?.(creds) ?? {
    method: 'approle',
    mount: creds.mount,
    roleId: creds.roleId,
    secretId: creds.secretId
  }
  return { ...openStore(t, target, { prefix, auth }), creds }
}

function loginRequests(mount: string): number | undefined {
  return target.emulator?.control.count({ method: 'POST', path: `auth/${mount}/login` })
}

void t.test('a static token is renewed before it expires, and keeps working past its first TTL', async (t) => {
  const token = await createToken(target, { policies: ['root'], ttl: 3, explicitMaxTtl: 60 })
  const { store, logs } = openStore(t, target, { auth: { method: 'token', token } })
  const key = id()
  await store.write(key, { password: 'p1' }, { cas: 0 })
  await sleep(3500)
  t.same(await store.read(key), { password: 'p1' })
  t.ok(logs.events('vault_token_renewed').length >= 1, 'renewed')
  t.ok((await lookupToken(target, token)).last_renewal_time !== undefined, 'Vault saw the renewal')
  t.same(logs.events('vault_login'), [], 'a static token never logs in')
})

void t.test('the root token (no TTL) is never renewed', async (t) => {
  target.emulator?.control.resetRequests()
  const { store, logs } = openStore(t, target)
  await store.write(id(), { password: 'p1' }, { cas: 0 })
  await sleep(200)
  t.match(logs.events('vault_token'), [{ ttlSeconds: 0 }])
  t.same(logs.events('vault_token_renewed'), [])
  if (onEmulator) t.equal(target.emulator?.control.count({ path: 'auth/token/renew-self' }), 0)
})

void t.test('AppRole: logs in on first use, once, and works', async (t) => {
  const { store, logs, creds } = await appRoleStore(t, { tokenTtl: 60 })
  const key = id()
  await Promise.all([store.write(key, { password: 'p1' }, { cas: 0 }), store.listKeys(), store.ping()])
  t.same(await store.read(key), { password: 'p1' })
  t.match(logs.events('vault_login'), [{ method: 'approle', reason: 'first use', ttlSeconds: 60, renewable: true }])
  if (onEmulator) t.equal(loginRequests(creds.mount), 1, 'concurrent first calls share one login')
})

void t.test('AppRole with the secret id in a file', async (t) => {
  const dir = await tempDir(t)
  const file = join(dir, 'secret-id')
  const { store } = await appRoleStore(t, {
    auth: (c) => ({ method: 'approle', mount: c.mount, roleId: c.roleId, secretIdFile: file })
  })
  await t.rejects(
    store.write(id(), { p: 'x' }, { cas: 0 }),
    { code: 'denied', message: /secret id file/ },
    'missing file'
  )
  t.pass()
})

void t.test('AppRole with the secret id in a file that exists', async (t) => {
  const dir = await tempDir(t)
  const file = join(dir, 'secret-id')
  let secretId = ''
  const { store } = await appRoleStore(t, {
    auth: (c) => {
      secretId = c.secretId
      return { method: 'approle', mount: c.mount, roleId: c.roleId, secretIdFile: file }
    }
  })
  await writeFile(file, `${secretId}\n`, { mode: 0o600 })
  t.equal(await store.write(id(), { p: 'x' }, { cas: 0 }), 1)
})

void t.test('bad AppRole credentials are denied, with one login attempt per call', async (t) => {
  const { store, logs, creds } = await appRoleStore(t, {
    auth: (c) => ({ method: 'approle', mount: c.mount, roleId: c.roleId, secretId: 'not-the-secret-id' })
  })
  await t.rejects(store.write(id(), { p: 'x' }, { cas: 0 }), {
    name: 'SecretStoreError',
    code: 'denied',
    message: /invalid role or secret ID/
  })
  await t.rejects(store.read(id()), { code: 'denied' })
  await t.rejects(store.ping(), { code: 'denied' })
  t.equal(logs.events('vault_login_failed').length, 3)
  if (onEmulator) t.equal(loginRequests(creds.mount), 3)
})

void t.test('a revoked token: the next call logs in again once and succeeds', async (t) => {
  const { store, logs, creds } = await appRoleStore(t, { tokenTtl: 60 })
  const key = id()
  await store.write(key, { password: 'p1' }, { cas: 0 })
  await revokeLogins(target, creds.mount)
  t.same(await store.read(key), { password: 'p1' })
  t.equal(logs.events('vault_login').length, 2)
  t.match(logs.events('vault_relogin'), [{ operation: /^read of /, status: 403 }])
})

void t.test('concurrent calls refused for the same token share one new login', async (t) => {
  const { store, logs, creds } = await appRoleStore(t, { tokenTtl: 60 })
  const key = id()
  await store.write(key, { password: 'p1' }, { cas: 0 })
  await revokeLogins(target, creds.mount)
  const reads = await Promise.all(Array.from({ length: 10 }, async () => await store.read(key)))
  t.ok(reads.every((r) => r.password === 'p1'))
  t.equal(logs.events('vault_login').length, 2)
  if (onEmulator) t.equal(loginRequests(creds.mount), 2)
})

void t.test('a token lacking the policy: one new login per failing call, then denied, never a loop', async (t) => {
  const { store, logs, creds } = await appRoleStore(t, { tokenTtl: 60, withPolicy: false })
  await t.rejects(store.write(id(), { p: 'x' }, { cas: 0 }), { code: 'denied', message: /permission denied/ })
  t.equal(logs.events('vault_login').length, 2, 'first use, then one more after permission denied')
  if (onEmulator) t.equal(loginRequests(creds.mount), 2)
  await t.rejects(store.read(id()), { code: 'denied' })
  t.equal(logs.events('vault_login').length, 3, 'the next failing call tries once more, and only once')
})

void t.test('renewal up to the max TTL, then a new login before the token expires', async (t) => {
  const { store, logs } = await appRoleStore(t, { tokenTtl: 2, tokenMaxTtl: 3 })
  target.emulator?.control.resetRequests()
  const key = id()
  await store.write(key, { password: 'p1' }, { cas: 0 })
  const until = Date.now() + 4500
  while (Date.now() < until) {
    t.same(await store.read(key), { password: 'p1' })
    await sleep(250)
  }
  t.ok(logs.events('vault_token_renewed').length >= 1, 'renewed while it could')
  t.ok(
    logs.events('vault_login').filter((e) => e.reason === 'max TTL near').length >= 1,
    'logged in again near the max TTL'
  )
  t.same(logs.events('vault_relogin'), [], 'no call ever met an expired token')
  if (onEmulator) t.equal(target.emulator?.control.count({ status: 403 }), 0)
})

void t.test(
  'a token past its max TTL with no renewal in time: the call logs in again',
  { skip: !onEmulator && 'needs the emulator clock' },
  async (t) => {
    const { store, logs } = await appRoleStore(t, { tokenTtl: 60, tokenMaxTtl: 60 })
    const key = id()
    await store.write(key, { password: 'p1' }, { cas: 0 })
    target.emulator?.control.advanceClock(61_000)
    t.same(await store.read(key), { password: 'p1' })
    t.match(logs.events('vault_relogin'), [{ status: 403 }])
    t.equal(logs.events('vault_login').length, 2)
  }
)

void t.test('a renewal refused (token revoked) leads to a new login in the background', async (t) => {
  const { store, logs, creds } = await appRoleStore(t, { tokenTtl: 2, tokenMaxTtl: 60 })
  const key = id()
  await store.write(key, { password: 'p1' }, { cas: 0 })
  await revokeLogins(target, creds.mount)
  await sleep(1800)
  t.equal(logs.events('vault_token_renewal_refused').length, 1)
  t.equal(logs.events('vault_login').length, 2)
  t.same(await store.read(key), { password: 'p1' })
  t.same(logs.events('vault_relogin'), [], 'the call found a fresh token already')
})

void t.test(
  'Kubernetes login with the service-account token file',
  { skip: !onEmulator && 'needs a cluster behind a real Vault' },
  async (t) => {
    const mount = uniqueName('k8s')
    const prefix = uniqueName('broker-test')
    const policy = uniqueName('broker')
    await putPolicy(target, policy, brokerPolicy('secret', prefix))
    await enableAuth(target, mount, 'kubernetes')
    await vaultApiOk(target, 'POST', `auth/${mount}/role/broker`, {
      bound_service_account_names: ['broker'],
      bound_service_account_namespaces: ['apps'],
      token_policies: [policy],
      token_ttl: '60s'
    })
    const dir = await tempDir(t)
    const tokenPath = join(dir, 'token')
    await writeFile(tokenPath, serviceAccountJwt('broker', 'apps'))
    const { store, logs } = openStore(t, target, {
      prefix,
      auth: { method: 'kubernetes', mount, role: 'broker', tokenPath }
    })
    t.equal(await store.write(id(), { p: 'x' }, { cas: 0 }), 1)
    t.match(logs.events('vault_login'), [{ method: 'kubernetes' }])

    const other = join(dir, 'other')
    await writeFile(other, serviceAccountJwt('intruder', 'apps'))
    const denied = openStore(t, target, {
      prefix,
      auth: { method: 'kubernetes', mount, role: 'broker', tokenPath: other }
    })
    await t.rejects(denied.store.write(id(), { p: 'x' }, { cas: 0 }), { code: 'denied' })
  }
)

void t.test('close stops the renewal timer', async (t) => {
  const token = await createToken(target, { policies: ['root'], ttl: 2, explicitMaxTtl: 60 })
  const { store, logs } = openStore(t, target, { auth: { method: 'token', token } })
  await store.write(id(), { p: 'x' }, { cas: 0 })
  await sleep(100)
  t.equal(logs.events('vault_token').length, 1, 'the timer was set')
  await store.close()
  await sleep(1800)
  t.same(logs.events('vault_token_renewed'), [])
  t.equal((await lookupToken(target, token)).last_renewal_time, undefined)
})
