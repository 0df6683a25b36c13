// buildApp(deps): the Fastify app as a factory, used by the server and by tests (app.inject, no socket).
import swagger from '@fastify/swagger'
import swaggerUi from '@fastify/swagger-ui'
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox'
import Fastify, { type FastifyBaseLogger, type FastifyInstance } from 'fastify'
import { randomUUID } from 'node:crypto'
import { DenialTally } from './audit/denial-tally.js'
import { CallerCache } from './auth/caller-cache.js'
import { RateLimiter } from './auth/rate-limiter.js'
import type { ConnectionDeps } from './connections/connection-deps.js'
import type { TrustProxy } from './config.js'
import { credentialOf, needsKey, registerAuthentication } from './http/authenticate.js'
import { DenialLogController } from './http/denial-log-controller.js'
import { clientErrorHandler, frameworkErrors, registerErrorHandling } from './http/error-handler.js'
import { registerHttpMetrics } from './http/http-metrics.js'
import { registerJsonBodyParser } from './http/json-body-parser.js'
import { apiKeyRoutes } from './http/routes/api-keys.js'
import { auditRoutes } from './http/routes/audit.js'
import { connectionChangeRoutes } from './http/routes/connection-changes.js'
import { connectionRoutes } from './http/routes/connections.js'
import { connectionSpecRoutes } from './http/routes/connection-specs.js'
import { healthRoutes, type ReadinessChecks } from './http/routes/health.js'
import { metricsRoutes } from './http/routes/metrics.js'
import type { BrokerMetrics } from './metrics/broker-metrics.js'
import { serializerCompiler, validatorCompiler } from './http/schema-compilers.js'
import { registerWellFormedInput } from './http/well-formed-input.js'
import { SHARED_SCHEMAS } from './http/schemas/shared.js'
import { registerRouteDocumentation } from './http/route-documentation.js'
import { finishDocument } from './http/openapi-finish.js'
import { API_DESCRIPTION, PROBLEM_TYPES } from './http/api-description.js'
import { parseQueryString } from './http/query-string.js'

export interface AppDeps extends ConnectionDeps {
  readiness: ReadinessChecks
  /** Absent: no /metrics route and no request metrics. */
  metrics?: BrokerMetrics
  /** Absent: keys are looked up on every request. */
  callers?: CallerCache
  /** Started and stopped by whoever owns the database (the flush on stop needs it); absent: the app's own. */
  denials?: DenialTally
}

export interface AppOptions {
  defaultSandboxName: string
  /** Serve Swagger UI at /docs (the document at /openapi.json is always served). */
  docs?: boolean
  /** GET /metrics needs an API key (any valid one). */
  metricsRequireKey?: boolean
  /** Requests per minute per API key in this process; 0 or absent: unlimited. */
  rateLimitPerMinute?: number
  /** How long clients may take; absent: the defaults of the configuration. */
  http?: HttpServerSettings
  /** Requests (and failed key lookups) per minute per client address without a valid key; 0 or absent: unlimited. */
  unauthRateLimitPerMinute?: number
  /** Fastify's trustProxy; absent: false (the socket peer is the client). */
  trustProxy?: TrustProxy
}

declare module 'fastify' {
  interface FastifyInstance {
    /** Refusals of requests without a valid key, written as aggregated audit rows (flushed on close). */
    denialTally: DenialTally
  }
}

/** Limits on slow or greedy clients (see the HTTP_* settings in the README). */
export interface HttpServerSettings {
  /** The headers must have arrived this long after the connection (or the previous request) began. */
  headersTimeoutMs: number
  /** The whole request, body included, must have arrived this long after it began. */
  requestTimeoutMs: number
  /** A socket with no traffic either way for this long is closed (must exceed the longest handler). */
  connectionTimeoutMs: number
  /** An idle keep-alive connection is closed after this long. */
  keepAliveTimeoutMs: number
  /** Requests served on one connection before it is closed; 0: unlimited. */
  maxRequestsPerSocket: number
}

export const DEFAULT_HTTP_SETTINGS: HttpServerSettings = {
  headersTimeoutMs: 10000,
  requestTimeoutMs: 30000,
  connectionTimeoutMs: 60000,
  keepAliveTimeoutMs: 72000,
  maxRequestsPerSocket: 1000
}

export const BODY_LIMIT_BYTES = 1024 * 1024
const REQUEST_ID = /^[A-Za-z0-9._:-]{1,128}$/

export async function buildApp(deps: AppDeps, options: AppOptions): Promise<FastifyInstance> {
  const loggerInstance: FastifyBaseLogger = deps.logger
  const limits = options.http ?? DEFAULT_HTTP_SETTINGS
  const callers = deps.callers ?? new CallerCache(deps.db, { ttlMs: 0 })
  const base = Fastify({
    loggerInstance,
    logController: new DenialLogController((request) => {
      if (!needsKey(request)) return false
      const credential = credentialOf(request.headers.authorization)
      return credential.kind !== 'bearer' || callers.peek(credential.key) === undefined
    }),
    trustProxy: options.trustProxy ?? false,
    bodyLimit: BODY_LIMIT_BYTES,
    requestTimeout: limits.requestTimeoutMs,
    connectionTimeout: limits.connectionTimeoutMs,
    keepAliveTimeout: limits.keepAliveTimeoutMs,
    maxRequestsPerSocket: limits.maxRequestsPerSocket,
    http: {
      headersTimeout: limits.headersTimeoutMs,
      requestTimeout: limits.requestTimeoutMs,
      // Node checks the two timeouts above only this often (30 s by default).
      connectionsCheckingInterval: Math.max(10, Math.min(1000, Math.floor(limits.headersTimeoutMs / 4)))
    },
    clientErrorHandler,
    routerOptions: { querystringParser: parseQueryString },
    // A caller's request id is kept when it is safe to log; otherwise we mint one.
    genReqId: (req) => {
      const given = req.headers['x-request-id']
      return typeof given === 'string' && REQUEST_ID.test(given) ? given : randomUUID()
    },
    return503OnClosing: true,
    frameworkErrors
  })
  base.setValidatorCompiler(validatorCompiler())
  base.setSerializerCompiler(serializerCompiler())
  registerJsonBodyParser(base)
  registerWellFormedInput(base)
  registerErrorHandling(base)
  const app = base.withTypeProvider<TypeBoxTypeProvider>()
  app.addHook('onSend', async (request, reply) => {
    void reply.header('x-request-id', request.id)
    // A body not (yet) read, e.g. refused with 401 or sent to a route that takes none: close the connection, so a
    // slow sender is cut off and its remaining bytes are never read as the next request.
    if (request.raw.complete === false) void reply.header('connection', 'close')
  })

  for (const schema of SHARED_SCHEMAS) app.addSchema(schema)
  registerRouteDocumentation(base)
  await app.register(swagger, {
    // Named schemas keep their `$id` as their name in components.schemas (the default numbers them def-0, def-1…).
    transformObject: (document) =>
      'openapiObject' in document ? finishDocument(document.openapiObject) : document.swaggerObject,
    refResolver: {
      buildLocalReference: (json, _baseUri, _fragment, i) => (typeof json.$id === 'string' ? json.$id : `def-${i}`)
    },
    openapi: {
      openapi: '3.1.0',
      info: {
        title: 'Credential broker',
        version: '1.0.0',
        description: API_DESCRIPTION,
        // An extension: the types allow none, the document does.
        ...({ 'x-problem-types': PROBLEM_TYPES } as object)
      },
      // Relative: the document describes the broker that serves it, wherever it runs.
      servers: [{ url: '/', description: 'The broker serving this document' }],
      components: {
        securitySchemes: {
          apiKey: { type: 'http', scheme: 'bearer', description: 'An API key: Authorization: Bearer <key>' }
        }
      },
      security: [{ apiKey: [] }],
      tags: [
        { name: 'connections', description: 'Base connections and their state history' },
        { name: 'audit', description: 'Who did what to which connection, and whether the history is intact' },
        { name: 'api-keys', description: "Callers' API keys (admin)" },
        { name: 'catalogue', description: 'Connection specs the broker accepts' },
        { name: 'health', description: 'Liveness and readiness' }
      ]
    }
  })
  if (options.docs !== false) await app.register(swaggerUi, { routePrefix: '/docs' })
  app.get('/openapi.json', { schema: { hide: true } }, async () => app.swagger())

  const perMinute = options.rateLimitPerMinute ?? 0
  const denials = deps.denials ?? ownDenialTally(base, deps)
  base.decorate('denialTally', denials)
  await registerAuthentication(base, deps.audit, {
    callers,
    denials,
    unauthPerMinute: options.unauthRateLimitPerMinute ?? 0,
    ...(perMinute > 0 ? { rateLimiter: new RateLimiter({ perMinute }) } : {})
  })
  if (deps.metrics !== undefined) {
    registerHttpMetrics(base, deps.metrics)
    await app.register(metricsRoutes, {
      registry: deps.metrics.registry,
      requireKey: options.metricsRequireKey ?? false
    })
  }
  await app.register(healthRoutes, { checks: deps.readiness })
  await app.register(connectionSpecRoutes)
  await app.register(connectionRoutes, { deps, defaultSandboxName: options.defaultSandboxName })
  await app.register(connectionChangeRoutes, { deps })
  await app.register(auditRoutes, { db: deps.db, audit: deps.audit })
  await app.register(apiKeyRoutes, { deps, callers })
  return base
}

/** A tally living as long as the app, for callers that keep the database open past app.close(). */
function ownDenialTally(app: FastifyInstance, deps: AppDeps): DenialTally {
  const denials = new DenialTally({ audit: deps.audit, logger: deps.logger.child({ component: 'denial-tally' }) })
  app.addHook('onReady', async () => {
    denials.start()
  })
  app.addHook('onClose', async () => {
    await denials.stop()
  })
  return denials
}
