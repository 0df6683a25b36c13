// Per-API-key request budget: a token bucket per key id, held in this process's memory.
// Each replica keeps its own buckets, so N replicas allow up to N times the configured rate to one key;
// losing them on restart only forgives a burst, which is why they need no shared store.

/** Where a key stands after a request, as the RateLimit-* answer headers say it. */
export interface Quota {
  /** The bucket's size: requests a minute, and the burst a full bucket allows. */
  limit: number
  /** Whole requests left now. */
  remaining: number
  /** Seconds until the bucket is full again. */
  resetSeconds: number
}

export type RateDecision = { allowed: true; quota: Quota } | { allowed: false; retryAfterSeconds: number; quota: Quota }

export interface RateLimiterOptions {
  /** Sustained requests per minute per key; also the burst a full bucket allows. */
  perMinute: number
  now?: () => number
}

interface Bucket {
  tokens: number
  at: number
}

// Buckets of keys idle long enough to be full again carry no information; past this many, they are dropped.
const PRUNE_ABOVE = 10_000

export class RateLimiter {
  readonly #capacity: number
  readonly #perMs: number
  readonly #now: () => number
  readonly #buckets = new Map<string, Bucket>()

  constructor(options: RateLimiterOptions) {
    this.#capacity = options.perMinute
    this.#perMs = options.perMinute / 60_000
    this.#now = options.now ?? Date.now
  }

  /** Spends one token of `keyId`'s bucket, or says how long until one is available. */
  take(keyId: string): RateDecision {
    const now = this.#now()
    const bucket = this.#buckets.get(keyId) ?? { tokens: this.#capacity, at: now }
    bucket.tokens = Math.min(this.#capacity, bucket.tokens + (now - bucket.at) * this.#perMs)
    bucket.at = now
    if (!this.#buckets.has(keyId)) {
      if (this.#buckets.size >= PRUNE_ABOVE) this.#prune(now)
      this.#buckets.set(keyId, bucket)
    }
    if (bucket.tokens >= 1) {
      bucket.tokens -= 1
      return { allowed: true, quota: this.#quota(bucket) }
    }
    return {
      allowed: false,
      retryAfterSeconds: Math.max(1, Math.ceil((1 - bucket.tokens) / this.#perMs / 1000)),
      quota: this.#quota(bucket)
    }
  }

  #quota(bucket: Bucket): Quota {
    return {
      limit: this.#capacity,
      remaining: Math.floor(bucket.tokens),
      resetSeconds: Math.ceil((this.#capacity - bucket.tokens) / this.#perMs / 1000)
    }
  }

  #prune(now: number): void {
    for (const [keyId, bucket] of this.#buckets) {
      if (bucket.tokens + (now - bucket.at) * this.#perMs >= this.#capacity) this.#buckets.delete(keyId)
    }
  }
}
