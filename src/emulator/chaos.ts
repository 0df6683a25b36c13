// Chaos mode for property-based tests: a seeded PRNG gives a share of Flow Service requests a random fault drawn
// from the whole repertoire, so a seed that breaks the broker replays the same faults for the same requests.
import {
  ECHO_ENCODINGS,
  type ChaosLogEntry,
  type ChaosOptions,
  type FaultKind,
  type FaultSpec,
  type Odd200Body,
  type Operation
} from './types.js'

const DEFAULT_MAX_DELAY_MS = 200
/** Enough for a long property run; older entries go first. */
const LOG_CAPACITY = 10_000

/** Kinds chaos may draw per operation: what a real Flow Service or a careless peer could answer to it. */
const MENU: Record<Exclude<Operation, 'token'>, readonly FaultKind[]> = {
  create: [
    'status',
    'rate-limit',
    'reset',
    'timeout',
    'delay',
    'lost-answer',
    'odd-200',
    'echo',
    'same-id',
    'late-landing'
  ],
  get: ['status', 'rate-limit', 'reset', 'timeout', 'delay', 'lost-answer', 'odd-200', 'echo', 'other-item', 'reject'],
  list: ['status', 'rate-limit', 'reset', 'timeout', 'delay', 'lost-answer', 'odd-200', 'echo', 'other-item'],
  update: ['status', 'rate-limit', 'reset', 'timeout', 'delay', 'lost-answer', 'odd-200', 'echo', 'reject'],
  delete: ['status', 'rate-limit', 'reset', 'timeout', 'delay', 'lost-answer', 'odd-200', 'echo', 'reject'],
  test: ['status', 'rate-limit', 'reset', 'timeout', 'delay', 'lost-answer', 'odd-200', 'echo']
}

/**
 * 4xx answers Flow Service gives to a valid request depending on what else happens to the connection: a concurrent
 * update (412), an internal state, still initializing, used by flows; and the read-after-write 404 of a replica.
 */
const REJECT_CODES: Partial<Record<Operation, readonly string[]>> = {
  get: ['1439-404'],
  update: ['1404-412', '1416-400', '1417-400'],
  delete: ['1404-412', '1416-400', '1417-400', '1418-400']
}

const ODD_BODIES: readonly Odd200Body[] = ['empty-items', 'no-items', 'null-items', 'empty', 'not-json']
/** Writes carry no items: their odd answers are the ones without an id. */
const ODD_WRITE_BODIES: readonly Odd200Body[] = ['no-items', 'empty', 'not-json']

/** mulberry32: tiny, fast and good enough to pick faults; the point is replaying a seed, not statistics. */
function mulberry32(seed: number): () => number {
  let a = seed >>> 0
  return () => {
    a = (a + 0x6d2b79f5) >>> 0
    let t = a
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
}

export class Chaos {
  private options: ChaosOptions | null = null
  private random: () => number = Math.random
  private requests = 0
  private log: ChaosLogEntry[] = []

  set(options: ChaosOptions | null): void {
    if (options !== null && !(options.rate >= 0 && options.rate <= 1))
      throw new RangeError(`chaos rate must be between 0 and 1, got ${options.rate}`)
    this.options =
      options === null ? null : { ...options, ...(options.kinds === undefined ? {} : { kinds: [...options.kinds] }) }
    this.random = options === null ? Math.random : mulberry32(options.seed)
    this.requests = 0
    this.log = []
  }

  current(): ChaosOptions | null {
    return this.options === null ? null : structuredClone(this.options)
  }

  entries(): ChaosLogEntry[] {
    return this.log.map((e) => structuredClone(e))
  }

  /** A fault for this request, or undefined; called once per Flow Service request without a queued fault. */
  draw(operation: Operation): FaultSpec | undefined {
    const options = this.options
    if (options === null || operation === 'token') return undefined
    this.requests++
    if (this.random() >= options.rate) return undefined
    const menu = MENU[operation].filter((k) => options.kinds === undefined || options.kinds.includes(k))
    if (menu.length === 0) return undefined
    const kind = this.pick(menu)
    const fault = this.build(kind, operation, options.maxDelayMs ?? DEFAULT_MAX_DELAY_MS)
    this.log.push({ request: this.requests, operation, kind, fault })
    if (this.log.length > LOG_CAPACITY) this.log.shift()
    return fault
  }

  private build(kind: FaultKind, operation: Exclude<Operation, 'token'>, maxDelayMs: number): FaultSpec {
    const write = operation === 'create' || operation === 'update'
    switch (kind) {
      case 'status': {
        const status = this.pick([500, 502, 503, 504])
        return this.chance(0.3) ? { kind, status, retryAfterSeconds: 1 } : { kind, status }
      }
      case 'rate-limit':
        return { kind, retryAfterSeconds: this.pick([0, 1]), emptyBody: this.chance(0.3) }
      case 'reset':
        return { kind }
      case 'timeout':
        return { kind, delayMs: this.upTo(maxDelayMs) }
      case 'delay':
        return { kind, delayMs: this.upTo(maxDelayMs) }
      case 'lost-answer':
        return write ? { kind, thenBump: this.chance(0.5) } : { kind }
      case 'odd-200':
        return { kind, body: this.pick(operation === 'get' || operation === 'list' ? ODD_BODIES : ODD_WRITE_BODIES) }
      case 'echo':
        return { kind, status: 400, code: '1100-400', encodings: [...ECHO_ENCODINGS] }
      case 'other-item':
        return { kind, mode: this.pick(['replace', 'add'] as const) }
      case 'same-id':
        return { kind, create: this.chance(0.5) }
      case 'late-landing':
        return {
          kind,
          delayMs: this.upTo(maxDelayMs),
          answer: this.pick(['drop', '504', 'timeout'] as const),
          holdMs: this.upTo(maxDelayMs)
        }
      case 'reject':
        return { kind, code: this.pick(REJECT_CODES[operation] ?? ['1100-400']) }
    }
  }

  private pick<T>(values: readonly T[]): T {
    return values[Math.floor(this.random() * values.length)] as T
  }

  private chance(p: number): boolean {
    return this.random() < p
  }

  private upTo(max: number): number {
    return Math.floor(this.random() * (max + 1))
  }
}
