// The background poller: claims due connections with a lease, asks Flow Service for their state in batches,
// and records each real change. Errors are logged and rescheduled, never thrown out of a sweep; a sweep that fails
// as a whole (the database is down) is backed off by its loop.
import type { Tracer } from '@opentelemetry/api'
import type { Kysely } from 'kysely'
import type { Logger } from 'pino'
import type { Actor } from '../audit/audit-log.js'
import { systemClock, type Clock } from '../shared/clock.js'
import { PeriodicWorker } from '../background/periodic-worker.js'
import { inSpan } from '../tracing/span.js'
import { claimDueConnections, lockConnection, updateConnection } from '../connections/connection-repository.js'
import { markedBrokerId } from '../connections/create/downstream-marker.js'
import { recordObservation } from '../connections/state/record-observation.js'
import { afterCommit, type TransitionListener } from '../connections/state/transitions.js'
import { isTerminal, nextState, type Observation } from '../connections/state/states.js'
import type { ConnectionRow, ConnectionUpdate, Database } from '../db/schema.js'
import { transaction } from '../db/transaction.js'
import type { FlowServiceClient } from '../flow-service/flow-service-client.js'
import { REQUEST_BUDGET_CODE } from '../flow-service/budgeted-flow-service-client.js'
import { FlowServiceError, UNEXPECTED_ANSWER } from '../flow-service/flow-service-error.js'
import type { FlowConnection } from '../flow-service/types.js'
import type { SecretStore } from '../secrets/secret-store.js'
import { backoffDelay, nextPollDelay, type ScheduleSettings } from './poll-schedule.js'
import { rescheduleUnchanged, type UnchangedPoll } from './poll-repository.js'

export interface StatePollerDeps {
  db: Kysely<Database>
  flow: FlowServiceClient
  secrets: SecretStore
  logger: Logger
  /** Told of every sweep (metrics). */
  observer?: PollerObserver
  /** Told of every state transition once it has committed (metrics). */
  onTransition?: TransitionListener
  /** A span per batch (claim, calls, records); absent when tracing is off. */
  tracer?: Tracer | undefined
}

/** Not semantic conventions: what one poller batch did. */
export const ATTR_POLLER_CLAIMED = 'broker.poller.claimed'
export const ATTR_POLLER_CHANGED = 'broker.poller.changed'
export const ATTR_POLLER_FAILED = 'broker.poller.failed'
export const ATTR_POLLER_DOWNSTREAM_CALLS = 'broker.poller.downstream_calls'

export interface PollerObserver {
  /** After each batch, so counters move during a long sweep. */
  batchFinished?: (result: SweepResult) => void
  sweepFinished: (result: SweepResult, durationMs: number) => void
}

export interface StatePollerOptions extends ScheduleSettings {
  /** Identifies this replica in leases. */
  owner: string
  batchSize: number
  leaseMs: number
  /** How often an idle poller looks for due work. */
  idleDelayMs?: number
  /** A 404 is recorded as deleted only when a second one comes at least this long after the first. */
  goneConfirmMs: number
  /** How long the secret of a connection deleted downstream is kept (recoverable by an operator). */
  secretGraceMs: number
  /** Time for the loop and for scheduling (due, leases, backoff, Retry-After). Default: the system clock. */
  clock?: Clock
}

export interface SweepResult {
  polled: number
  changed: number
  failed: number
  downstreamCalls: number
}

const POLLER: Actor = { kind: 'system', name: 'poller' }
const MAX_IDS_PER_LIST = 100
/** Longest pause between sweeps while they keep failing (database down): recovery is noticed within it. */
const MAX_FAILURE_PAUSE_MS = 10000

export class StatePoller {
  readonly #worker: PeriodicWorker
  readonly #clock: Clock
  #pausedUntil = 0

  constructor(
    private readonly deps: StatePollerDeps,
    private readonly options: StatePollerOptions
  ) {
    this.#clock = options.clock ?? systemClock
    // After a 429 the loop waits for Retry-After before its next sweep, whatever its interval.
    this.#worker = new PeriodicWorker(
      async (signal) => {
        await this.sweep(signal)
        return { notBefore: this.#pausedUntil }
      },
      {
        name: 'poller sweep',
        intervalMs: options.idleDelayMs ?? Math.min(1000, options.fastIntervalMs),
        maxBackoffMs: MAX_FAILURE_PAUSE_MS,
        logger: deps.logger,
        clock: options.clock
      }
    )
  }

  /** Starts the loop; its first sweep runs now. */
  start(): void {
    this.#worker.start()
  }

  /** Stops the loop and waits for the sweep in flight to finish recording. */
  async stop(): Promise<void> {
    await this.#worker.stop()
  }

  /**
   * Polls every connection due now, batch after batch, until none is left, a 429 pauses us, or `signal` aborts
   * (the loop stops: the batch in flight is finished, no other is claimed).
   */
  async sweep(signal?: AbortSignal): Promise<SweepResult> {
    const startedAt = performance.now()
    const total = noResult()
    while (signal?.aborted !== true && !this.#isPaused()) {
      const batch = await inSpan(this.deps.tracer, 'poller batch', {}, async (span) => {
        const now = this.#clock.now()
        const claimed = await claimDueConnections(
          this.deps.db,
          this.options.owner,
          new Date(now),
          new Date(now + this.options.leaseMs),
          this.options.batchSize
        )
        span?.setAttribute(ATTR_POLLER_CLAIMED, claimed.length)
        if (claimed.length === 0) return undefined
        const result = await this.#pollBatch(claimed)
        span?.setAttributes({
          [ATTR_POLLER_CHANGED]: result.changed,
          [ATTR_POLLER_FAILED]: result.failed,
          [ATTR_POLLER_DOWNSTREAM_CALLS]: result.downstreamCalls
        })
        return { claimed, result }
      })
      if (batch === undefined) break
      const { claimed, result } = batch
      this.deps.observer?.batchFinished?.(result)
      total.polled += result.polled
      total.changed += result.changed
      total.failed += result.failed
      total.downstreamCalls += result.downstreamCalls
      if (claimed.length < this.options.batchSize) break
    }
    this.deps.observer?.sweepFinished(total, performance.now() - startedAt)
    return total
  }

  /** Asks Flow Service about a claimed batch, sandbox by sandbox, at most MAX_IDS_PER_LIST ids per list call. */
  async #pollBatch(rows: ConnectionRow[]): Promise<SweepResult> {
    const result = noResult()
    for (const [sandbox, group] of await this.#groupBySandbox(rows)) {
      for (let i = 0; i < group.length; i += MAX_IDS_PER_LIST)
        await this.#pollChunk(sandbox, group.slice(i, i + MAX_IDS_PER_LIST), result)
    }
    return result
  }

  /** The batch's rows by sandbox. A row not created downstream yet is released: its create (or the reconciler) owns it. */
  async #groupBySandbox(rows: ConnectionRow[]): Promise<Map<string, ConnectionRow[]>> {
    const bySandbox = new Map<string, ConnectionRow[]>()
    for (const row of rows) {
      if (row.flow_connection_id === null) {
        await this.#release(row, { next_poll_at: null })
        continue
      }
      const group = bySandbox.get(row.sandbox_name) ?? []
      group.push(row)
      bySandbox.set(row.sandbox_name, group)
    }
    return bySandbox
  }

  /** One list call for the chunk; the unchanged rows rescheduled together, the rest recorded one by one. */
  async #pollChunk(sandbox: string, chunk: ConnectionRow[], result: SweepResult): Promise<void> {
    if (this.#isPaused()) {
      // A 429 earlier in this batch: no more calls until Retry-After, and no failure counted against these.
      await this.#deferToPauseEnd(chunk)
      return
    }
    const found = await this.#listChunk(sandbox, chunk, result)
    if (found === undefined) return
    for (const row of await this.#rescheduleUnchanged(chunk, found, result)) await this.#pollOne(row, found, result)
  }

  /** The chunk's connections Flow Service listed, by id; undefined when the call failed (the chunk is then handled). */
  async #listChunk(
    sandbox: string,
    chunk: ConnectionRow[],
    result: SweepResult
  ): Promise<Map<string, FlowConnection> | undefined> {
    try {
      result.downstreamCalls++
      const page = await this.deps.flow.listConnections(sandbox, {
        ids: chunk.map((r) => r.flow_connection_id ?? ''),
        limit: MAX_IDS_PER_LIST
      })
      return new Map(page.items.map((c) => [c.id, c]))
    } catch (err) {
      this.#noteThrottle(err)
      if (isBudgetRefusal(err)) {
        // Nothing was sent: not a failure of these connections, just not their turn yet.
        await this.#deferToPauseEnd(chunk)
        return undefined
      }
      this.deps.logger.warn({ err, sandbox, connections: chunk.length }, 'poll batch failed; rescheduled with backoff')
      for (const row of chunk) await this.#recordFailure(row)
      result.failed += chunk.length
      return undefined
    }
  }

  /**
   * Most polls find nothing new: those are rescheduled together in one statement. Returns the rest, to record one
   * by one, including a row that moved since the claim (or whose lease we lost): the careful path re-reads it.
   */
  async #rescheduleUnchanged(
    chunk: ConnectionRow[],
    found: Map<string, FlowConnection>,
    result: SweepResult
  ): Promise<ConnectionRow[]> {
    const unchanged: Array<{ row: ConnectionRow; poll: UnchangedPoll }> = []
    const careful: ConnectionRow[] = []
    for (const row of chunk) {
      const listed = found.get(row.flow_connection_id ?? '')
      if (listed !== undefined && isOurs(row, listed) && isUnchanged(row, listed.state))
        unchanged.push({ row, poll: this.#unchangedPoll(row, listed) })
      else careful.push(row)
    }
    const rescheduled = await rescheduleUnchanged(
      this.deps.db,
      this.options.owner,
      unchanged.map((u) => u.poll)
    )
    result.polled += rescheduled.size
    for (const { row } of unchanged) if (!rescheduled.has(row.id)) careful.push(row)
    return careful
  }

  /** Records what Flow Service holds for one row (a GET when the list left it out), or its failure. */
  async #pollOne(row: ConnectionRow, found: Map<string, FlowConnection>, result: SweepResult): Promise<void> {
    if (!found.has(row.flow_connection_id ?? '') && this.#isPaused()) {
      await this.#deferToPauseEnd([row])
      return
    }
    try {
      const seen = await this.#observe(row, found, () => {
        result.downstreamCalls++
      })
      const changed =
        seen === null
          ? await this.#recordMissing(row)
          : await this.#record(
              row,
              { kind: 'downstream_state', state: seen.state },
              seen.etag,
              row.gone_suspected_at !== null ? { gone_suspected_at: null } : {}
            )
      if (changed) result.changed++
      result.polled++
    } catch (err) {
      this.#noteThrottle(err)
      if (isBudgetRefusal(err)) {
        await this.#deferToPauseEnd([row])
        return
      }
      this.deps.logger.warn({ err, connectionId: row.id }, 'poll failed; rescheduled with backoff')
      await this.#recordFailure(row)
      result.failed++
    }
  }

  /**
   * What Flow Service holds for the row: the listed item, else a GET by id. null only when Flow Service itself
   * answered 404. An item marked for another broker connection is an answer about another connection: an error.
   */
  async #observe(
    row: ConnectionRow,
    found: Map<string, FlowConnection>,
    countCall: () => void
  ): Promise<FlowConnection | null> {
    const id = row.flow_connection_id ?? ''
    let connection = found.get(id)
    if (connection === undefined) {
      countCall()
      connection = (await this.deps.flow.getConnection(row.sandbox_name, id)) ?? undefined
    }
    if (connection === undefined) return null
    if (!isOurs(row, connection)) {
      // The recorded id came from an answer about another connection: the reconciler's duplicate watch finds ours.
      await this.deps.db
        .updateTable('connections')
        .set({ duplicate_watch_until: new Date(this.#clock.now() + this.options.goneConfirmMs) })
        .where('id', '=', row.id)
        .where('duplicate_watch_until', 'is', null)
        .execute()
      throw new FlowServiceError({
        kind: 'retryable',
        operation: 'getConnection',
        code: UNEXPECTED_ANSWER,
        cause: new Error(`Flow Service connection ${id} carries the marker of another broker connection`)
      })
    }
    return connection
  }

  /**
   * Flow Service answered 404. The first one is only a suspicion (a peer may answer 404 for a moment, or the recorded
   * id may have come from an answer about another connection): it starts a duplicate watch, whose look for the
   * row's marker moves the row onto its own connection if one exists. A second 404 at least goneConfirmMs later,
   * once that look is done, records the deletion. The secret is kept for secretGraceMs after that.
   */
  async #recordMissing(row: ConnectionRow): Promise<boolean> {
    const now = this.#clock.now()
    const since = row.gone_suspected_at?.getTime()
    if (since === undefined) {
      this.deps.logger.info(
        { connectionId: row.id, flowConnectionId: row.flow_connection_id },
        'Flow Service answered 404; confirming before recording a deletion'
      )
      await this.deps.db
        .updateTable('connections')
        .set({ duplicate_watch_until: new Date(now + this.options.goneConfirmMs) })
        .where('id', '=', row.id)
        .where('duplicate_watch_until', 'is', null)
        .execute()
      await this.#release(row, {
        next_poll_at: new Date(now + this.options.goneConfirmMs),
        gone_suspected_at: new Date(now)
      })
      return false
    }
    if (now - since < this.options.goneConfirmMs || row.duplicate_watch_until !== null) {
      // Too early, or the reconciler has not looked for the row's marker yet.
      await this.#release(row, { next_poll_at: new Date(Math.max(since, now) + this.options.goneConfirmMs) })
      return false
    }
    return await this.#record(row, { kind: 'downstream_gone' }, undefined, {
      secret_destroy_after: new Date(now + this.options.secretGraceMs),
      gone_suspected_at: null
    })
  }

  /** Returns whether the state changed. Skips rows whose lease we lost (another replica owns them now). */
  async #record(
    claimed: ConnectionRow,
    observation: Observation,
    etag: string | undefined,
    patch: ConnectionUpdate
  ): Promise<boolean> {
    return await transaction(
      this.deps.db,
      async (tx, onCommit) => {
        const row = await lockConnection(tx, claimed.id)
        if (row === undefined || row.lease_owner !== this.options.owner) return false
        const before = row.state
        let updated = await recordObservation(tx, row, observation, {
          observedBy: 'poller',
          actor: POLLER,
          requestId: null,
          onTransition: afterCommit(onCommit, this.deps.onTransition)
        })
        const delay = nextPollDelay(
          updated.state,
          updated.state_reason !== null && !isTerminal(updated.state),
          this.options,
          Math.random,
          this.#clock.now() - updated.updated_at.getTime()
        )
        updated = await updateConnection(tx, row.id, {
          next_poll_at: delay === null ? null : new Date(this.#clock.now() + delay),
          poll_failures: 0,
          lease_owner: null,
          lease_until: null,
          ...(etag !== undefined ? { etag } : {}),
          ...patch
        })
        // A deletion downstream keeps the secret until secret_destroy_after; the reconciler destroys it then.
        return updated.state !== before
      },
      this.deps.logger
    )
  }

  #unchangedPoll(row: ConnectionRow, listed: FlowConnection): UnchangedPoll {
    const hasUnknownState = row.state_reason !== null && !isTerminal(row.state)
    const delay = nextPollDelay(
      row.state,
      hasUnknownState,
      this.options,
      Math.random,
      this.#clock.now() - row.updated_at.getTime()
    )
    return {
      id: row.id,
      state: row.state,
      downstreamState: row.downstream_state,
      nextPollAt: delay === null ? null : new Date(this.#clock.now() + delay),
      etag: listed.etag
    }
  }

  async #recordFailure(row: ConnectionRow): Promise<void> {
    const failures = row.poll_failures + 1
    // Never due again before a Retry-After we were given, whichever replica looks next.
    const at = Math.max(this.#clock.now() + backoffDelay(failures, this.options), this.#pausedUntil)
    await this.#release(row, { poll_failures: failures, next_poll_at: new Date(at) })
  }

  /** Releases the rows to be due when the pause ends, no failure counted. */
  async #deferToPauseEnd(rows: ConnectionRow[]): Promise<void> {
    for (const row of rows) await this.#release(row, { next_poll_at: new Date(this.#pausedUntil) })
  }

  #isPaused(): boolean {
    return this.#clock.now() < this.#pausedUntil
  }

  async #release(
    row: ConnectionRow,
    patch: { next_poll_at: Date | null; poll_failures?: number; gone_suspected_at?: Date }
  ): Promise<void> {
    await this.deps.db
      .updateTable('connections')
      .set({ ...patch, lease_owner: null, lease_until: null })
      .where('id', '=', row.id)
      .where('lease_owner', '=', this.options.owner)
      .execute()
  }

  /** A 429, or the request budget refusing a call, pauses every call of this poller for Retry-After (or a default). */
  #noteThrottle(err: unknown): void {
    if (err instanceof FlowServiceError && (err.status === 429 || err.code === REQUEST_BUDGET_CODE)) {
      this.#pausedUntil = this.#clock.now() + (err.retryAfterMs ?? 5000)
    }
  }
}

const noResult = (): SweepResult => ({ polled: 0, changed: 0, failed: 0, downstreamCalls: 0 })

const isBudgetRefusal = (err: unknown): boolean => err instanceof FlowServiceError && err.code === REQUEST_BUDGET_CODE

/** False when the item is marked for another broker connection (no marker at all proves nothing either way). */
function isOurs(row: ConnectionRow, item: FlowConnection): boolean {
  const owner = markedBrokerId(item.description)
  return owner === undefined || owner === row.id
}

/**
 * Whether recording `downstreamState` would leave the row as it is: same downstream string, and no transition
 * (or one to the very state and reason it already has, as a repeated unknown state gives).
 */
function isUnchanged(row: ConnectionRow, downstreamState: string): boolean {
  if (downstreamState !== row.downstream_state) return false
  const transition = nextState(row.state, { kind: 'downstream_state', state: downstreamState })
  return transition === null || (transition.to === row.state && transition.reason === row.state_reason)
}
