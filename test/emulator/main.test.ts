// `npm run emulator`: the standalone process (src/bin/emulator.ts, bundled: see test/support/bundle.ts) prints what
// a broker needs, serves, and stops cleanly on SIGTERM.
import { spawn } from 'node:child_process'
import { once } from 'node:events'
import t from 'tap'
import { pino } from 'pino'
import { startEmulator } from '../../src/emulator/emulator.js'
import { bundledEntry, ROOT as root } from '../support/bundle.js'
import { answer } from './helpers.js'

void t.test('the standalone emulator', async (t) => {
  const child = spawn(process.execPath, [await bundledEntry('emulator')], {
    cwd: root,
    env: {
      ...process.env,
      EMULATOR_PORT: '0',
      EMULATOR_READY_DELAY_MS: '0',
      EMULATOR_CLIENT_ID: 'standalone-client',
      EMULATOR_CLIENT_SECRET: 'standalone-secret',
      EMULATOR_ORG_ID: 'STANDALONE@AdobeOrg',
      LOG_LEVEL: 'silent'
    },
    stdio: ['ignore', 'pipe', 'pipe']
  })
  t.teardown(() => {
    if (child.exitCode === null) child.kill('SIGKILL')
  })

  let out = ''
  child.stdout.setEncoding('utf8')
  const settings = await new Promise<Record<string, string>>((resolve, reject) => {
    child.stdout.on('data', (chunk: string) => {
      out += chunk
      if (out.includes('IMS_ORG_ID=')) {
        resolve(
          Object.fromEntries(
            out
              .split('\n')
              .filter((l) => /^[A-Z_]+=/.test(l))
              .map((l) => [l.slice(0, l.indexOf('=')), l.slice(l.indexOf('=') + 1)])
          )
        )
      }
    })
    child.once('exit', (code) => {
      reject(new Error(`exited early with ${String(code)}: ${out}`))
    })
  })

  t.match(settings, {
    FLOW_SERVICE_URL: /^http:\/\/127\.0\.0\.1:\d+\/data\/foundation\/flowservice$/,
    IMS_URL: /^http:\/\/127\.0\.0\.1:\d+$/,
    IMS_CLIENT_ID: 'standalone-client',
    IMS_CLIENT_SECRET: 'standalone-secret',
    IMS_ORG_ID: 'STANDALONE@AdobeOrg'
  })

  const token = await answer(
    await fetch(`${settings.IMS_URL}/ims/token/v3`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({
        grant_type: 'client_credentials',
        client_id: 'standalone-client',
        client_secret: 'standalone-secret',
        scope: 'openid'
      })
    })
  )
  t.equal(token.status, 200, 'the configured client gets a token')
  const health = await fetch(`${settings.IMS_URL}/_emulator/health`)
  t.equal(health.status, 200)
  await health.arrayBuffer()

  child.kill('SIGTERM')
  const [code] = (await once(child, 'exit')) as [number | null]
  t.equal(code, 0, 'SIGTERM stops it cleanly')
})

void t.test('a bad EMULATOR_PORT stops the boot with a message naming it', async (t) => {
  const child = spawn(process.execPath, [await bundledEntry('emulator')], {
    cwd: root,
    env: { ...process.env, EMULATOR_PORT: 'eighty' },
    stdio: ['ignore', 'pipe', 'pipe']
  })
  let err = ''
  child.stderr.setEncoding('utf8')
  child.stderr.on('data', (c: string) => {
    err += c
  })
  const [code] = (await once(child, 'exit')) as [number | null]
  t.equal(code, 1)
  t.match(err, /EMULATOR_PORT/)
})

void t.test('a pino logger plugs in', async (t) => {
  const emu = await startEmulator({ logger: pino({ level: 'silent' }) })
  t.teardown(async () => {
    await emu.close()
  })
  t.match(emu.origin, /^http:\/\/127\.0\.0\.1:\d+$/)
  t.equal(emu.flowServiceUrl, `${emu.origin}/data/foundation/flowservice`)
  t.equal(emu.imsUrl, emu.origin)
  t.same(emu.credentials, {
    clientId: 'broker-dev-client',
    clientSecret: emu.credentials.clientSecret,
    orgId: 'DEV0000000000000000000000@AdobeOrg'
  })
})

void t.test('close() is idempotent', async (t) => {
  const emu = await startEmulator()
  await Promise.all([emu.close(), emu.close()])
  await emu.close()
  t.pass()
})
