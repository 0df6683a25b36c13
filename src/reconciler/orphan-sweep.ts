// Removes secrets that no live connection needs: keys left by a crash or an outage between a connection's
// end and its secret's destruction. Runs with the reconciler, from boot on. Logs each key it removes (the key is a
// connection id, never a value).
import type { Kysely } from 'kysely'
import type { Logger } from 'pino'
import { systemClock, type Clock } from '../shared/clock.js'
import { PeriodicWorker } from '../background/periodic-worker.js'
import type { Database } from '../db/schema.js'
import type { SecretStore } from '../secrets/secret-store.js'
import { TERMINAL_STATES } from '../domain/connection-states.js'

export interface OrphanSweepOptions {
  intervalMs: number
  /** A key must look orphaned for this long before it is removed (a restored database, an in-flight create). */
  graceMs: number
  clock?: Clock
}

export interface OrphanSweepResult {
  scanned: number
  removed: string[]
  waiting: number
}

export class SecretOrphanSweep {
  /** When each currently-orphaned key was first seen orphaned. Losing it on restart only delays removal. */
  readonly #firstSeen = new Map<string, number>()
  readonly #worker: PeriodicWorker

  constructor(
    private readonly deps: { db: Kysely<Database>; secrets: SecretStore; logger: Logger },
    private readonly options: OrphanSweepOptions
  ) {
    // A failed sweep is tried again next interval: the keys wait, nothing is lost.
    this.#worker = new PeriodicWorker(
      async () => {
        await this.sweep()
        return undefined
      },
      {
        name: 'secret orphan sweep',
        intervalMs: options.intervalMs,
        logger: deps.logger,
        clock: options.clock
      }
    )
  }

  /** Sweeps now (boot), then every intervalMs. */
  start(): void {
    this.#worker.start()
  }

  /** Stops sweeping and waits for a sweep in flight. */
  async stop(): Promise<void> {
    await this.#worker.stop()
  }

  async sweep(): Promise<OrphanSweepResult> {
    const now = (this.options.clock ?? systemClock).now()
    const keys = await this.deps.secrets.listKeys()
    const result: OrphanSweepResult = { scanned: keys.length, removed: [], waiting: 0 }
    const stillOrphaned = new Set<string>()
    for (let i = 0; i < keys.length; i += 500) {
      const chunk = keys.slice(i, i + 500)
      const live = await this.#liveKeys(chunk, now)
      for (const key of chunk) {
        if (live.has(key)) continue
        stillOrphaned.add(key)
        const since = this.#firstSeen.get(key) ?? now
        this.#firstSeen.set(key, since)
        if (now - since < this.options.graceMs) {
          result.waiting++
          continue
        }
        await this.deps.secrets.destroy(key)
        this.#firstSeen.delete(key)
        result.removed.push(key)
        this.deps.logger.info({ key, store: this.deps.secrets.kind }, 'removed an orphaned secret (no live connection)')
      }
    }
    // Keys that stopped looking orphaned (or are gone) start their grace again if they come back.
    for (const key of this.#firstSeen.keys()) if (!stillOrphaned.has(key)) this.#firstSeen.delete(key)
    return result
  }

  /**
   * Keys whose connection exists and is not terminal, or was deleted downstream and keeps its secret for an operator
   * a while longer (secret_destroy_after). Keys that are not connection ids are never live.
   */
  async #liveKeys(keys: string[], now: number): Promise<Set<string>> {
    const ids = keys.filter((k) => /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/.test(k))
    if (ids.length === 0) return new Set()
    const rows = await this.deps.db
      .selectFrom('connections')
      .select('id')
      .where('id', 'in', ids)
      .where((eb) => eb.or([eb('state', 'not in', TERMINAL_STATES), eb('secret_destroy_after', '>', new Date(now))]))
      .execute()
    return new Set(rows.map((r) => r.id))
  }
}
