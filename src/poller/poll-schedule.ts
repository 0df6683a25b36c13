// When a connection is polled next: fast while it settles (backing off if it stays unsettled), steady once stable,
// backing off on errors, jittered.

export interface ScheduleSettings {
  fastIntervalMs: number
  steadyIntervalMs: number
}

const SETTLING = new Set(['pending', 'initializing'])

/**
 * A connection that stays unsettled is polled again after this fraction of the time it has waited so far (never
 * faster than the fast interval, never slower than the steady one): a connection that settles in seconds is seen
 * within the fast interval, and one stuck for an hour costs a handful of calls, not one every fast interval.
 * The noticing delay stays within a quarter of the wait.
 */
export const SETTLING_BACKOFF_FRACTION = 0.25

/** Spread ±10% so connections created together do not stay in lock-step sweep after sweep. */
const jitter = (ms: number, random: () => number): number => Math.round(ms * (0.9 + 0.2 * random()))

/**
 * `settlingForMs`: how long the connection has been in its current (unsettled) state, i.e. since its row last
 * changed; 0 when unknown, which means the fast interval.
 */
export function nextPollDelay(
  state: string,
  hasUnknownDownstreamState: boolean,
  s: ScheduleSettings,
  random = Math.random,
  settlingForMs = 0
): number | null {
  if (state === 'deleted' || state === 'failed') return null
  if (!SETTLING.has(state) && !hasUnknownDownstreamState) return jitter(s.steadyIntervalMs, random)
  const backedOff = Math.max(0, settlingForMs) * SETTLING_BACKOFF_FRACTION
  return jitter(Math.min(s.steadyIntervalMs, Math.max(s.fastIntervalMs, backedOff)), random)
}

/** After `failures` consecutive failed polls: fast × 2^failures, never beyond the steady interval. */
export function backoffDelay(failures: number, s: ScheduleSettings, random = Math.random): number {
  return jitter(Math.min(s.steadyIntervalMs, s.fastIntervalMs * 2 ** Math.min(failures, 20)), random)
}
