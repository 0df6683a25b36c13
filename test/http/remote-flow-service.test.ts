// Production wiring: FLOW_SERVICE_URL and IMS_* point at a separately started emulator (as with `npm run emulator`),
// the admin key comes from BROKER_ADMIN_KEY, and a state changed downstream is recorded within one steady interval.
import { randomBytes } from 'node:crypto'
import { mkdtemp, rm } from 'node:fs/promises'
import os from 'node:os'
import path from 'node:path'
import t from 'tap'
import pino from 'pino'
import { createBroker } from '../../src/broker.js'
import { loadConfig } from '../../src/config.js'
import { startEmulator } from '../../src/emulator/emulator.js'
import { SEED_BODIES } from '../support/seed-bodies.js'
import { createTestDatabase } from '../support/test-database.js'

const STEADY_MS = 1500

void t.test(
  'a broker configured for a remote Flow Service creates, follows and notices a downstream change',
  async (t) => {
    const emulator = await startEmulator({
      readyDelayMs: 0,
      clientId: 'remote-client',
      clientSecret: 'remote-secret-value',
      orgId: 'REMOTE0000000000000000000@AdobeOrg'
    })
    t.teardown(async () => {
      await emulator.close()
    })
    const database = await createTestDatabase()
    const dataDir = await mkdtemp(path.join(os.tmpdir(), 'broker-remote-'))
    const adminKey = randomBytes(24).toString('hex')
    const config = loadConfig({
      BROKER_MODE: 'production',
      // Production requires it; the test's own database (maybe PGlite) is what createBroker gets below.
      DATABASE_URL: database.url ?? 'postgres://broker@127.0.0.1:1/unused',
      FLOW_SERVICE_URL: emulator.flowServiceUrl,
      IMS_URL: emulator.imsUrl,
      IMS_CLIENT_ID: 'remote-client',
      IMS_CLIENT_SECRET: 'remote-secret-value',
      IMS_ORG_ID: 'REMOTE0000000000000000000@AdobeOrg',
      BROKER_ADMIN_KEY: adminKey,
      BROKER_SECRET_KEY: randomBytes(32).toString('base64'),
      BROKER_DATA_DIR: dataDir,
      POLL_FAST_INTERVAL_MS: '200',
      POLL_STEADY_INTERVAL_MS: String(STEADY_MS),
      LOG_LEVEL: 'silent'
    })
    t.equal(config.mode, 'production')
    t.equal(config.flowService.kind, 'remote')
    const broker = await createBroker(config, pino({ level: 'silent' }), { database: database.config })
    t.teardown(async () => {
      await broker.app.close()
      await database.drop()
      await rm(dataDir, { recursive: true, force: true })
    })
    t.equal(broker.emulator, undefined, 'no in-process emulator')
    t.equal(broker.devAdminKey, undefined, 'no dev key outside dev mode')

    const auth = { authorization: `Bearer ${adminKey}` }
    const ready = await broker.app.inject({ method: 'GET', url: '/health/ready' })
    t.equal(ready.statusCode, 200, 'ready: database, secret store and the remote Flow Service answer')

    const created = await broker.app.inject({
      method: 'POST',
      url: '/v1/connections',
      headers: { ...auth, 'content-type': 'application/json' },
      payload: JSON.stringify(SEED_BODIES.salesforceOAuth)
    })
    t.equal(created.statusCode, 201)
    const { id, flowConnectionId } = created.json<{ id: string; flowConnectionId: string }>()
    const stateOf = async (): Promise<string> =>
      (await broker.app.inject({ method: 'GET', url: `/v1/connections/${id}`, headers: auth })).json<{
        state: string
      }>().state
    while ((await stateOf()) !== 'enabled') await new Promise((resolve) => setTimeout(resolve, 50))

    // Changed downstream through the emulator's HTTP control API, as an operator would with a standalone emulator.
    const forced = await fetch(`${emulator.origin}/_emulator/connections/${flowConnectionId}/state`, {
      method: 'PUT',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ state: 'disabled' })
    })
    t.equal(forced.status, 200)
    const changedAt = Date.now()
    // One steady interval, its ±10% jitter, one idle tick of the poller, and slack for a loaded CI machine.
    const bound = STEADY_MS * 1.1 + 2000
    while ((await stateOf()) !== 'disabled' && Date.now() - changedAt < bound + 2000)
      await new Promise((resolve) => setTimeout(resolve, 50))
    t.equal(await stateOf(), 'disabled', 'recorded')
    t.ok(
      Date.now() - changedAt <= bound,
      `noticed within one steady interval (${Date.now() - changedAt} ms; bound ${bound} ms)`
    )
  }
)
