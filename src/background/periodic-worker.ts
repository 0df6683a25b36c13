// The one loop behind the broker's background work (the state poller, the reconciler, the secret orphan sweep):
// a first pass as soon as it starts (boot), then a pass every interval, jittered so replicas started together
// drift apart, and backing off exponentially while passes fail. Passes never overlap: the next one is scheduled
// only once the last has ended. stop() ends a pause at once and waits for a pass in flight.
import type { Logger } from 'pino'
import { systemClock, type Clock } from '../shared/clock.js'

/** What a pass may ask of the loop. */
export interface PassOutcome {
  /** Epoch ms before which the next pass must not start (e.g. a Retry-After the pass was given). */
  notBefore?: number
}

/**
 * One pass of the work. `signal` aborts when the worker stops: a long pass should end at its next safe point.
 * A pass that throws is counted as failed and backed off from; one that resolves resets the failure count.
 */
export type Pass = (signal: AbortSignal) => Promise<PassOutcome | undefined>

export interface PeriodicWorkerOptions {
  /** Names the work in logs: a failed pass is logged as `<name> failed`, with the failures in a row. */
  name: string
  intervalMs: number
  /** Longest pause while passes keep failing. Default intervalMs (no growth); never below intervalMs. */
  maxBackoffMs?: number
  logger: Logger
  clock?: Clock
  /** Uniform in [0, 1), like Math.random (the default). */
  random?: () => number
}

/** Every pause is drawn uniformly within ±10 % of its nominal length. */
export const JITTER = 0.1

/**
 * The nominal pause after a pass, before jitter: intervalMs after a success; after `failures` failed passes in a
 * row, intervalMs × 2^failures, capped at max(maxBackoffMs, intervalMs).
 */
export function nominalPause(failures: number, intervalMs: number, maxBackoffMs = intervalMs): number {
  if (failures === 0) return intervalMs
  return Math.min(Math.max(maxBackoffMs, intervalMs), intervalMs * 2 ** Math.min(failures, 30))
}

export function jittered(ms: number, random: () => number): number {
  return ms * (1 - JITTER + 2 * JITTER * random())
}

export class PeriodicWorker {
  #loop: Promise<void> | undefined
  #stopping = new AbortController()

  constructor(
    private readonly pass: Pass,
    private readonly options: PeriodicWorkerOptions
  ) {}

  /** Starts the loop, its first pass now. Does nothing while the loop runs. */
  start(): void {
    if (this.#loop !== undefined) return
    this.#stopping = new AbortController()
    this.#loop = this.#run(this.#stopping.signal)
  }

  /** Ends the loop: a pause ends at once, a pass in flight is told (its signal aborts) and awaited. */
  async stop(): Promise<void> {
    this.#stopping.abort()
    await this.#loop
    this.#loop = undefined
  }

  async #run(signal: AbortSignal): Promise<void> {
    const { name, intervalMs, maxBackoffMs, logger } = this.options
    const clock = this.options.clock ?? systemClock
    const random = this.options.random ?? Math.random
    let failures = 0
    while (!signal.aborted) {
      let notBefore = 0
      let failed: unknown
      try {
        notBefore = (await this.pass(signal))?.notBefore ?? 0
        failures = 0
      } catch (err) {
        failures++
        failed = err
      }
      const pause = Math.max(
        jittered(nominalPause(failures, intervalMs, maxBackoffMs), random),
        notBefore - clock.now()
      )
      // The work keeps its progress in the database: a failed pass (say, the database is down) is only retried.
      if (failures > 0) logger.error({ err: failed, failures, nextPassInMs: Math.round(pause) }, `${name} failed`)
      // A stop aborts the pause: the loop's condition then ends it (a clock may reject on abort or resolve).
      await clock.sleep(pause, signal).catch(() => {})
    }
  }
}
