// Time as the background loops see it. Injected so tests drive the loops with fake time instead of waiting.

export interface Clock {
  /** Milliseconds since the epoch, as Date.now(). */
  now: () => number
  /** Resolves after `ms`, or at once when `signal` aborts (never rejects). */
  sleep: (ms: number, signal: AbortSignal) => Promise<void>
}

export const systemClock: Clock = {
  now: () => Date.now(),
  sleep: async (ms, signal) => {
    if (signal.aborted) return
    await new Promise<void>((resolve) => {
      const done = (): void => {
        clearTimeout(timer)
        signal.removeEventListener('abort', done)
        resolve()
      }
      const timer = setTimeout(done, ms)
      signal.addEventListener('abort', done)
    })
  }
}
