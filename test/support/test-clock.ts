// Virtual time for request tests. now() reads a number that only sleeps and advance() move; a sleep resolves on the
// next turn of the event loop (setImmediate) instead of after real milliseconds, so backoff, Retry-After, the
// emulator's ready delay and deadlines cost no real time but keep their arithmetic and their order.
//
// Sleepers wake earliest due first: each sleep() schedules one wake-up, and each wake-up moves time to the earliest
// pending due time and resolves that sleeper. Two requests sleeping side by side therefore wake in due order and time
// ends at the later due time, not at their sum.
//
// What stays in real time: sockets. A request timeout is undici's real timer racing a held answer (checked on a
// ~0.5 s tick, so a held answer costs 0.5 to 1 s whatever FLOW_SERVICE_TIMEOUT_MS below that says). Real I/O takes
// no virtual time at all: a sleep due later than a request in flight may well wake before that request's answer.
import type { Clock } from '../../src/shared/clock.js'

interface Sleeper {
  due: number
  /** Ties on `due` wake in the order they went to sleep. */
  seq: number
  wake: () => void
}

export class TestClock implements Clock {
  #now: number
  #seq = 0
  readonly #sleepers = new Set<Sleeper>()

  /** Starts at the real time by default, so timestamps derived from it look like today's. */
  constructor(start = Date.now()) {
    this.#now = start
  }

  readonly now = (): number => this.#now

  readonly sleep = async (ms: number, signal?: AbortSignal): Promise<void> => {
    await new Promise<void>((resolve, reject) => {
      if (signal?.aborted === true) {
        reject(abortError(signal))
        return
      }
      const onAbort = (): void => {
        this.#sleepers.delete(sleeper)
        reject(abortError(signal))
      }
      const sleeper: Sleeper = {
        due: this.#now + Math.max(0, ms),
        seq: this.#seq++,
        wake: () => {
          signal?.removeEventListener('abort', onAbort)
          resolve()
        }
      }
      this.#sleepers.add(sleeper)
      signal?.addEventListener('abort', onAbort, { once: true })
      setImmediate(() => {
        this.#wakeEarliest()
      })
    })
  }

  /** Moves time forward by `ms` and wakes every sleeper due by then, earliest first. */
  advance(ms: number): void {
    if (!(ms >= 0)) throw new RangeError(`advance: ms must be >= 0, got ${ms}`)
    const until = this.#now + ms
    for (let next = this.#earliest(); next !== undefined && next.due <= until; next = this.#earliest()) this.#wake(next)
    this.#now = until
  }

  /** How many sleeps have not woken yet. */
  sleeping(): number {
    return this.#sleepers.size
  }

  #wakeEarliest(): void {
    const next = this.#earliest()
    if (next !== undefined) this.#wake(next)
  }

  #wake(sleeper: Sleeper): void {
    this.#sleepers.delete(sleeper)
    this.#now = Math.max(this.#now, sleeper.due)
    sleeper.wake()
  }

  #earliest(): Sleeper | undefined {
    let first: Sleeper | undefined
    for (const s of this.#sleepers)
      if (first === undefined || s.due < first.due || (s.due === first.due && s.seq < first.seq)) first = s
    return first
  }
}

/** What node:timers/promises rejects with when its signal aborts. */
function abortError(signal: AbortSignal | undefined): Error {
  return Object.assign(new Error('The operation was aborted', { cause: signal?.reason }), {
    name: 'AbortError',
    code: 'ABORT_ERR'
  })
}
