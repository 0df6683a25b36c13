// `npm run emulator`: the emulator as its own process (docker-compose, manual curl sessions, tests in another
// process), configured by EMULATOR_* variables; prints the settings a broker needs to talk to it.
import { pino } from 'pino'
import { EMULATOR_DEFAULTS, startEmulator } from '../emulator/emulator.js'

function intFromEnv(name: string, fallback: number, min: number, max: number): number {
  const raw = process.env[name]
  if (raw === undefined || raw === '') return fallback
  const value = Number(raw)
  if (!Number.isInteger(value) || value < min || value > max) {
    throw new Error(`${name} must be an integer between ${min} and ${max}, got '${raw}'`)
  }
  return value
}

function stringFromEnv(name: string): string | undefined {
  const raw = process.env[name]
  return raw === undefined || raw === '' ? undefined : raw
}

async function main(): Promise<void> {
  const logger = pino({ level: process.env.LOG_LEVEL ?? 'info', name: 'flow-service-emulator' })
  const host = stringFromEnv('EMULATOR_HOST')
  const clientId = stringFromEnv('EMULATOR_CLIENT_ID')
  const clientSecret = stringFromEnv('EMULATOR_CLIENT_SECRET')
  const orgId = stringFromEnv('EMULATOR_ORG_ID')
  const emulator = await startEmulator({
    port: intFromEnv('EMULATOR_PORT', 8090, 0, 65535),
    readyDelayMs: intFromEnv('EMULATOR_READY_DELAY_MS', EMULATOR_DEFAULTS.readyDelayMs, 0, 86_400_000),
    ...(host === undefined ? {} : { host }),
    ...(clientId === undefined ? {} : { clientId }),
    ...(clientSecret === undefined ? {} : { clientSecret }),
    ...(orgId === undefined ? {} : { orgId }),
    logger
  })

  // Plain KEY=value lines, so a shell can `eval` or a .env file can take them as they are.
  process.stdout.write(
    [
      `FLOW_SERVICE_URL=${emulator.flowServiceUrl}`,
      `IMS_URL=${emulator.imsUrl}`,
      `IMS_CLIENT_ID=${emulator.credentials.clientId}`,
      `IMS_CLIENT_SECRET=${emulator.credentials.clientSecret}`,
      `IMS_ORG_ID=${emulator.credentials.orgId}`,
      `# control API: ${emulator.origin}/_emulator (e.g. GET /_emulator/calls)`,
      ''
    ].join('\n')
  )

  const shutdown = (signal: string): void => {
    logger.info({ signal }, 'Flow Service emulator stopping')
    emulator.close().then(
      () => {
        process.exit(0)
      },
      (err: unknown) => {
        logger.error({ err }, 'Flow Service emulator failed to stop')
        process.exit(1)
      }
    )
  }
  process.once('SIGINT', () => {
    shutdown('SIGINT')
  })
  process.once('SIGTERM', () => {
    shutdown('SIGTERM')
  })
}

main().catch((err: unknown) => {
  process.stderr.write(`flow-service emulator: ${err instanceof Error ? err.message : String(err)}\n`)
  process.exit(1)
})
