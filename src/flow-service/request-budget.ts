// RequestBudget: paces this replica's calls towards Flow Service and holds them all while Flow Service has asked
// us to back off (429 Retry-After). Polling and API requests draw from the same budget, first come first served.
import { setTimeout as delay } from 'node:timers/promises'

export interface RequestBudgetOptions {
  /**
   * Calls per second this replica may start. Calls are spaced evenly (a token bucket holding one token), so in
   * any window of t seconds at most rate × t + 1 calls start: a budget shared by several replicas holds even
   * over short windows. 0: no pacing (a 429 still pauses every call).
   */
  ratePerSecond: number
  /** A call that would wait longer than this is refused at once (BudgetExhausted) instead of queueing. */
  maxWaitMs: number
  /** Monotonic-enough clock in ms; tests pass a fake one with `sleep`. */
  now?: () => number
  sleep?: (ms: number, signal: AbortSignal) => Promise<void>
}

/** The wait a call would need is beyond maxWaitMs (or the budget was closed while it waited). */
export class BudgetExhausted extends Error {
  override readonly name = 'BudgetExhausted'
  constructor(
    readonly retryAfterMs: number,
    message: string
  ) {
    super(message)
  }
}

export class RequestBudget {
  readonly #intervalMs: number
  readonly #maxWaitMs: number
  readonly #now: () => number
  readonly #sleep: (ms: number, signal: AbortSignal) => Promise<void>
  readonly #closing = new AbortController()
  /** When the next call may start: one interval after the last slot handed out. */
  #nextSlot = Number.NEGATIVE_INFINITY
  #pausedUntil = Number.NEGATIVE_INFINITY

  constructor(options: RequestBudgetOptions) {
    if (!(options.ratePerSecond >= 0)) throw new RangeError(`ratePerSecond must be >= 0, got ${options.ratePerSecond}`)
    this.#intervalMs = options.ratePerSecond === 0 ? 0 : 1000 / options.ratePerSecond
    this.#maxWaitMs = options.maxWaitMs
    this.#now = options.now ?? (() => Date.now())
    this.#sleep =
      options.sleep ??
      (async (ms, signal) => {
        await delay(ms, undefined, { signal })
      })
  }

  /** Resolves (with how long it waited) when a call may start; rejects with BudgetExhausted instead of waiting too long. */
  async acquire(): Promise<number> {
    const startedAt = this.#now()
    for (;;) {
      if (this.#closing.signal.aborted) throw new BudgetExhausted(0, 'the Flow Service client is closing')
      const now = this.#now()
      const at = Math.max(now, this.#nextSlot, this.#pausedUntil)
      const wait = at - now
      if (wait > this.#maxWaitMs) {
        throw new BudgetExhausted(
          Math.ceil(wait),
          this.#pausedUntil > now
            ? `Flow Service asked us to wait (429) for ${Math.ceil(wait)} ms more`
            : `the request budget towards Flow Service is used up for the next ${Math.ceil(wait)} ms`
        )
      }
      // The slot is ours from now on: later callers queue behind it, which keeps the order first come first served.
      this.#nextSlot = at + this.#intervalMs
      if (wait <= 0) return now - startedAt
      try {
        await this.#sleep(wait, this.#closing.signal)
      } catch {
        throw new BudgetExhausted(0, 'the Flow Service client is closing')
      }
      // A 429 that arrived while we slept voids the slot: queue again behind the pause.
      if (this.#pausedUntil <= this.#now()) return this.#now() - startedAt
    }
  }

  /** Flow Service answered 429: no call starts before `ms` from now, whoever makes it. */
  pause(ms: number): void {
    this.#pausedUntil = Math.max(this.#pausedUntil, this.#now() + ms)
  }

  /** When the current pause ends (ms since the epoch of `now`), or undefined when not paused. */
  pausedUntil(): number | undefined {
    return this.#pausedUntil > this.#now() ? this.#pausedUntil : undefined
  }

  /** Wakes every waiting caller with BudgetExhausted, so a shutdown is never held by the queue. */
  close(): void {
    this.#closing.abort()
  }
}
