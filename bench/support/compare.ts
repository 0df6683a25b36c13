// A/B load: the broker's route and its baseline measured in alternating rounds (so a noisy neighbour on a small
// machine hits both alike), medians taken, and the database statements each request cost counted from the
// broker's own metric (both routes use the broker's database handle, so one counter sees both).
import type { Broker } from '../../src/broker.js'
import { runLoad, type LoadOptions, type LoadResult } from './load.js'
import { print, round } from './report.js'

export interface Side extends LoadResult {
  /** Database statements per request (median over the rounds). */
  statementsPerRequest: number
}

export interface Comparison {
  baseline: Side
  broker: Side
  rounds: number
  /** broker / baseline requests per second. */
  throughputRatio: number
  /** broker / baseline p50 and p99 latency. */
  p50Ratio: number
  p99Ratio: number
}

export interface CompareOptions {
  broker: Broker
  baseline: LoadOptions
  candidate: LoadOptions
  rounds?: number
  warmupSeconds?: number
}

export const BENCH_SECONDS = Number(process.env.BENCH_SECONDS ?? 4)
export const BENCH_ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3)

export async function compare(options: CompareOptions): Promise<Comparison> {
  const rounds = options.rounds ?? BENCH_ROUNDS
  const warmup = options.warmupSeconds ?? 2
  // Warm both (JIT, pools, caches) before measuring.
  await runLoad({ ...options.baseline, durationSeconds: warmup })
  await runLoad({ ...options.candidate, durationSeconds: warmup })
  const baseline: Array<LoadResult & { statements: number }> = []
  const broker: Array<LoadResult & { statements: number }> = []
  for (let i = 0; i < rounds; i++) {
    baseline.push(await measured(options.broker, options.baseline))
    broker.push(await measured(options.broker, options.candidate))
  }
  const failed = [...baseline, ...broker].find((r) => r.non2xx > 0 || r.errors > 0)
  if (failed !== undefined) throw new Error(`some requests failed: ${failed.non2xx} non-2xx, ${failed.errors} errors`)
  const b = summarise(baseline)
  const c = summarise(broker)
  printSide('baseline', b)
  printSide('broker', c)
  const comparison = {
    baseline: b,
    broker: c,
    rounds,
    throughputRatio: c.requestsPerSecond / b.requestsPerSecond,
    p50Ratio: c.latencyP50Ms / Math.max(b.latencyP50Ms, 1),
    p99Ratio: c.latencyP99Ms / Math.max(b.latencyP99Ms, 1)
  }
  print(
    `  ratios (broker / baseline, median of ${rounds} alternating rounds): throughput ${round(comparison.throughputRatio)}×, p50 ${round(comparison.p50Ratio)}×, p99 ${round(comparison.p99Ratio)}×`
  )
  return comparison
}

async function measured(broker: Broker, load: LoadOptions): Promise<LoadResult & { statements: number }> {
  const before = await statementCount(broker)
  const result = await runLoad(load)
  return { ...result, statements: (await statementCount(broker)) - before }
}

/** Statements the broker's database handle has run so far. */
async function statementCount(broker: Broker): Promise<number> {
  const metric = await broker.metrics.dbQueryDuration.get()
  return metric.values
    .filter((v) => v.metricName === 'broker_db_query_duration_seconds_count')
    .reduce((n, v) => n + v.value, 0)
}

const median = (values: number[]): number => {
  const sorted = [...values].sort((a, b) => a - b)
  return sorted[Math.floor(sorted.length / 2)] ?? Number.NaN
}

function summarise(runs: Array<LoadResult & { statements: number }>): Side {
  return {
    requestsPerSecond: median(runs.map((r) => r.requestsPerSecond)),
    latencyP50Ms: median(runs.map((r) => r.latencyP50Ms)),
    latencyP99Ms: median(runs.map((r) => r.latencyP99Ms)),
    requests: runs.reduce((n, r) => n + r.requests, 0),
    non2xx: runs.reduce((n, r) => n + r.non2xx, 0),
    errors: runs.reduce((n, r) => n + r.errors, 0),
    statementsPerRequest: median(runs.map((r) => r.statements / Math.max(r.requests, 1)))
  }
}

function printSide(label: string, s: Side): void {
  print(
    `  ${label.padEnd(9)} ${round(s.requestsPerSecond, 0)} req/s   p50 ${s.latencyP50Ms} ms   p99 ${s.latencyP99Ms} ms   ${round(s.statementsPerRequest, 2)} statements/request   (${s.requests} requests)`
  )
}

/** The figures of a comparison, flat, for bench/results/<name>.json. */
export function comparisonFigures(c: Comparison): Record<string, number> {
  return {
    rounds: c.rounds,
    secondsPerRound: BENCH_SECONDS,
    baselineRequestsPerSecond: round(c.baseline.requestsPerSecond, 0),
    baselineP50Ms: c.baseline.latencyP50Ms,
    baselineP99Ms: c.baseline.latencyP99Ms,
    baselineStatementsPerRequest: round(c.baseline.statementsPerRequest, 2),
    brokerRequestsPerSecond: round(c.broker.requestsPerSecond, 0),
    brokerP50Ms: c.broker.latencyP50Ms,
    brokerP99Ms: c.broker.latencyP99Ms,
    brokerStatementsPerRequest: round(c.broker.statementsPerRequest, 2),
    throughputRatio: round(c.throughputRatio),
    p50Ratio: round(c.p50Ratio),
    p99Ratio: round(c.p99Ratio)
  }
}
