// When a connection is polled next: fast while it settles, steady once stable, backing off on errors, jittered.

export interface ScheduleSettings {
  fastIntervalMs: number
  steadyIntervalMs: number
}

const SETTLING = new Set(['pending', 'initializing'])

/** Spread ±10% so connections created together do not stay in lock-step sweep after sweep. */
const jitter = (ms: number, random: () => number): number => Math.round(ms * (0.9 + 0.2 * random()))

export function nextPollDelay (state: string, hasUnknownDownstreamState: boolean, s: ScheduleSettings, random = Math.random): number | null {
  if (state === 'deleted' || state === 'failed') return null
  return jitter(SETTLING.has(state) || hasUnknownDownstreamState ? s.fastIntervalMs : s.steadyIntervalMs, random)
}

/** After `failures` consecutive failed polls: fast × 2^failures, never beyond the steady interval. */
export function backoffDelay (failures: number, s: ScheduleSettings, random = Math.random): number {
  return jitter(Math.min(s.steadyIntervalMs, s.fastIntervalMs * 2 ** Math.min(failures, 20)), random)
}
