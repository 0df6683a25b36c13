// loadConfig: nothing set is a working dev setup; production (chosen, NODE_ENV=production, or any production
// setting) never falls back to an embedded dependency; each bad, missing or contradictory setting stops the boot
// with a ConfigError that names the variable to fix.
import { randomBytes } from 'node:crypto'
import t, { type Test } from 'tap'
import { ConfigError, loadConfig } from '../src/config.js'

/** Dev mode chosen: the cases below check one setting each, without the rest production would ask for. */
const DEV = { BROKER_MODE: 'dev' }
const PRODUCTION = {
  DATABASE_URL: 'postgres://broker:db-password-value@db.internal:5433/broker',
  VAULT_ADDR: 'https://vault.internal:8200',
  VAULT_TOKEN: 'vault-token-value'
}
const FLOW = {
  FLOW_SERVICE_URL: 'https://platform.adobe.io/data/foundation/flowservice',
  IMS_URL: 'https://ims-na1.adobelogin.com',
  IMS_CLIENT_ID: 'client-id',
  IMS_CLIENT_SECRET: 'client-secret',
  IMS_ORG_ID: 'ABC123@AdobeOrg'
}

/** Asserts loadConfig(env) stops with a ConfigError naming `variable`, in its field and its message. */
function refuses(t: Test, env: Record<string, string>, variable: string, why?: RegExp): void {
  try {
    loadConfig(env)
    t.fail(`accepted ${JSON.stringify(env)}`)
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err
    t.equal(err.variable, variable, 'names the variable')
    t.ok(err.message.startsWith(`${variable}: `), `the message starts with it: ${err.message}`)
    if (why !== undefined) t.match(err.message, why, 'says why')
  }
}

void t.test('nothing set: dev mode with every embedded default', async (t) => {
  const config = loadConfig({})
  t.equal(config.mode, 'dev')
  t.match(config.modeReason, /no production setting/)
  t.same(config.warnings, [])
  t.equal(config.port, 8080)
  t.equal(config.host, '127.0.0.1')
  t.equal(config.logLevel, 'info')
  t.same(config.database, { kind: 'pglite', dataDir: './.data' })
  t.same(config.secretStore, { kind: 'local' })
  t.match(config.flowService, { kind: 'emulator', sandbox: 'prod' })
  t.equal(config.defaultSandboxName, 'prod')
  t.equal(config.poller.enabled, true)
  t.ok(config.poller.fastIntervalMs <= config.poller.steadyIntervalMs, 'fast is not slower than steady')
  t.ok(config.poller.steadyIntervalMs <= 60000, 'a stable connection is polled at least once a minute')
  t.equal(config.adminKey, undefined)
})

void t.test('empty values count as unset', async (t) => {
  t.same(loadConfig({ PORT: '', DATABASE_URL: '', VAULT_ADDR: '', BROKER_MODE: '' }), loadConfig({}))
})

void t.test('production settings are read as given', async (t) => {
  const key = randomBytes(32).toString('base64')
  const config = loadConfig({
    ...FLOW,
    PORT: '9090',
    DATABASE_URL: 'postgres://broker@db:5432/broker',
    BROKER_SECRET_KEY: key,
    POLLER_ENABLED: 'false',
    LOG_LEVEL: 'warn'
  })
  t.equal(config.mode, 'production')
  t.equal(config.port, 9090)
  t.equal(config.logLevel, 'warn')
  t.same(config.database, { kind: 'postgres', url: 'postgres://broker@db:5432/broker', poolSize: 10 })
  t.equal(config.secretStore.kind === 'local' && config.secretStore.key?.toString('base64'), key)
  t.match(config.flowService, {
    kind: 'remote',
    url: FLOW.FLOW_SERVICE_URL,
    imsUrl: FLOW.IMS_URL,
    orgId: FLOW.IMS_ORG_ID
  })
  t.equal(config.poller.enabled, false)
})

void t.test('VAULT_ADDR alone selects the Vault store', async (t) => {
  const config = loadConfig({ ...DEV, VAULT_ADDR: 'http://127.0.0.1:8200/', VAULT_TOKEN: 'root' })
  t.match(config.secretStore, {
    kind: 'vault',
    addr: 'http://127.0.0.1:8200',
    mount: 'secret',
    prefix: 'credential-broker',
    auth: { method: 'token', token: 'root' }
  })
  // Without an auth method it is still Vault that was chosen: the error asks for Vault auth, not for nothing.
  refuses(t, { ...DEV, VAULT_ADDR: 'http://127.0.0.1:8200' }, 'VAULT_TOKEN', /auth method/)
})

void t.test(
  'SECRET_STORE=local keeps the local store even when VAULT_ADDR is set (the Vault CLI sets it)',
  async (t) => {
    t.same(loadConfig({ ...DEV, SECRET_STORE: 'local', VAULT_ADDR: 'http://127.0.0.1:8200' }).secretStore, {
      kind: 'local'
    })
  }
)

void t.test('each Vault auth method alone is accepted', async (t) => {
  t.match(
    loadConfig({ ...DEV, VAULT_ADDR: 'http://v:8200', VAULT_ROLE_ID: 'role', VAULT_SECRET_ID: 'sid' }).secretStore,
    { auth: { method: 'approle', roleId: 'role', secretId: 'sid' } }
  )
  t.match(
    loadConfig({ ...DEV, VAULT_ADDR: 'http://v:8200', VAULT_ROLE_ID: 'role', VAULT_SECRET_ID_FILE: '/run/sid' })
      .secretStore,
    { auth: { method: 'approle', secretIdFile: '/run/sid' } }
  )
  t.match(loadConfig({ ...DEV, VAULT_ADDR: 'http://v:8200', VAULT_K8S_ROLE: 'broker' }).secretStore, {
    auth: { method: 'kubernetes', role: 'broker' }
  })
})

void t.test('bad or contradictory settings stop the boot, naming the variable', async (t) => {
  const cases: Array<[string, Record<string, string>, string, RegExp?]> = [
    ['PORT not a number', { PORT: 'eighty' }, 'PORT', /integer/],
    ['PORT out of range', { PORT: '70000' }, 'PORT', /65535/],
    ['PORT negative', { PORT: '-1' }, 'PORT'],
    [
      'BROKER_SECRET_KEY of 16 bytes',
      { BROKER_SECRET_KEY: randomBytes(16).toString('base64') },
      'BROKER_SECRET_KEY',
      /32 bytes/
    ],
    [
      'BROKER_SECRET_KEY of 33 bytes',
      { BROKER_SECRET_KEY: randomBytes(33).toString('base64') },
      'BROKER_SECRET_KEY',
      /32 bytes/
    ],
    ['BROKER_SECRET_KEY not base64', { BROKER_SECRET_KEY: 'this is not a key at all, is it?' }, 'BROKER_SECRET_KEY'],
    ['BROKER_SECRET_KEY as hex', { BROKER_SECRET_KEY: randomBytes(32).toString('hex') }, 'BROKER_SECRET_KEY'],
    ['SECRET_STORE=vault without VAULT_ADDR', { SECRET_STORE: 'vault', VAULT_TOKEN: 'root' }, 'VAULT_ADDR'],
    ['SECRET_STORE unknown', { SECRET_STORE: 'keychain' }, 'SECRET_STORE'],
    ['VAULT_ADDR not a URL', { VAULT_ADDR: '127.0.0.1:8200', VAULT_TOKEN: 'root' }, 'VAULT_ADDR'],
    [
      'token and AppRole',
      { VAULT_ADDR: 'http://v:8200', VAULT_TOKEN: 'root', VAULT_ROLE_ID: 'role', VAULT_SECRET_ID: 'sid' },
      'VAULT_ROLE_ID',
      /VAULT_TOKEN/
    ],
    [
      'token and Kubernetes',
      { VAULT_ADDR: 'http://v:8200', VAULT_TOKEN: 'root', VAULT_K8S_ROLE: 'broker' },
      'VAULT_K8S_ROLE',
      /VAULT_TOKEN/
    ],
    ['AppRole without a secret id', { VAULT_ADDR: 'http://v:8200', VAULT_ROLE_ID: 'role' }, 'VAULT_SECRET_ID'],
    [
      'AppRole secret id given twice',
      { VAULT_ADDR: 'http://v:8200', VAULT_ROLE_ID: 'role', VAULT_SECRET_ID: 'sid', VAULT_SECRET_ID_FILE: '/run/sid' },
      'VAULT_SECRET_ID_FILE',
      /VAULT_SECRET_ID/
    ],
    ['IMS_CLIENT_ID without FLOW_SERVICE_URL', { IMS_CLIENT_ID: 'client-id' }, 'FLOW_SERVICE_URL', /IMS_CLIENT_ID/],
    ['IMS_URL without FLOW_SERVICE_URL', { IMS_URL: FLOW.IMS_URL }, 'FLOW_SERVICE_URL', /IMS_URL/],
    ['FLOW_SERVICE_URL without IMS_URL', { ...FLOW, IMS_URL: '' }, 'IMS_URL'],
    ['FLOW_SERVICE_URL without IMS_CLIENT_SECRET', { ...FLOW, IMS_CLIENT_SECRET: '' }, 'IMS_CLIENT_SECRET'],
    ['FLOW_SERVICE_URL without IMS_ORG_ID', { ...FLOW, IMS_ORG_ID: '' }, 'IMS_ORG_ID'],
    ['IMS_ORG_ID without @AdobeOrg', { ...FLOW, IMS_ORG_ID: 'ABC123' }, 'IMS_ORG_ID'],
    ['LOG_LEVEL unknown', { LOG_LEVEL: 'verbose' }, 'LOG_LEVEL', /fatal, error, warn/],
    ['DATABASE_URL of another database', { DATABASE_URL: 'mysql://root@db/broker' }, 'DATABASE_URL', /postgres/],
    [
      'POLL_FAST_INTERVAL_MS above POLL_STEADY_INTERVAL_MS',
      { POLL_FAST_INTERVAL_MS: '5000', POLL_STEADY_INTERVAL_MS: '1000' },
      'POLL_FAST_INTERVAL_MS',
      /POLL_STEADY_INTERVAL_MS/
    ],
    ['POLL_BATCH_SIZE above Flow Service’s page', { POLL_BATCH_SIZE: '101' }, 'POLL_BATCH_SIZE'],
    ['POLLER_ENABLED not a boolean', { POLLER_ENABLED: 'maybe' }, 'POLLER_ENABLED', /true or false/]
  ]
  for (const [name, env, variable, why] of cases) {
    void t.test(name, async (t) => {
      refuses(t, { ...DEV, ...env }, variable, why)
    })
  }
})

void t.test('production never falls back to an embedded dependency', async (t) => {
  void t.test(
    'the image (NODE_ENV=production) with nothing configured stops, naming DATABASE_URL and the rest',
    async (t) => {
      refuses(
        t,
        { NODE_ENV: 'production' },
        'DATABASE_URL',
        /production mode \(NODE_ENV=production\).*Also required: SECRET_STORE, FLOW_SERVICE_URL.*BROKER_MODE=dev/
      )
    }
  )
  void t.test('BROKER_MODE=production with nothing configured stops the same way', async (t) => {
    refuses(t, { BROKER_MODE: 'production' }, 'DATABASE_URL', /BROKER_MODE=production/)
  })
  void t.test('any production setting means production: Flow Service configured, no DATABASE_URL', async (t) => {
    refuses(
      t,
      { ...FLOW, BROKER_SECRET_KEY: randomBytes(32).toString('base64') },
      'DATABASE_URL',
      /production mode \(FLOW_SERVICE_URL is set\)/
    )
  })
  void t.test('the typo DATABSE_URL with Flow Service configured stops, naming it and what it meant', async (t) => {
    refuses(
      t,
      { ...PRODUCTION, DATABASE_URL: '', DATABSE_URL: PRODUCTION.DATABASE_URL, ...FLOW },
      'DATABSE_URL',
      /did you mean DATABASE_URL\?/
    )
  })
  void t.test('no secret store', async (t) => {
    refuses(
      t,
      { ...FLOW, DATABASE_URL: PRODUCTION.DATABASE_URL },
      'SECRET_STORE',
      /vault.*local with BROKER_SECRET_KEY/
    )
  })
  void t.test('the local store without a key (a key file is dev only)', async (t) => {
    refuses(t, { ...FLOW, DATABASE_URL: PRODUCTION.DATABASE_URL, SECRET_STORE: 'local' }, 'BROKER_SECRET_KEY')
  })
  void t.test('no Flow Service (the emulator is dev only)', async (t) => {
    refuses(t, { ...PRODUCTION, NODE_ENV: 'production' }, 'FLOW_SERVICE_URL', /emulator is for dev mode only/)
  })
  void t.test('everything configured: production with Vault, PostgreSQL and Adobe', async (t) => {
    const config = loadConfig({ ...PRODUCTION, ...FLOW, NODE_ENV: 'production' })
    t.equal(config.mode, 'production')
    t.equal(config.modeReason, 'NODE_ENV=production')
    t.match(config, { database: { kind: 'postgres' }, secretStore: { kind: 'vault' }, flowService: { kind: 'remote' } })
  })
  void t.test('an ops CLI needs only the database', async (t) => {
    const config = loadConfig({ DATABASE_URL: PRODUCTION.DATABASE_URL }, { needs: ['database'] })
    t.equal(config.mode, 'production')
    t.same(config.database, { kind: 'postgres', url: PRODUCTION.DATABASE_URL, poolSize: 10 })
    refuses(t, { NODE_ENV: 'production' }, 'DATABASE_URL')
  })
  void t.test('BROKER_MODE=dev is a deliberate choice, even under NODE_ENV=production', async (t) => {
    const config = loadConfig({ BROKER_MODE: 'dev', NODE_ENV: 'production' })
    t.equal(config.mode, 'dev')
    t.equal(config.modeReason, 'BROKER_MODE=dev')
    t.same(config.database, { kind: 'pglite', dataDir: './.data' })
  })
  void t.test('BROKER_MODE takes dev or production only', async (t) => {
    refuses(t, { BROKER_MODE: 'prod' }, 'BROKER_MODE')
  })
})

void t.test('variables that look like settings but are not', async (t) => {
  void t.test('dev mode warns, naming the variable and what it likely meant, and boots', async (t) => {
    const config = loadConfig({
      DATABSE_URL: 'postgres://db/broker',
      database_url: 'x',
      POLL_STEADY_INTERVAL: '5000',
      BROKER_FOO: '1'
    })
    t.equal(config.mode, 'dev')
    t.same(
      config.warnings.map((w) => w.split(' ')[0]),
      ['BROKER_FOO', 'database_url', 'DATABSE_URL', 'POLL_STEADY_INTERVAL'].sort((a, b) => a.localeCompare(b))
    )
    t.match(config.warnings.join('\n'), /DATABSE_URL is not a setting of the broker; did you mean DATABASE_URL\?/)
    t.match(config.warnings.join('\n'), /database_url .*did you mean DATABASE_URL\?/)
    t.match(config.warnings.join('\n'), /POLL_STEADY_INTERVAL .*did you mean POLL_STEADY_INTERVAL_MS\?/)
  })
  void t.test('production refuses them', async (t) => {
    refuses(
      t,
      { ...PRODUCTION, ...FLOW, IMS_ORG: 'ABC@AdobeOrg' },
      'IMS_ORG',
      /did you mean IMS_ORG_ID\?.*Production mode/
    )
    refuses(t, { ...PRODUCTION, ...FLOW, BROKER_SECRETKEY: 'x' }, 'BROKER_SECRETKEY', /BROKER_SECRET_KEY/)
  })
  void t.test("a shell's, the Vault CLI's and Kubernetes' own variables are not mistaken for ours", async (t) => {
    const config = loadConfig({
      ...PRODUCTION,
      ...FLOW,
      PATH: '/usr/bin',
      HOME: '/home/node',
      HOSTNAME: 'broker-7d9f',
      NODE_ENV: 'production',
      NODE_OPTIONS: '--max-old-space-size=256',
      TERM: 'xterm',
      LANG: 'C.UTF-8',
      PWD: '/app',
      USER: 'node',
      VAULT_CACERT: '/etc/ca.pem',
      VAULT_SKIP_VERIFY: 'true',
      VAULT_FORMAT: 'json',
      BROKER_SERVICE_HOST: '10.0.0.7',
      BROKER_SERVICE_PORT: '8080',
      BROKER_PORT: 'tcp://10.0.0.7:8080',
      BROKER_PORT_8080_TCP_ADDR: '10.0.0.7',
      VAULT_SERVICE_HOST: '10.0.0.8',
      VAULT_PORT: 'tcp://10.0.0.8:8200'
    })
    t.same(config.warnings, [])
  })
})

void t.test("IMS_URL as Adobe's console shows it (the token endpoint) or as its base", async (t) => {
  for (const imsUrl of [
    'https://ims-na1.adobelogin.com',
    'https://ims-na1.adobelogin.com/',
    'https://ims-na1.adobelogin.com/ims/token/v3',
    'https://ims-na1.adobelogin.com/ims/token/v3/'
  ]) {
    t.equal(loadConfig({ ...PRODUCTION, ...FLOW, IMS_URL: imsUrl }).flowService.kind, 'remote', imsUrl)
  }
  refuses(
    t,
    { ...PRODUCTION, ...FLOW, IMS_URL: 'https://ims-na1.adobelogin.com/ims/exchange/jwt' },
    'IMS_URL',
    /not the client-credentials token endpoint.*https:\/\/ims-na1\.adobelogin\.com\/ims\/token\/v3/
  )
  refuses(t, { ...PRODUCTION, ...FLOW, IMS_URL: 'https://ims-na1.adobelogin.com/ims/token/v2' }, 'IMS_URL')
  refuses(t, { ...PRODUCTION, ...FLOW, IMS_URL: 'https://ims-na1.adobelogin.com/?client_id=x' }, 'IMS_URL', /query/)
})
