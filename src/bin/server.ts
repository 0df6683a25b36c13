// The process: config, logger, listen, graceful shutdown. Everything else is built by createBroker.
import closeWithGrace from 'close-with-grace'
import { createBroker, type Broker } from '../broker.js'
import { ConfigError, loadConfig, type Config } from '../config.js'
import { DataDirLockedError } from '../db/data-dir-lock.js'
import { createLogger } from '../logging/logger.js'

let config: Config
try {
  config = loadConfig()
} catch (err) {
  if (err instanceof ConfigError) {
    process.stderr.write(`credential-broker: bad configuration: ${err.message}\n`)
    process.exit(78) // EX_CONFIG
  }
  throw err
}

const logger = createLogger(config.logLevel)
let broker: Broker
try {
  broker = await createBroker(config, logger)
} catch (err) {
  // Settings only the boot can check (IMS accepting the credentials), and a data dir another process holds.
  if (err instanceof ConfigError || err instanceof DataDirLockedError) {
    logger.fatal(err.message)
    process.stderr.write(
      `credential-broker: ${err instanceof ConfigError ? 'bad configuration: ' : ''}${err.message}\n`
    )
    process.exit(err instanceof ConfigError ? 78 : 75) // EX_CONFIG, EX_TEMPFAIL
  }
  throw err
}

closeWithGrace({ delay: 10000, logger }, async ({ signal, err }) => {
  if (err !== undefined) logger.error({ err }, 'shutting down after an error')
  else logger.info({ signal }, 'shutting down')
  await broker.app.close()
})

const address = await broker.app.listen({ port: config.port, host: config.host })
if (broker.devAdminKey !== undefined) {
  const banner = [
    '',
    '================ DEV MODE ================',
    `Broker:        ${address}  (docs: ${address}/docs)`,
    `Flow Service:  in-process emulator at ${broker.emulator?.flowServiceUrl ?? '?'}`,
    `Database:      ${broker.database.kind === 'pglite' ? `embedded PGlite in ${config.dataDir}` : 'PostgreSQL'}`,
    `Secret store:  ${broker.secrets.kind}`,
    `Admin API key: ${broker.devAdminKey}`,
    '  export BROKER_KEY=' + broker.devAdminKey,
    '==========================================',
    ''
  ].join('\n')
  process.stdout.write(banner + '\n')
}
