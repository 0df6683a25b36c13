// The boot line: one log line naming the mode and what is in use (database host/name, secret store kind and
// address, Flow Service URL), never a secret, even when URLs carry one.
import { randomBytes } from 'node:crypto'
import t from 'tap'
import { bootSummary } from '../src/boot-summary.js'
import { loadConfig } from '../src/config.js'
import { startTestBroker } from './support/test-broker.js'

const SECRETS = {
  dbPassword: 'db-password-value-91',
  vaultToken: 'vault-token-value-92',
  imsSecret: 'ims-secret-value-93',
  flowUserinfo: 'flow-userinfo-94',
  adminKey: randomBytes(24).toString('hex')
}

void t.test(
  'production: PostgreSQL host/name, Vault address, Flow Service and IMS URLs, mode and why; no secret',
  async (t) => {
    const config = loadConfig({
      NODE_ENV: 'production',
      DATABASE_URL: `postgres://broker:${SECRETS.dbPassword}@db.internal:5433/broker_prod?sslmode=require`,
      VAULT_ADDR: 'https://vault.internal:8200',
      VAULT_TOKEN: SECRETS.vaultToken,
      FLOW_SERVICE_URL: `https://user:${SECRETS.flowUserinfo}@platform.adobe.io/data/foundation/flowservice`,
      IMS_URL: 'https://ims-na1.adobelogin.com',
      IMS_CLIENT_ID: 'client-id',
      IMS_CLIENT_SECRET: SECRETS.imsSecret,
      IMS_ORG_ID: 'ABC123@AdobeOrg',
      BROKER_ADMIN_KEY: SECRETS.adminKey
    })
    const { fields, message } = bootSummary(config, config.database)
    t.same(fields, {
      mode: 'production',
      modeReason: 'NODE_ENV=production',
      database: 'PostgreSQL db.internal:5433/broker_prod',
      secretStore: 'vault https://vault.internal:8200 (mount secret, prefix credential-broker, token auth)',
      flowService:
        'https://platform.adobe.io/data/foundation/flowservice (IMS https://ims-na1.adobelogin.com/ims/token/v3, org ABC123@AdobeOrg)'
    })
    t.match(
      message,
      /^credential broker in PRODUCTION mode \(NODE_ENV=production\): database PostgreSQL db\.internal:5433\/broker_prod; secret store vault https:\/\/vault\.internal:8200/
    )
    const text = JSON.stringify(fields) + message
    for (const [name, value] of Object.entries(SECRETS)) t.notOk(text.includes(value), `no ${name}`)
  }
)

void t.test(
  'a started broker logs the line once, in dev mode naming the emulator and the embedded store',
  async (t) => {
    const b = await startTestBroker(t, { poller: false, reconciler: false })
    const lines = b
      .logs()
      .split('\n')
      .filter((l) => l.includes('credential broker in '))
    t.equal(lines.length, 1, 'one line')
    const line = JSON.parse(lines[0] ?? '{}') as Record<string, string>
    t.equal(line.mode, 'dev')
    t.equal(line.modeReason, 'BROKER_MODE=dev')
    t.match(
      line.flowService,
      new RegExp(
        `^in-process emulator at ${b.emulator.flowServiceUrl.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')}, not Adobe$`
      )
    )
    t.equal(line.secretStore, 'local (key from BROKER_SECRET_KEY)')
    t.match(line.database, /^(embedded PGlite in memory|PostgreSQL \S+:\d+\/broker_test_\w+)$/)
  }
)

void t.test('dev mode logs each look-alike variable it ignores', async (t) => {
  const b = await startTestBroker(t, { poller: false, reconciler: false, env: { POLL_STEADY_INTERVAL: '5000' } })
  t.match(
    b.logs(),
    /POLL_STEADY_INTERVAL is not a setting of the broker; did you mean POLL_STEADY_INTERVAL_MS\? It is ignored\./
  )
})
