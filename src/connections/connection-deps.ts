// What the connection use cases need from the outside world; built once in the composition root (broker.ts)
// and injected into the app and the reconciler.
import type { Tracer } from '@opentelemetry/api'
import type { Kysely } from 'kysely'
import type { Logger } from 'pino'
import type { AuditLog } from '../audit/audit-log.js'
import type { Caller } from '../auth/scopes.js'
import type { Database } from '../db/schema.js'
import type { FlowServiceClient } from '../flow-service/flow-service-client.js'
import type { SecretStore } from '../secrets/secret-store.js'
import type { Clock } from '../shared/clock.js'
import type { TransitionListener } from './state/transitions.js'

export interface ConnectionDeps {
  db: Kysely<Database>
  audit: AuditLog
  secrets: SecretStore
  flow: FlowServiceClient
  logger: Logger
  /** Told of every state transition once it has committed (metrics); absent: nobody counts them. */
  onTransition?: TransitionListener | undefined
  /**
   * What requests sleep on and measure their deadlines by (backoff, Retry-After, initializing waits); the system
   * clock when absent. Timestamps written to the database stay in real time: the poller and reconciler read them so.
   */
  clock?: Clock
  /** Spans of requests and background passes; absent when tracing is off. */
  tracer?: Tracer | undefined
  settings: {
    /** How long a create may keep retrying Flow Service before answering 503. */
    createDeadlineMs: number
    /** First poll after a create. */
    fastPollIntervalMs: number
    /** How long a rename, rotation or delete may spend on Flow Service (waiting for initializing included). */
    changeDeadlineMs: number
    /** Timeout of one Flow Service call: how long a request may still run after its deadline. */
    flowTimeoutMs: number
    /** A 404 counts as deleted only when a second one comes at least this long after the first. */
    goneConfirmMs: number
    /** How long after a create with more than one possible POST the reconciler looks for late duplicates. */
    duplicateWatchMs: number
    /** How long the secret of a connection deleted downstream is kept before it is destroyed. */
    orphanGraceMs: number
  }
}

/** Who asks, in which request: every connection use case takes it, and its audit rows name both. */
export interface RequestContext {
  caller: Caller
  requestId: string
}
