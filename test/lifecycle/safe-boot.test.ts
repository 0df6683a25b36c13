// The real server (src/bin/server.ts, bundled: see test/support/bundle.ts) refuses to boot on dev defaults outside dev
// mode: exit 78 (EX_CONFIG) with the variable to fix, before anything embedded is created and without printing an
// admin key.
import { execFile } from 'node:child_process'
import { mkdtemp, readdir, rm } from 'node:fs/promises'
import os from 'node:os'
import path from 'node:path'
import { randomBytes } from 'node:crypto'
import t, { type Test } from 'tap'
import { startEmulator } from '../../src/emulator/emulator.js'
import { bundledEntry, ROOT } from '../support/bundle.js'

interface Exit {
  code: number | null
  output: string
}

/** Runs the server with exactly `env` (plus PATH and HOME) and waits for it to exit. */
async function runServer(env: Record<string, string>): Promise<Exit> {
  const server = await bundledEntry('server')
  return await new Promise((resolve) => {
    const child = execFile(
      process.execPath,
      [server],
      {
        cwd: ROOT,
        env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '', ...env },
        timeout: 60_000
      },
      (_err, stdout, stderr) => {
        resolve({ code: child.exitCode, output: stdout + stderr })
      }
    )
  })
}

async function emptyDataDir(t: Test): Promise<string> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'broker-safe-boot-'))
  t.teardown(async () => {
    await rm(dir, { recursive: true, force: true })
  })
  return dir
}

void t.test('the image (NODE_ENV=production) with nothing configured: exit 78 naming what is missing', async (t) => {
  const dataDir = await emptyDataDir(t)
  const { code, output } = await runServer({ NODE_ENV: 'production', BROKER_DATA_DIR: dataDir, PORT: '0' })
  t.equal(code, 78)
  t.match(output, /bad configuration: DATABASE_URL: is required in production mode \(NODE_ENV=production\)/)
  t.match(output, /Also required: SECRET_STORE, FLOW_SERVICE_URL/)
  t.notMatch(output, /cbk_/, 'no admin key printed')
  t.same(await readdir(dataDir), [], 'no embedded database or key file created')
})

void t.test('DATABSE_URL mistyped with Flow Service configured: exit 78 naming the typo and the setting', async (t) => {
  const dataDir = await emptyDataDir(t)
  const { code, output } = await runServer({
    DATABSE_URL: 'postgres://broker@db.internal/broker',
    BROKER_SECRET_KEY: randomBytes(32).toString('base64'),
    FLOW_SERVICE_URL: 'https://platform.adobe.io/data/foundation/flowservice',
    IMS_URL: 'https://ims-na1.adobelogin.com/ims/token/v3',
    IMS_CLIENT_ID: 'client-id',
    IMS_CLIENT_SECRET: 'client-secret-value',
    IMS_ORG_ID: 'ABC123@AdobeOrg',
    BROKER_DATA_DIR: dataDir
  })
  t.equal(code, 78)
  t.match(output, /DATABSE_URL: is not a setting of the broker; did you mean DATABASE_URL\?/)
  t.notOk(output.includes('client-secret-value'), 'no secret in the output')
  t.same(await readdir(dataDir), [])
})

void t.test('IMS refusing the client secret at boot: exit 78 naming IMS_CLIENT_SECRET', async (t) => {
  const emulator = await startEmulator({
    readyDelayMs: 0,
    clientId: 'safe-boot-client',
    clientSecret: 'the-right-secret-value',
    orgId: 'SAFE0000000000000000000000@AdobeOrg'
  })
  t.teardown(async () => {
    await emulator.close()
  })
  const { code, output } = await runServer({
    BROKER_MODE: 'production',
    // Never reached: IMS is asked before the database is opened.
    DATABASE_URL: 'postgres://broker@127.0.0.1:1/broker',
    BROKER_SECRET_KEY: randomBytes(32).toString('base64'),
    FLOW_SERVICE_URL: emulator.flowServiceUrl,
    IMS_URL: emulator.imsUrl,
    IMS_CLIENT_ID: 'safe-boot-client',
    IMS_CLIENT_SECRET: 'a-wrong-secret-value',
    IMS_ORG_ID: 'SAFE0000000000000000000000@AdobeOrg',
    LOG_LEVEL: 'silent'
  })
  t.equal(code, 78)
  t.match(output, /bad configuration: IMS_CLIENT_SECRET: IMS refused the broker's credentials at boot/)
  t.notOk(
    output.includes('a-wrong-secret-value') || output.includes('the-right-secret-value'),
    'no secret in the output'
  )
})
