// IMS at boot: the token endpoint pasted from Adobe's console works as IMS_URL; credentials IMS refuses stop the
// boot naming the variable (ConfigError: the process exits 78); IMS not answering does not stop it, and readiness
// says Flow Service is down without making the replica unready.
import { randomBytes } from 'node:crypto'
import { mkdtemp, rm } from 'node:fs/promises'
import os from 'node:os'
import path from 'node:path'
import { pino } from 'pino'
import t, { type Test } from 'tap'
import { createBroker, type Broker } from '../../src/broker.js'
import { ConfigError, loadConfig } from '../../src/config.js'
import type { DatabaseConfig } from '../../src/db/database.js'
import { startEmulator } from '../../src/emulator/emulator.js'
import { freePort } from '../support/broker-process.js'
import { SEED_BODIES } from '../support/seed-bodies.js'
import { createTestDatabase } from '../support/test-database.js'

const CLIENT_ID = 'boot-check-client'
const CLIENT_SECRET = 'boot-check-secret-value'
const ORG_ID = 'BOOT0000000000000000000000@AdobeOrg'
const emulator = await startEmulator({
  readyDelayMs: 0,
  clientId: CLIENT_ID,
  clientSecret: CLIENT_SECRET,
  orgId: ORG_ID
})
t.teardown(async () => {
  await emulator.close()
})
const adminKey = randomBytes(24).toString('hex')

// IMS is asked before the database is opened: a boot IMS refuses never reaches this one (nothing listens there).
const UNREACHED_DATABASE: DatabaseConfig = {
  kind: 'postgres',
  url: 'postgres://broker@127.0.0.1:1/broker',
  poolSize: 1
}

/**
 * A broker on the remote emulator with `ims` overriding the IMS settings; the database is the test's own, or
 * `database` for a boot that must stop before it.
 */
async function boot(t: Test, ims: Record<string, string>, database?: DatabaseConfig): Promise<Broker> {
  const dataDir = await mkdtemp(path.join(os.tmpdir(), 'broker-ims-'))
  t.teardown(async () => {
    await rm(dataDir, { recursive: true, force: true })
  })
  if (database === undefined) {
    const own = await createTestDatabase()
    t.teardown(async () => {
      await own.drop()
    })
    database = own.config
  }
  const config = loadConfig({
    BROKER_MODE: 'dev',
    FLOW_SERVICE_URL: emulator.flowServiceUrl,
    IMS_URL: emulator.imsUrl,
    IMS_CLIENT_ID: CLIENT_ID,
    IMS_CLIENT_SECRET: CLIENT_SECRET,
    IMS_ORG_ID: ORG_ID,
    FLOW_SERVICE_TIMEOUT_MS: '1000',
    BROKER_ADMIN_KEY: adminKey,
    BROKER_SECRET_KEY: randomBytes(32).toString('base64'),
    BROKER_DATA_DIR: dataDir,
    POLLER_ENABLED: 'false',
    RECONCILER_ENABLED: 'false',
    ...ims
  })
  const broker = await createBroker(config, pino({ level: 'silent' }), { database })
  t.teardown(async () => {
    await broker.app.close()
  })
  return broker
}

async function refusal(t: Test, ims: Record<string, string>): Promise<ConfigError> {
  const err = await boot(t, ims, UNREACHED_DATABASE).then(
    () => undefined,
    (e: unknown) => e
  )
  if (!(err instanceof ConfigError)) throw new Error(`expected a ConfigError, got ${String(err)}`)
  return err
}

void t.test('IMS_URL as the console shows it (…/ims/token/v3): the broker creates connections', async (t) => {
  const broker = await boot(t, { IMS_URL: `${emulator.imsUrl}/ims/token/v3` })
  const created = await broker.app.inject({
    method: 'POST',
    url: '/v1/connections',
    headers: { authorization: `Bearer ${adminKey}`, 'content-type': 'application/json' },
    payload: JSON.stringify(SEED_BODIES.salesforceBasicWithUrl)
  })
  t.equal(created.statusCode, 201, created.body)
})

void t.test(
  'a wrong client secret stops the boot naming IMS_CLIENT_SECRET, without echoing either secret',
  async (t) => {
    const wrong = 'wrong-secret-value-0001'
    const err = await refusal(t, { IMS_CLIENT_SECRET: wrong })
    t.equal(err.variable, 'IMS_CLIENT_SECRET')
    t.match(err.message, /IMS refused the broker's credentials at boot \(HTTP 400: invalid_client/)
    t.notOk(err.message.includes(wrong) || err.message.includes(CLIENT_SECRET), 'no secret in the message')
  }
)

void t.test('a wrong client id stops the boot naming IMS_CLIENT_ID', async (t) => {
  const err = await refusal(t, { IMS_CLIENT_ID: 'not-our-client' })
  t.equal(err.variable, 'IMS_CLIENT_ID')
  t.match(err.message, /invalid_client/)
})

void t.test('an IMS_URL that is not IMS (404) stops the boot naming IMS_URL', async (t) => {
  const err = await refusal(t, { IMS_URL: `${emulator.origin}/not-ims` })
  t.equal(err.variable, 'IMS_URL')
  t.match(err.message, /HTTP 404/)
})

void t.test('IMS not answering: the broker boots; ready, with Flow Service reported down', async (t) => {
  const closed = `http://127.0.0.1:${await freePort()}`
  const broker = await boot(t, { IMS_URL: closed })
  const ready = await broker.app.inject({ method: 'GET', url: '/health/ready' })
  t.equal(ready.statusCode, 200)
  t.match(ready.json(), {
    ready: true,
    checks: { flowService: { ok: false, required: false, error: /IMS token request failed \(retryable: no answer\)/ } }
  })
})
