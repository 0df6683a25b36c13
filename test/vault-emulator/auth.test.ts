// Pins the emulator's tokens, policies and logins to reference/vault.md. Runs against a real Vault too
// (VAULT_ADDR + VAULT_TOKEN), except the Kubernetes login, which needs a cluster behind a real Vault.
import t from 'tap'
import { serviceAccountJwt } from '../support/vault-emulator.js'
import {
  createToken,
  enableAuth,
  lookupToken,
  putPolicy,
  revokeLogins,
  setupAppRole,
  startVaultTarget,
  uniqueName,
  vaultApi,
  vaultApiOk
} from '../support/vault-setup.js'

const target = await startVaultTarget()
t.teardown(async () => {
  await target.close()
})

const sleep = async (ms: number): Promise<void> => {
  await new Promise((resolve) => setTimeout(resolve, ms))
}

void t.test('the token goes in X-Vault-Token or Authorization: Bearer', async (t) => {
  const viaHeader = await vaultApi(target, 'GET', 'auth/token/lookup-self')
  t.equal(viaHeader.status, 200)
  const res = await fetch(`${target.addr}/v1/auth/token/lookup-self`, {
    headers: { Authorization: `Bearer ${target.rootToken}` }
  })
  t.equal(res.status, 200)
  t.equal(((await res.json()) as { data: { id: string } }).data.id, target.rootToken)
})

void t.test('a bad token is refused with permission denied and invalid token', async (t) => {
  const answer = await vaultApi(target, 'GET', 'secret/data/anything', undefined, 'hvs.not-a-token')
  t.equal(answer.status, 403)
  const [message] = (answer.body as { errors: string[] }).errors
  t.match(message, /permission denied/)
  t.match(message, /invalid token/)
})

void t.test('a token lacking a policy is refused with permission denied (and not invalid token)', async (t) => {
  const token = await createToken(target, { policies: ['default'], ttl: 300 })
  const answer = await vaultApi(target, 'GET', 'secret/data/anything', undefined, token)
  t.equal(answer.status, 403)
  const [message] = (answer.body as { errors: string[] }).errors
  t.match(message, /permission denied/)
  t.notMatch(message, /invalid token/)
})

void t.test('policies grant exactly their paths and capabilities', async (t) => {
  const prefix = uniqueName('pol')
  const policy = uniqueName('reader')
  await putPolicy(target, policy, `path "secret/data/${prefix}/*" { capabilities = ["read"] }`)
  await vaultApiOk(target, 'POST', `secret/data/${prefix}/a`, { data: { x: '1' } })
  const token = await createToken(target, { policies: [policy], ttl: 300 })
  t.equal((await vaultApi(target, 'GET', `secret/data/${prefix}/a`, undefined, token)).status, 200)
  t.equal(
    (await vaultApi(target, 'POST', `secret/data/${prefix}/a`, { data: { x: '2' } }, token)).status,
    403,
    'no update'
  )
  t.equal(
    (await vaultApi(target, 'GET', `secret/data/${uniqueName('other')}/a`, undefined, token)).status,
    403,
    'no other path'
  )
  t.equal(
    (await vaultApi(target, 'GET', `secret/metadata/${prefix}/?list=true`, undefined, token)).status,
    403,
    'no list'
  )
})

void t.test('lookup-self tells the TTL; the root token never expires', async (t) => {
  const root = await vaultApiOk(target, 'GET', 'auth/token/lookup-self')
  t.match(root, { ttl: 0, expire_time: null, policies: ['root'] })
  const token = await createToken(target, { policies: ['default'], ttl: 120 })
  const info = await vaultApiOk(target, 'GET', 'auth/token/lookup-self', undefined, token)
  t.match(info, { renewable: true, creation_ttl: 120, policies: ['default'] })
  t.ok((info.ttl as number) > 110 && (info.ttl as number) <= 120)
})

void t.test('the root token is not renewable', async (t) => {
  const answer = await vaultApi(target, 'POST', 'auth/token/renew-self', {})
  t.equal(answer.status, 400)
  t.same(answer.body, { errors: ['lease is not renewable'] })
})

void t.test('renew-self extends the TTL up to the max TTL, then caps it', async (t) => {
  const token = await createToken(target, { policies: ['default'], ttl: 60, explicitMaxTtl: 90 })
  const renewed = await vaultApi(target, 'POST', 'auth/token/renew-self', { increment: 60 }, token)
  t.equal(renewed.status, 200)
  const auth = (renewed.body as { auth: Record<string, unknown> }).auth
  t.match(auth, { client_token: token, renewable: true })
  t.ok((auth.lease_duration as number) >= 59 && (auth.lease_duration as number) <= 60)
  const capped = await vaultApi(target, 'POST', 'auth/token/renew-self', { increment: 600 }, token)
  const cappedAuth = (capped.body as { auth: Record<string, unknown> }).auth
  t.ok((cappedAuth.lease_duration as number) <= 90, 'never past the max TTL')
  t.match((capped.body as { warnings: string[] }).warnings?.join(' '), /max_ttl/)
  t.not((await lookupToken(target, token)).last_renewal_time, undefined, 'the renewal is recorded')
})

void t.test('a token past its TTL is invalid', async (t) => {
  const token = await createToken(target, { policies: ['default'], ttl: 1 })
  await sleep(2100)
  const answer = await vaultApi(target, 'GET', 'auth/token/lookup-self', undefined, token)
  t.equal(answer.status, 403)
  t.match((answer.body as { errors: string[] }).errors[0], /invalid token/)
})

void t.test('AppRole', async (t) => {
  const creds = await setupAppRole(target, { policies: ['default'], tokenTtl: 60, tokenMaxTtl: 120 })

  void t.test("login answers a renewable token with the role's TTL", async (t) => {
    const answer = await vaultApi(
      target,
      'POST',
      `auth/${creds.mount}/login`,
      { role_id: creds.roleId, secret_id: creds.secretId },
      ''
    )
    t.equal(answer.status, 200)
    const auth = (answer.body as { auth: Record<string, unknown> }).auth
    t.match(auth, { renewable: true, lease_duration: 60 })
    t.type(auth.client_token, 'string')
    t.ok((auth.policies as string[]).includes('default'))
    t.equal(
      (await vaultApi(target, 'GET', 'auth/token/lookup-self', undefined, auth.client_token as string)).status,
      200
    )
  })
  void t.test('bad credentials: 400 invalid role or secret ID', async (t) => {
    for (const body of [
      { role_id: creds.roleId, secret_id: 'wrong' },
      { role_id: 'wrong', secret_id: creds.secretId }
    ]) {
      const answer = await vaultApi(target, 'POST', `auth/${creds.mount}/login`, body, '')
      t.equal(answer.status, 400)
      t.same(answer.body, { errors: ['invalid role or secret ID'] })
    }
  })
  void t.test('revoking the logins of the mount invalidates their tokens', async (t) => {
    const login = await vaultApiOk(
      target,
      'POST',
      `auth/${creds.mount}/login`,
      { role_id: creds.roleId, secret_id: creds.secretId },
      ''
    )
    await revokeLogins(target, creds.mount)
    t.equal(
      (await vaultApi(target, 'GET', 'auth/token/lookup-self', undefined, login.client_token as string)).status,
      403
    )
  })
  void t.test('enabling the mount again is refused', async (t) => {
    const answer = await vaultApi(target, 'POST', `sys/auth/${creds.mount}`, { type: 'approle' })
    t.equal(answer.status, 400)
    t.match((answer.body as { errors: string[] }).errors[0], /path is already in use/)
  })
})

void t.test(
  'Kubernetes login (emulator: claims checked, no TokenReview)',
  { skip: target.emulator === undefined && 'needs a cluster behind a real Vault' },
  async (t) => {
    const mount = uniqueName('k8s')
    await enableAuth(target, mount, 'kubernetes')
    await vaultApiOk(target, 'POST', `auth/${mount}/role/broker`, {
      bound_service_account_names: ['broker'],
      bound_service_account_namespaces: ['apps'],
      token_policies: ['default'],
      token_ttl: '60s'
    })
    const good = await vaultApi(
      target,
      'POST',
      `auth/${mount}/login`,
      { role: 'broker', jwt: serviceAccountJwt('broker', 'apps') },
      ''
    )
    t.equal(good.status, 200)
    t.match((good.body as { auth: unknown }).auth, { renewable: true, lease_duration: 60 })
    t.equal(
      (
        await vaultApi(
          target,
          'POST',
          `auth/${mount}/login`,
          { role: 'broker', jwt: serviceAccountJwt('other', 'apps') },
          ''
        )
      ).status,
      403
    )
    t.equal(
      (
        await vaultApi(
          target,
          'POST',
          `auth/${mount}/login`,
          { role: 'nope', jwt: serviceAccountJwt('broker', 'apps') },
          ''
        )
      ).status,
      400
    )
  }
)
