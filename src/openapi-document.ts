// The OpenAPI document as the app serves it. It depends only on the routes' schemas, so the app is built with
// dependencies that are never called: no database, no secret store, no Flow Service, no loops, no socket.
import {
  Kysely,
  PostgresAdapter,
  PostgresIntrospector,
  PostgresQueryCompiler,
  type DatabaseConnection,
  type Driver
} from 'kysely'
import pino from 'pino'
import { buildApp } from './app.js'
import type { Database } from './db/schema.js'
import type { FlowServiceClient } from './flow-service/flow-service-client.js'
import type { SecretStore } from './secrets/secret-store.js'
import { AuditLog } from './audit/audit-log.js'

class NotUsedError extends Error {
  override readonly name = 'NotUsedError'
}

const notUsed = (what: string): NotUsedError =>
  new NotUsedError(`${what} is not available while building the OpenAPI document`)

/** A client whose every method fails: building the document must not call it. */
function unavailable<T extends object>(what: string): T {
  return new Proxy(
    {},
    {
      get: (_target, property) => {
        // Not a promise: `await` and promise helpers probe `then`.
        if (property === 'then') return undefined
        return () => {
          throw notUsed(`${what}.${String(property)}`)
        }
      }
    }
  ) as T
}

/** Kysely that compiles PostgreSQL but fails on the first connection it asks for. */
function databaseNotUsed(): Kysely<Database> {
  const driver: Driver = {
    init: async () => {},
    acquireConnection: async (): Promise<DatabaseConnection> => {
      throw notUsed('the database')
    },
    beginTransaction: async () => {
      throw notUsed('the database')
    },
    commitTransaction: async () => {
      throw notUsed('the database')
    },
    rollbackTransaction: async () => {
      throw notUsed('the database')
    },
    releaseConnection: async () => {},
    destroy: async () => {}
  }
  return new Kysely<Database>({
    dialect: {
      createAdapter: () => new PostgresAdapter(),
      createDriver: () => driver,
      createIntrospector: (db) => new PostgresIntrospector(db),
      createQueryCompiler: () => new PostgresQueryCompiler()
    }
  })
}

export async function buildOpenApiDocument(): Promise<unknown> {
  const db = databaseNotUsed()
  const app = await buildApp(
    {
      db,
      audit: new AuditLog(db),
      secrets: unavailable<SecretStore>('the secret store'),
      flow: unavailable<FlowServiceClient>('Flow Service'),
      logger: pino({ level: 'silent' }),
      // Read by handlers only, never by the schemas.
      settings: {
        createDeadlineMs: 0,
        fastPollIntervalMs: 0,
        changeDeadlineMs: 0,
        flowTimeoutMs: 0,
        goneConfirmMs: 0,
        duplicateWatchMs: 0,
        orphanGraceMs: 0
      },
      readiness: {}
    },
    { defaultSandboxName: 'prod' }
  )
  try {
    await app.ready()
    return app.swagger()
  } finally {
    await app.close()
  }
}

/** Stable text: two-space JSON with a final newline, so the committed file diffs cleanly. */
export const serializeOpenApi = (document: unknown): string => JSON.stringify(document, null, 2) + '\n'
