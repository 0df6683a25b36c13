// Requests refused for want of a valid key, counted in memory and written as one audit row per (client address,
// reason, minute) with a count. A flood of wrong keys then costs the hash chain at most one row per source and
// reason a minute — and never more than `maxRowsPerFlush` + 1 rows a flush — instead of one row per request.
import type { Logger } from 'pino'
import type { AuditEntry, AuditLog } from './audit-log.js'

/** Why a request without a valid key was refused (the row's `detail.reason`). */
export type DenialReason = 'no key' | 'malformed authorization' | 'unknown or revoked key' | 'too many attempts'

export interface Denial {
  /** The client address (as TRUST_PROXY decides it). */
  source: string
  reason: DenialReason
  status: 401 | 429
  /** Method and route pattern, e.g. `GET /v1/connections/:id` — never the URL, which could name a connection. */
  route: string
  requestId: string
}

export interface DenialTallyOptions {
  audit: AuditLog
  logger: Logger
  /** How often finished minutes are written. */
  flushIntervalMs?: number
  /** Buckets written as rows of their own per flush, busiest first; the rest share one overflow row. */
  maxRowsPerFlush?: number
  /** Buckets held in memory; denials from further sources fold into one bucket per reason and minute. */
  maxBuckets?: number
  now?: () => number
}

/** The audit action of a tally row. */
export const DENIAL_TALLY_ACTION = 'auth.denied'
/** The source of the bucket that holds sources beyond `maxBuckets`, and of the overflow row. */
export const OTHER_SOURCES = 'other sources'

const MINUTE_MS = 60_000
// Route patterns are few; the cap only keeps a row small should that change.
const MAX_ROUTES_PER_ROW = 20

interface Bucket {
  minute: number
  source: string
  reason: DenialReason
  status: number
  count: number
  routes: Map<string, number>
  firstRequestId: string
  lastRequestId: string
}

export class DenialTally {
  readonly #audit: AuditLog
  readonly #logger: Logger
  readonly #flushIntervalMs: number
  readonly #maxRowsPerFlush: number
  readonly #maxBuckets: number
  readonly #now: () => number
  readonly #buckets = new Map<string, Bucket>()
  #timer: NodeJS.Timeout | undefined
  #flushing: Promise<void> | undefined

  constructor(options: DenialTallyOptions) {
    this.#audit = options.audit
    this.#logger = options.logger
    this.#flushIntervalMs = options.flushIntervalMs ?? 15_000
    this.#maxRowsPerFlush = options.maxRowsPerFlush ?? 100
    this.#maxBuckets = options.maxBuckets ?? 10_000
    this.#now = options.now ?? Date.now
  }

  /** Counts one refusal; no database work. Logs once per new bucket, at debug per request. */
  record(denial: Denial): void {
    const minute = Math.floor(this.#now() / MINUTE_MS)
    let source = denial.source
    let key = `${minute}\n${source}\n${denial.reason}`
    let bucket = this.#buckets.get(key)
    if (bucket === undefined && this.#buckets.size >= this.#maxBuckets) {
      source = OTHER_SOURCES
      key = `${minute}\n${source}\n${denial.reason}`
      bucket = this.#buckets.get(key)
    }
    if (bucket === undefined) {
      bucket = {
        minute,
        source,
        reason: denial.reason,
        status: denial.status,
        count: 0,
        routes: new Map(),
        firstRequestId: denial.requestId,
        lastRequestId: denial.requestId
      }
      this.#buckets.set(key, bucket)
      this.#logger.warn(
        { source, reason: denial.reason, status: denial.status, route: denial.route, reqId: denial.requestId },
        'refusing requests without a valid API key from this source; counted into one audit row per minute'
      )
    }
    bucket.count += 1
    bucket.lastRequestId = denial.requestId
    if (bucket.routes.has(denial.route) || bucket.routes.size < MAX_ROUTES_PER_ROW)
      bucket.routes.set(denial.route, (bucket.routes.get(denial.route) ?? 0) + 1)
  }

  /** Buckets not yet written (finished minutes and the current one). */
  get pending(): number {
    return this.#buckets.size
  }

  /** Writes the finished minutes' buckets (every bucket with `all`, as on close); one flush at a time. */
  async flush(options: { all?: boolean } = {}): Promise<void> {
    while (this.#flushing !== undefined) await this.#flushing
    this.#flushing = this.#write(options.all === true)
    try {
      await this.#flushing
    } finally {
      this.#flushing = undefined
    }
  }

  start(): void {
    if (this.#timer !== undefined) return
    this.#timer = setInterval(() => {
      this.flush().catch((err: unknown) => {
        this.#logger.error({ err }, 'writing the denial tally failed; kept for the next flush')
      })
    }, this.#flushIntervalMs)
    this.#timer.unref()
  }

  /** Stops the timer and writes everything counted so far. */
  async stop(): Promise<void> {
    clearInterval(this.#timer)
    this.#timer = undefined
    await this.flush({ all: true })
  }

  async #write(all: boolean): Promise<void> {
    const currentMinute = Math.floor(this.#now() / MINUTE_MS)
    const due: Array<[string, Bucket]> = []
    for (const entry of this.#buckets) {
      if (all || entry[1].minute < currentMinute) due.push(entry)
    }
    if (due.length === 0) return
    for (const [key] of due) this.#buckets.delete(key)
    const buckets = due.map(([, bucket]) => bucket).sort((a, b) => b.count - a.count || a.minute - b.minute)
    const entries = buckets.slice(0, this.#maxRowsPerFlush).map(rowOf)
    const rest = buckets.slice(this.#maxRowsPerFlush)
    if (rest.length > 0) entries.push(overflowRowOf(rest))
    try {
      // Concurrent appends share one group-committed statement.
      await Promise.all(
        entries.map(async (entry) => {
          await this.#audit.append(entry)
        })
      )
    } catch (err) {
      // Put them back (merged with anything counted meanwhile) rather than lose them; the next flush retries.
      // A partly written batch cannot happen: the group commit writes a batch in one statement.
      for (const [key, bucket] of due) {
        const now = this.#buckets.get(key)
        if (now === undefined) this.#buckets.set(key, bucket)
        else {
          now.count += bucket.count
          now.firstRequestId = bucket.firstRequestId
          for (const [route, n] of bucket.routes) now.routes.set(route, (now.routes.get(route) ?? 0) + n)
        }
      }
      throw err
    }
  }
}

function rowOf(bucket: Bucket): AuditEntry {
  return {
    actor: { kind: 'anonymous' },
    action: DENIAL_TALLY_ACTION,
    outcome: 'denied',
    detail: {
      status: bucket.status,
      reason: bucket.reason,
      source: bucket.source,
      count: bucket.count,
      from: new Date(bucket.minute * MINUTE_MS).toISOString(),
      until: new Date((bucket.minute + 1) * MINUTE_MS).toISOString(),
      routes: Object.fromEntries(bucket.routes),
      firstRequestId: bucket.firstRequestId,
      lastRequestId: bucket.lastRequestId
    }
  }
}

function overflowRowOf(buckets: Bucket[]): AuditEntry {
  const reasons: Record<string, number> = {}
  for (const b of buckets) reasons[b.reason] = (reasons[b.reason] ?? 0) + b.count
  return {
    actor: { kind: 'anonymous' },
    action: DENIAL_TALLY_ACTION,
    outcome: 'denied',
    detail: {
      source: OTHER_SOURCES,
      buckets: buckets.length,
      count: buckets.reduce((sum, b) => sum + b.count, 0),
      reasons,
      from: new Date(Math.min(...buckets.map((b) => b.minute)) * MINUTE_MS).toISOString(),
      until: new Date((Math.max(...buckets.map((b) => b.minute)) + 1) * MINUTE_MS).toISOString()
    }
  }
}
