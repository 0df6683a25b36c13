// The composition root: creates each resource once from the config, wires the app, and closes them in
// reverse order of creation (poller first, database last).
import { readFile, writeFile } from 'node:fs/promises'
import os from 'node:os'
import path from 'node:path'
import type { Tracer, TracerProvider } from '@opentelemetry/api'
import type { FastifyInstance } from 'fastify'
import type { Logger } from 'pino'
import { buildApp } from './app.js'
import { bootSummary } from './boot-summary.js'
import { generateApiKey } from './auth/api-key-repository.js'
import { bootstrapAdminKey, type BootstrapOutcome } from './auth/bootstrap-key.js'
import { AuditLog } from './audit/audit-log.js'
import { DenialTally } from './audit/denial-tally.js'
import { CallerCache } from './auth/caller-cache.js'
import { RevocationListener } from './auth/revocation-listener.js'
import type { Config } from './config.js'
import { openDatabase, type BrokerDatabase, type DatabaseConfig } from './db/database.js'
import { migrateToLatest } from './db/migrator.js'
import { ensurePrivateDir } from './db/private-dir.js'
import { startEmulator, type RunningEmulator } from './emulator/emulator.js'
import { budgetFlowServiceClient } from './flow-service/budgeted-flow-service-client.js'
import { checkImsCredentials } from './flow-service/check-ims-credentials.js'
import { createFlowServiceClient, type FlowServiceClient } from './flow-service/flow-service-client.js'
import { meterFlowServiceClient } from './flow-service/metered-flow-service-client.js'
import { RequestBudget } from './flow-service/request-budget.js'
import type { DependencyChecks } from './health/check-dependencies.js'
import { createBrokerMetrics, type BrokerMetrics } from './metrics/broker-metrics.js'
import { registerDependencyGauge } from './metrics/dependency-gauge.js'
import { pollerObserver } from './metrics/poller-observer.js'
import { transitionCounter } from './metrics/transition-counter.js'
import { pollerLagSeconds } from './poller/poll-repository.js'
import { StatePoller } from './poller/state-poller.js'
import { Reconciler } from './reconciler/reconciler.js'
import { SecretOrphanSweep } from './reconciler/orphan-sweep.js'
import { loadLocalKey } from './secrets/local/local-key.js'
import { LocalSecretStore } from './secrets/local/local-secret-store.js'
import { meterSecretStore } from './secrets/metered-secret-store.js'
import type { SecretStore } from './secrets/secret-store.js'
import { traceSecretStore } from './secrets/traced-secret-store.js'
import { createVaultSecretStore } from './secrets/vault/vault-secret-store.js'
import type { Clock } from './shared/clock.js'
import { startTracing, useTracerProvider } from './tracing/start-tracing.js'

export interface Broker {
  app: FastifyInstance
  database: BrokerDatabase
  /** The database's audit log, shared by everything this broker appends on its own. */
  audit: AuditLog
  secrets: SecretStore
  flow: FlowServiceClient
  /** Always built (tests call sweep()); its loop runs only when POLLER_ENABLED. */
  poller: StatePoller
  /** Always built (tests call sweep()); its loop runs only when RECONCILER_ENABLED. */
  reconciler: Reconciler
  /** This broker's own registry (several brokers may share a process). */
  metrics: BrokerMetrics
  /** The in-process emulator, in dev mode. */
  emulator: RunningEmulator | undefined
  /** The dev-mode admin key (printed at startup), when one was made. */
  devAdminKey: string | undefined
}

export interface BrokerOverrides {
  /** e.g. an in-memory PGlite for tests. */
  database?: DatabaseConfig
  /** Where the dev admin key file lives; null: keep it in memory only. */
  devKeyDir?: string | null
  /** What requests, the Flow Service client and the emulator sleep on and read the time from; tests pass a virtual one. */
  clock?: Clock
  /** Spans go to this provider (tests: an in-memory exporter), whatever OTEL_EXPORTER_OTLP_ENDPOINT says. */
  tracerProvider?: TracerProvider
}

/**
 * Throws ConfigError (the process exits 78) when IMS refuses the configured credentials, and DataDirLockedError
 * when another process has the embedded database open.
 */
export async function createBroker(config: Config, logger: Logger, overrides: BrokerOverrides = {}): Promise<Broker> {
  for (const warning of config.warnings) logger.warn(warning)
  if (config.flowService.kind === 'remote') {
    const f = config.flowService
    await checkImsCredentials(
      {
        imsUrl: f.imsUrl,
        clientId: f.clientId,
        clientSecret: f.clientSecret,
        scopes: f.scopes,
        timeoutMs: f.timeoutMs
      },
      logger.child({ component: 'ims-check' })
    )
  }
  const closers: Array<() => Promise<void>> = []
  const clock = overrides.clock
  try {
    // Tracing first, so its exporter is closed last, after everything that makes spans.
    let tracer: Tracer | undefined
    if (overrides.tracerProvider !== undefined) tracer = useTracerProvider(overrides.tracerProvider)
    else if (config.tracing !== undefined) {
      const tracing = startTracing(config.tracing)
      tracer = tracing.tracer
      closers.push(async () => {
        await tracing.close()
      })
    }
    // Statements are counted from the first one; the metrics, which read the database, come after it.
    const queries: { observe?: (durationMs: number, failed: boolean) => void } = {}
    const databaseConfig: DatabaseConfig =
      overrides.database ??
      (config.database.kind === 'pglite' ? { kind: 'pglite', dataDir: config.database.dataDir } : config.database)
    const database = await openDatabase(databaseConfig, logger, {
      onQuery: (durationMs, failed) => {
        queries.observe?.(durationMs, failed)
      },
      tracer
    })
    closers.push(async () => {
      await database.close()
    })
    await migrateToLatest(database.db)
    // One per database: its standalone rows (reads, denials) share statements across every request.
    const audit = new AuditLog(database.db)
    const metrics = createBrokerMetrics({
      pollerLagSeconds: async () => await pollerLagSeconds(database.db),
      poolUsage: () => database.poolUsage()
    })
    queries.observe = (durationMs, failed) => {
      metrics.dbQueryDuration.observe({ outcome: failed ? 'error' : 'ok' }, durationMs / 1000)
    }

    // A key file is made only in dev mode (production requires BROKER_SECRET_KEY), in the private data dir.
    if (config.secretStore.kind === 'local' && config.secretStore.key === undefined)
      await ensurePrivateDir(config.dataDir)
    const metered: SecretStore = meterSecretStore(
      config.secretStore.kind === 'vault'
        ? createVaultSecretStore(config.secretStore, logger.child({ component: 'vault' }))
        : new LocalSecretStore(
            database.db,
            await loadLocalKey(
              {
                ...(config.secretStore.key !== undefined ? { key: config.secretStore.key } : {}),
                dataDir: config.dataDir
              },
              logger
            )
          ),
      metrics.secretStoreDuration
    )
    const secrets = tracer !== undefined ? traceSecretStore(metered, tracer) : metered
    closers.push(async () => {
      await secrets.close()
    })

    let emulator: RunningEmulator | undefined
    let flowConfig: Parameters<typeof createFlowServiceClient>[0]
    if (config.flowService.kind === 'emulator') {
      emulator = await startEmulator({
        readyDelayMs: config.flowService.readyDelayMs,
        logger: logger.child({ component: 'emulator' }),
        ...(clock !== undefined ? { clock } : {})
      })
      closers.push(async () => {
        await emulator?.close()
      })
      flowConfig = {
        url: emulator.flowServiceUrl,
        imsUrl: emulator.imsUrl,
        ...emulator.credentials,
        scopes: 'openid,AdobeID',
        timeoutMs: config.flowService.timeoutMs
      }
      logger.warn(
        { flowServiceUrl: emulator.flowServiceUrl },
        '*** DEV MODE: Flow Service is the in-process EMULATOR, not Adobe. Set FLOW_SERVICE_URL and IMS_* for the real service. ***'
      )
    } else {
      const f = config.flowService
      flowConfig = {
        url: f.url,
        imsUrl: f.imsUrl,
        clientId: f.clientId,
        clientSecret: f.clientSecret,
        scopes: f.scopes,
        orgId: f.orgId,
        timeoutMs: f.timeoutMs
      }
    }
    const flow = guardFlowService(
      createFlowServiceClient({
        ...flowConfig,
        pingSandbox: config.defaultSandboxName,
        logger: logger.child({ component: 'flow-service' }),
        onUnexpectedAnswer: (operation, reason) => {
          metrics.flowServiceUnexpectedAnswers.inc({ operation, reason })
        },
        ...(clock !== undefined ? { now: clock.now } : {}),
        tracer
      }),
      config,
      metrics,
      clock
    )
    closers.push(async () => {
      await flow.close()
    })

    const devAdminKey = await bootstrapKeys(
      database,
      config,
      logger,
      overrides.devKeyDir === undefined ? config.dataDir : overrides.devKeyDir
    )

    const countTransitions = transitionCounter(metrics)
    const poller = new StatePoller(
      {
        db: database.db,
        flow,
        secrets,
        logger: logger.child({ component: 'poller' }),
        observer: pollerObserver(metrics),
        onTransition: countTransitions,
        tracer
      },
      {
        owner: `${os.hostname()}:${process.pid}:${Math.random().toString(36).slice(2, 8)}`,
        fastIntervalMs: config.poller.fastIntervalMs,
        steadyIntervalMs: config.poller.steadyIntervalMs,
        batchSize: config.poller.batchSize,
        leaseMs: config.poller.leaseMs,
        goneConfirmMs: config.downstreamEvidence.goneConfirmMs,
        secretGraceMs: config.orphanSweep.graceMs
      }
    )
    closers.push(async () => {
      await poller.stop()
    })

    const settings = {
      createDeadlineMs: config.deadlines.createMs,
      changeDeadlineMs: config.deadlines.changeMs,
      fastPollIntervalMs: config.poller.fastIntervalMs,
      flowTimeoutMs: config.flowService.timeoutMs,
      goneConfirmMs: config.downstreamEvidence.goneConfirmMs,
      duplicateWatchMs: config.downstreamEvidence.duplicateWatchMs,
      orphanGraceMs: config.orphanSweep.graceMs
    }
    const reconciler = new Reconciler(
      {
        db: database.db,
        audit,
        secrets,
        flow,
        logger: logger.child({ component: 'reconciler' }),
        settings,
        onTransition: countTransitions,
        tracer,
        ...(clock !== undefined ? { clock } : {})
      },
      {
        owner: `${os.hostname()}:${process.pid}:reconciler:${Math.random().toString(36).slice(2, 8)}`,
        intervalMs: config.reconciler.intervalMs,
        pendingGraceMs: config.reconciler.pendingGraceMs,
        flowTimeoutMs: config.flowService.timeoutMs
      }
    )
    closers.push(async () => {
      await reconciler.stop()
    })
    const orphanSweep = new SecretOrphanSweep(
      { db: database.db, secrets, logger: logger.child({ component: 'orphan-sweep' }) },
      config.orphanSweep
    )
    closers.push(async () => {
      await orphanSweep.stop()
    })

    const callers = new CallerCache(database.db, { ttlMs: config.apiKeyCacheTtlMs })
    if (databaseConfig.kind === 'postgres' && config.apiKeyCacheTtlMs > 0) {
      // Other processes (replicas, the keys CLI) revoke keys too: the cache stays off until their notices can be heard.
      const revocations = new RevocationListener({
        url: databaseConfig.url,
        cache: callers,
        logger: logger.child({ component: 'key-revocations' })
      })
      await revocations.start()
      closers.push(async () => {
        await revocations.stop()
      })
    }

    const dependencies: DependencyChecks = {
      database: {
        required: true,
        check: async () => {
          await database.ping()
        }
      },
      secretStore: {
        required: true,
        check: async () => {
          await secrets.ping()
        }
      },
      flowService: {
        required: false,
        check: async () => {
          await flow.ping()
        }
      }
    }
    registerDependencyGauge(metrics.registry, dependencies)
    // Refusals of keyless requests are counted in memory and written as they age; the last ones on close, before
    // the database goes.
    const denials = new DenialTally({ audit, logger: logger.child({ component: 'denial-tally' }) })
    denials.start()
    closers.push(async () => {
      await denials.stop()
    })

    const app = await buildApp(
      {
        callers,
        denials,
        db: database.db,
        audit,
        secrets,
        flow,
        logger,
        settings,
        onTransition: countTransitions,
        tracer,
        ...(clock !== undefined ? { clock } : {}),
        metrics,
        readiness: dependencies
      },
      {
        defaultSandboxName: config.defaultSandboxName,
        rateLimitPerMinute: config.apiRateLimitPerMinute,
        unauthRateLimitPerMinute: config.unauthRateLimitPerMinute,
        trustProxy: config.trustProxy,
        metricsRequireKey: config.metrics.requireKey,
        http: config.http
      }
    )
    // Fastify runs onClose hooks in registration order; closers were pushed in creation order.
    app.addHook('onClose', async () => {
      for (const close of closers.reverse()) {
        try {
          await close()
        } catch (err) {
          logger.error({ err }, 'closing a resource failed')
        }
      }
    })
    if (config.poller.enabled) poller.start()
    if (config.reconciler.enabled) reconciler.start()
    // The orphan sweep runs with the reconciler: its first pass at boot too.
    if (config.reconciler.enabled) orphanSweep.start()
    const boot = bootSummary(config, databaseConfig, emulator?.flowServiceUrl)
    logger.info(boot.fields, boot.message)
    return { app, database, audit, secrets, flow, poller, reconciler, metrics, emulator, devAdminKey }
  } catch (err) {
    for (const close of closers.reverse()) await close().catch(() => {})
    throw err
  }
}

const DEV_KEY_FILE = 'dev-admin.key'

/**
 * BROKER_ADMIN_KEY is made valid at boot, unless it was revoked (a revocation is final); a new value revokes the key
 * the previous one made. Dev mode without it gets a key of its own, kept in the data dir (a new one if revoked).
 */
async function bootstrapKeys(
  database: BrokerDatabase,
  config: Config,
  logger: Logger,
  devKeyDir: string | null
): Promise<string | undefined> {
  if (config.adminKey !== undefined) {
    reportBootstrap(
      await bootstrapAdminKey(database.db, config.adminKey, 'BROKER_ADMIN_KEY', 'BROKER_ADMIN_KEY'),
      'BROKER_ADMIN_KEY',
      logger
    )
    return undefined
  }
  if (config.flowService.kind !== 'emulator') {
    logger.warn('no BROKER_ADMIN_KEY: create keys with `npm run keys` against this database')
    return undefined
  }
  const file = devKeyDir === null ? undefined : path.resolve(devKeyDir, DEV_KEY_FILE)
  if (devKeyDir !== null) await ensurePrivateDir(devKeyDir)
  let key =
    file === undefined
      ? undefined
      : await readFile(file, 'utf8').then(
          (k) => k.trim(),
          () => undefined
        )
  for (;;) {
    if (key === undefined) {
      key = generateApiKey()
      if (file !== undefined) await writeFile(file, key + '\n', { mode: 0o600 })
    }
    const outcome = await bootstrapAdminKey(database.db, key, 'dev', 'dev admin key')
    reportBootstrap(outcome, 'the dev admin key', logger)
    if (outcome.kind === 'created' || outcome.kind === 'kept') return key
    key = undefined
  }
}

function reportBootstrap(outcome: BootstrapOutcome, what: string, logger: Logger): void {
  switch (outcome.kind) {
    case 'created':
    case 'kept':
      if (outcome.revoked.length > 0)
        logger.warn(
          { apiKeyId: outcome.row.id, revokedApiKeyIds: outcome.revoked },
          `${what} changed: the keys earlier values made are revoked`
        )
      return
    case 'revoked':
      logger.error(
        { apiKeyId: outcome.row.id },
        `${what} was revoked and stays revoked: set a new value to have a boot admin key`
      )
      return
    case 'foreign':
      logger.warn({ apiKeyId: outcome.row.id }, `${what} is a key issued otherwise (API or CLI); left as it is`)
  }
}

/**
 * Every call to Flow Service, from the poller or a request, spends this replica's share of the request budget and
 * is metered (inside the budget: the metrics count calls that were sent). A call that would wait for the budget
 * longer than one call's timeout fails at once as retryable instead.
 */
function guardFlowService(
  client: FlowServiceClient,
  config: Config,
  metrics: BrokerMetrics,
  clock: Clock | undefined
): FlowServiceClient {
  const budget = new RequestBudget({
    ratePerSecond: config.flowServiceRatePerSecond,
    maxWaitMs: config.flowService.timeoutMs,
    ...(clock !== undefined ? { now: clock.now, sleep: clock.sleep } : {})
  })
  return budgetFlowServiceClient(meterFlowServiceClient(client, metrics), budget, {
    defaultRetryAfterMs: 5000,
    onWait: (ms) => {
      metrics.flowServiceBudgetWait.observe(ms / 1000)
    },
    onRefused: () => {
      metrics.flowServiceBudgetRefusals.inc()
    }
  })
}
