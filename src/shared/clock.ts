// Time as the broker and the emulator read it: the system's in production, a virtual one in tests, so backoff,
// Retry-After, initializing waits and deadlines keep their arithmetic without taking real time.
// A leaf module: it imports nothing from the app, so anything may depend on it.
import { setTimeout as delay } from 'node:timers/promises'

export interface Clock {
  /** Milliseconds since the epoch. */
  now: () => number
  /** Resolves after `ms`; rejects (AbortError) when `signal` aborts first. */
  sleep: (ms: number, signal?: AbortSignal) => Promise<void>
}

export const systemClock: Clock = {
  now: () => Date.now(),
  sleep: async (ms, signal) => {
    await delay(ms, undefined, signal !== undefined ? { signal } : undefined)
  }
}
