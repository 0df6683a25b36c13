// Manual fake time for the background loops: now() stands still until a test moves it, and a sleep ends only when
// the test advances past it (or its signal aborts). Nothing waits in real time. (test-clock.ts is the other kind:
// virtual time whose sleeps wake at once, for request tests that only need the arithmetic.)
import type { Clock } from '../../src/shared/clock.js'

interface Sleeper {
  until: number
  wake: () => void
}

export class FakeClock implements Clock {
  #now: number
  readonly #sleepers = new Set<Sleeper>()
  #onSleep: Array<() => void> = []
  /** Every pause asked for, in ms, in order. */
  readonly sleeps: number[] = []

  constructor(start = Date.now()) {
    this.#now = start
  }

  now = (): number => this.#now

  sleep = async (ms: number, signal?: AbortSignal): Promise<void> => {
    this.sleeps.push(ms)
    if (signal?.aborted === true) return
    await new Promise<void>((resolve) => {
      const sleeper: Sleeper = {
        until: this.#now + ms,
        wake: () => {
          this.#sleepers.delete(sleeper)
          signal?.removeEventListener('abort', sleeper.wake)
          resolve()
        }
      }
      this.#sleepers.add(sleeper)
      signal?.addEventListener('abort', sleeper.wake)
      for (const notify of this.#onSleep.splice(0)) notify()
    })
  }

  /** How many sleeps are pending. */
  get sleeping(): number {
    return this.#sleepers.size
  }

  /** Resolves once something is asleep (at once if something is already). */
  async asleep(): Promise<void> {
    if (this.#sleepers.size > 0) return
    await new Promise<void>((resolve) => {
      this.#onSleep.push(resolve)
    })
  }

  /** Moves time on by `ms`, waking every sleep that ends by then. */
  advance(ms: number): void {
    this.#now += ms
    for (const sleeper of [...this.#sleepers]) if (sleeper.until <= this.#now) sleeper.wake()
  }
}
