// The reconciler: at boot and then periodically, settles what requests left unfinished (pending creates past
// their grace period, rotations whose outcome was never recorded), deletes late-landing duplicates of creates
// under a duplicate watch, destroys the secrets of failed and deleted
// connections that still hold one, and frees Idempotency-Keys older than 24 h. Claims rows with SKIP LOCKED and a
// lease, so replicas share the work. (Store keys the table knows nothing of are the secret orphan sweep's.)
import type { Actor } from '../audit/audit-log.js'
import { systemClock, type Clock } from '../shared/clock.js'
import { PeriodicWorker } from '../background/periodic-worker.js'
import { inSpan } from '../tracing/span.js'
import type { ConnectionDeps } from '../connections/connection-deps.js'
import {
  claimStalePending,
  claimUnsettledRotations,
  claimWatchedConnections,
  forgetIdempotencyKeys,
  releaseLease
} from '../connections/connection-repository.js'
import { IDEMPOTENCY_KEY_TTL_MS } from '../connections/create/idempotent-create.js'
import { settlePendingCreate } from '../connections/create/settle-pending-create.js'
import { settlePendingRotation } from '../connections/change/settle-pending-rotation.js'
import { destroyDeadSecrets } from '../connections/destroy-dead-secrets.js'
import { watchDuplicates } from '../connections/watch-duplicates.js'

export interface ReconcilerOptions {
  /** Identifies this replica in leases. */
  owner: string
  intervalMs: number
  /** A pending row younger than this may still have its create running. */
  pendingGraceMs: number
  /** Timeout of one Flow Service call: bounds how long settling one row can take. */
  flowTimeoutMs: number
  /** Rows claimed at a time. Default 10. */
  batchSize?: number
  clock?: Clock
}

export interface ReconcileResult {
  completed: number
  rolledBack: number
  rotationsSettled: number
  /** Late-landing duplicate connections deleted downstream. */
  duplicatesDeleted: number
  secretsDestroyed: number
  keysForgotten: number
  /** Rows that could not be settled this time (Flow Service unreachable...); tried again next sweep. */
  deferred: number
}

const RECONCILER: Actor = { kind: 'system', name: 'reconciler' }
/** Longest pause between sweeps while they keep failing (database down): recovery is noticed within it. */
const MAX_FAILURE_PAUSE_MS = 60000
/** Batches per kind of work in one sweep, so one sweep ends even when thousands of rows wait. */
const MAX_BATCHES = 20

export class Reconciler {
  readonly #worker: PeriodicWorker
  readonly #clock: Clock

  constructor(
    private readonly deps: ConnectionDeps,
    private readonly options: ReconcilerOptions
  ) {
    this.#clock = options.clock ?? systemClock
    this.#worker = new PeriodicWorker(
      async (signal) => {
        await this.sweep(signal)
        return undefined
      },
      {
        name: 'reconciler sweep',
        intervalMs: options.intervalMs,
        maxBackoffMs: MAX_FAILURE_PAUSE_MS,
        logger: deps.logger,
        clock: options.clock
      }
    )
  }

  /** Starts the loop; its first sweep runs now (boot). */
  start(): void {
    this.#worker.start()
  }

  /** Stops the loop and waits for the sweep in flight to finish recording. */
  async stop(): Promise<void> {
    await this.#worker.stop()
  }

  /**
   * One pass over every kind of work. Database failures throw (the loop backs off); per-row failures are deferred.
   * Once `signal` aborts (the loop stops), no further batch is claimed.
   */
  async sweep(signal?: AbortSignal): Promise<ReconcileResult> {
    return await inSpan(this.deps.tracer, 'reconciler sweep', {}, async (span) => {
      const result = await this.#sweep(signal)
      span?.setAttributes(
        Object.fromEntries(Object.entries(result).map(([name, count]) => [`broker.reconciler.${name}`, count]))
      )
      return result
    })
  }

  async #sweep(signal?: AbortSignal): Promise<ReconcileResult> {
    const result: ReconcileResult = {
      completed: 0,
      rolledBack: 0,
      rotationsSettled: 0,
      duplicatesDeleted: 0,
      secretsDestroyed: 0,
      keysForgotten: 0,
      deferred: 0
    }
    await this.#settlePending(result, signal)
    await this.#settleRotations(result, signal)
    await this.#watchDuplicates(result, signal)
    result.secretsDestroyed += await destroyDeadSecrets(this.deps)
    result.keysForgotten = await forgetIdempotencyKeys(
      this.deps.db,
      new Date(this.#clock.now() - IDEMPOTENCY_KEY_TTL_MS)
    )
    if (
      result.completed +
        result.rolledBack +
        result.rotationsSettled +
        result.duplicatesDeleted +
        result.secretsDestroyed +
        result.keysForgotten +
        result.deferred >
      0
    ) {
      this.deps.logger.info({ reconciled: result }, 'reconciler sweep')
    }
    return result
  }

  get #batchSize(): number {
    return this.options.batchSize ?? 10
  }

  /** Long enough to settle a whole batch: a list (maybe two pages) and a delete of a duplicate per row. */
  get #leaseMs(): number {
    return this.#batchSize * 3 * this.options.flowTimeoutMs + 5000
  }

  async #settlePending(result: ReconcileResult, signal: AbortSignal | undefined): Promise<void> {
    for (let batch = 0; batch < MAX_BATCHES && signal?.aborted !== true; batch++) {
      const now = new Date(this.#clock.now())
      const rows = await claimStalePending(
        this.deps.db,
        this.options.owner,
        now,
        new Date(now.getTime() - this.options.pendingGraceMs),
        new Date(now.getTime() + this.#leaseMs),
        this.#batchSize
      )
      for (const row of rows) {
        try {
          const outcome = await settlePendingCreate(this.deps, row, this.options.owner)
          if (outcome === 'completed') result.completed++
          if (outcome === 'rolled_back') result.rolledBack++
        } catch (err) {
          result.deferred++
          this.deps.logger.warn(
            { err, connectionId: row.id },
            'could not settle a pending create now; tried again next sweep'
          )
          await releaseLease(this.deps.db, row.id, this.options.owner)
        }
      }
      // Deferred rows are claimable again at once: stop rather than claim them a second time in this sweep.
      if (rows.length < this.#batchSize || result.deferred > 0) break
    }
  }

  async #settleRotations(result: ReconcileResult, signal: AbortSignal | undefined): Promise<void> {
    for (let batch = 0; batch < MAX_BATCHES && signal?.aborted !== true; batch++) {
      const now = new Date(this.#clock.now())
      const rows = await claimUnsettledRotations(
        this.deps.db,
        this.options.owner,
        now,
        new Date(now.getTime() + this.#leaseMs),
        this.#batchSize
      )
      let deferred = 0
      for (const row of rows) {
        try {
          if ((await settlePendingRotation(this.deps, row, this.options.owner, RECONCILER, null)) !== 'skipped')
            result.rotationsSettled++
        } catch (err) {
          deferred++
          this.deps.logger.warn(
            { err, connectionId: row.id },
            'could not settle a rotation now; tried again next sweep'
          )
        }
        await releaseLease(this.deps.db, row.id, this.options.owner)
      }
      result.deferred += deferred
      if (rows.length < this.#batchSize || deferred > 0) break
    }
  }

  async #watchDuplicates(result: ReconcileResult, signal: AbortSignal | undefined): Promise<void> {
    const seen = new Set<string>()
    for (let batch = 0; batch < MAX_BATCHES && signal?.aborted !== true; batch++) {
      const now = new Date(this.#clock.now())
      const rows = await claimWatchedConnections(
        this.deps.db,
        this.options.owner,
        now,
        new Date(now.getTime() + this.#leaseMs),
        this.#batchSize
      )
      let again = false
      for (const row of rows) {
        if (seen.has(row.id)) {
          again = true
          await releaseLease(this.deps.db, row.id, this.options.owner)
          continue
        }
        seen.add(row.id)
        try {
          result.duplicatesDeleted += (await watchDuplicates(this.deps, row, now.getTime())).deleted
        } catch (err) {
          result.deferred++
          this.deps.logger.warn(
            { err, connectionId: row.id },
            'could not look for duplicates now; tried again next sweep'
          )
        }
        await releaseLease(this.deps.db, row.id, this.options.owner)
      }
      // A watched row is claimable again at once: each is looked at once per sweep.
      if (rows.length < this.#batchSize || again) break
    }
  }
}
