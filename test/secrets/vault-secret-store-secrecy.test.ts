// No secret value, token or AppRole secret id appears in a log line or an error of the Vault store, whatever happens:
// successes, conflicts, refusals, timeouts, resets. Errors are searched as shown, as logged by pino and as inspected.
import { inspect } from 'node:util'
import t from 'tap'
import { startVaultEmulator } from '../support/vault-emulator.js'
import { captureLogger, openStore } from '../support/vault-store-harness.js'
import {
  brokerPolicy,
  putPolicy,
  setupAppRole,
  startVaultTarget,
  uniqueName,
  type VaultTarget
} from '../support/vault-setup.js'

const target = await startVaultTarget()
t.teardown(async () => {
  await target.close()
})
// The failure paths (timeout, reset, sealed) need the switches: an emulator even when VAULT_ADDR is set.
const emulator = target.emulator ?? (await startVaultEmulator())
t.teardown(async () => {
  await emulator.close()
})
const switchable: VaultTarget = {
  addr: emulator.addr,
  rootToken: emulator.rootToken,
  emulator,
  close: async () => {
    await emulator.close()
  }
}

const id = (): string => crypto.randomUUID()
const secretValue = (): string => `S3cret-${crypto.randomUUID()}`

/** Everything a secret could leak through, for one error. */
function renderings(err: unknown): string[] {
  const { logger, logs } = captureLogger()
  logger.error({ err }, 'as the HTTP error handler would log it')
  return [String(err), (err as Error).stack ?? '', inspect(err, { depth: 20, showHidden: true }), logs.text()]
}

void t.test('nothing secret reaches logs or errors', async (t) => {
  const secrets: string[] = []
  const errors: unknown[] = []
  const collect = async (call: () => Promise<unknown>): Promise<void> => {
    await call().then(
      () => undefined,
      (err: unknown) => {
        errors.push(err)
      }
    )
  }
  const logText: Array<() => string> = []

  // Token auth, happy and unhappy paths, with secret values in every write.
  const plain = openStore(t, target)
  logText.push(() => plain.logs.text())
  secrets.push(target.rootToken)
  const key = id()
  const v1 = { password: secretValue(), clientSecret: secretValue() }
  const v2 = { password: secretValue(), clientSecret: secretValue() }
  secrets.push(...Object.values(v1), ...Object.values(v2))
  await plain.store.write(key, v1, { cas: 0 })
  await collect(async () => await plain.store.write(key, v2, { cas: 0 }))
  await plain.store.write(key, v2, { cas: 1 })
  await plain.store.read(key, 1)
  await collect(async () => await plain.store.read(key, 9))
  await plain.store.listKeys()
  await plain.store.ping()
  await plain.store.destroy(key)
  await collect(async () => await plain.store.read(key))

  // AppRole: a working role, a role lacking the policy, wrong credentials.
  const prefix = uniqueName('broker-test')
  const policy = uniqueName('broker')
  await putPolicy(target, policy, brokerPolicy('secret', prefix))
  const good = await setupAppRole(target, { policies: [policy], tokenTtl: 60 })
  const weak = await setupAppRole(target, { policies: [], tokenTtl: 60 })
  const wrongSecretId = `wrong-${crypto.randomUUID()}`
  secrets.push(good.secretId, weak.secretId, wrongSecretId)
  for (const auth of [
    { method: 'approle' as const, mount: good.mount, roleId: good.roleId, secretId: good.secretId },
    { method: 'approle' as const, mount: weak.mount, roleId: weak.roleId, secretId: weak.secretId },
    { method: 'approle' as const, mount: good.mount, roleId: good.roleId, secretId: wrongSecretId }
  ]) {
    const opened = openStore(t, target, { prefix, auth })
    logText.push(() => opened.logs.text())
    const data = { password: secretValue() }
    secrets.push(data.password)
    await collect(async () => await opened.store.write(id(), data, { cas: 0 }))
    await collect(async () => await opened.store.ping())
  }

  // Transport failures while a write carrying secrets is in flight: timeout, reset, sealed, 5xx.
  const faulty = openStore(t, switchable, { timeoutMs: 300 })
  logText.push(() => faulty.logs.text())
  secrets.push(switchable.rootToken)
  const { control } = emulator
  const failingWrite = async (): Promise<void> => {
    const data = { password: secretValue() }
    secrets.push(data.password)
    await collect(async () => await faulty.store.write(id(), data, { cas: 0 }))
  }
  await control.setUnreachable('hang')
  await failingWrite()
  await control.setUnreachable('reset')
  await failingWrite()
  await control.setUnreachable('refuse')
  await failingWrite()
  await control.setUnreachable(false)
  control.seal()
  await failingWrite()
  control.unseal()
  control.injectFault({ status: 500, errors: ['internal error'], path: 'secret/' })
  await failingWrite()

  t.ok(errors.length >= 10, `collected ${errors.length} errors`)
  const texts = [...errors.flatMap(renderings), ...logText.map((f) => f())]
  for (const secret of secrets.filter((s) => s !== 'root' || target.rootToken !== 'root')) {
    const leaks = texts.filter((text) => text.includes(secret))
    t.same(leaks, [], `${secret.slice(0, 10)}… appears nowhere`)
  }
  // The dev root token "root" is also an ordinary word; its leak is checked through a distinct token instead.
  t.ok(texts.join('').length > 0)
})

void t.test('a distinct static token never appears either', async (t) => {
  const token = emulator.control.createToken({ policies: ['root'], ttl: 60 })
  const { store, logs } = openStore(t, switchable, { auth: { method: 'token', token }, timeoutMs: 300 })
  const errors: unknown[] = []
  await store.write(id(), { p: 'x' }, { cas: 0 })
  await new Promise((resolve) => setTimeout(resolve, 100))
  await emulator.control.setUnreachable('hang')
  await store.read(id()).catch((err: unknown) => {
    errors.push(err)
  })
  await emulator.control.setUnreachable(false)
  emulator.control.revokeToken(token)
  await store.read(id()).catch((err: unknown) => {
    errors.push(err)
  })
  t.equal(errors.length, 2)
  for (const text of [...errors.flatMap(renderings), logs.text()]) t.notOk(text.includes(token))
})
