// retryWithBackoff: full-jitter exponential backoff within a deadline, honouring an error's retryAfterMs.
// The caller decides what is retryable; a create must never pass an 'ambiguous' error as retryable.
import { setTimeout as delay } from 'node:timers/promises'

export interface RetryAttempt {
  /** 1-based number of the attempt that just failed. */
  attempt: number
  /** How long we wait before the next attempt. */
  delayMs: number
  error: unknown
}

export interface RetryOptions {
  /** Total budget from the first attempt; no wait may end past it. */
  deadlineMs: number
  baseDelayMs: number
  maxDelayMs: number
  isRetryable: (error: unknown) => boolean
  onRetry?: (attempt: RetryAttempt) => void
  /** Aborting stops the waiting; the last error is rethrown. */
  signal?: AbortSignal
  sleep?: (ms: number, signal?: AbortSignal) => Promise<void>
  /** In [0, 1); injectable so tests can pin the jitter. */
  random?: () => number
  /** Monotonic clock in ms; injectable so tests can advance it with their fake sleep. */
  now?: () => number
}

/**
 * Runs `fn` until it succeeds, fails with a non-retryable error, or the next wait would pass the deadline;
 * then rethrows the last error as it is, so callers keep its kind, code and message.
 */
export async function retryWithBackoff<T>(fn: (attempt: number) => Promise<T>, options: RetryOptions): Promise<T> {
  const sleep = options.sleep ?? defaultSleep
  const random = options.random ?? Math.random
  const now = options.now ?? (() => performance.now())
  const startedAt = now()
  options.signal?.throwIfAborted()

  for (let attempt = 1; ; attempt++) {
    try {
      return await fn(attempt)
    } catch (error) {
      if (!options.isRetryable(error) || isAborted(options.signal)) throw error
      const ceiling = Math.min(options.maxDelayMs, options.baseDelayMs * 2 ** (attempt - 1))
      // Full jitter spreads replicas that failed together; Retry-After is the server's floor, never shortened.
      const delayMs = Math.max(Math.floor(random() * ceiling), retryAfterOf(error))
      if (now() - startedAt + delayMs > options.deadlineMs) throw error
      options.onRetry?.({ attempt, delayMs, error })
      try {
        await sleep(delayMs, options.signal)
      } catch {
        throw error
      }
      // A sleep that ignores the signal must not buy one more attempt after a shutdown.
      if (isAborted(options.signal)) throw error
    }
  }
}

function isAborted(signal: AbortSignal | undefined): boolean {
  return signal?.aborted === true
}

function retryAfterOf(error: unknown): number {
  if (typeof error !== 'object' || error === null) return 0
  const value = (error as { retryAfterMs?: unknown }).retryAfterMs
  return typeof value === 'number' && Number.isFinite(value) && value > 0 ? value : 0
}

async function defaultSleep(ms: number, signal?: AbortSignal): Promise<void> {
  await delay(ms, undefined, signal !== undefined ? { signal } : undefined)
}
