// Which caller a presented API key stands for, remembered briefly so a request does not always cost a database
// round trip to authenticate. Only known, unrevoked keys are remembered (a flood of made-up keys cannot fill the
// cache or keep a key from working once it is issued). Revocations evict at once: on this replica directly, on the
// others through a database notification (see revocation-listener); while a replica cannot hear notifications its
// cache is off, and the TTL bounds staleness should one be lost anyway.
import type { Kysely } from 'kysely'
import type { Database } from '../db/schema.js'
import { findCallerByHash, hashApiKey } from './api-key-repository.js'
import type { Caller } from './scopes.js'

export interface CallerCacheOptions {
  /** How long a looked-up caller is trusted without asking the database again; 0: never cached. */
  ttlMs: number
  /** Bound on remembered keys; the oldest entry goes first. */
  maxEntries?: number
  now?: () => number
}

interface Entry {
  caller: Caller
  expiresAt: number
}

export class CallerCache {
  readonly #entries = new Map<string, Entry>()
  readonly #ttlMs: number
  readonly #maxEntries: number
  readonly #now: () => number
  /** Off until told that revocations can be heard (see `listening`). */
  #listening: boolean
  /** Moves on every forgetting, so a lookup that raced a revocation is not remembered. */
  #generation = 0

  constructor(
    private readonly db: Kysely<Database>,
    options: CallerCacheOptions,
    listening = true
  ) {
    this.#ttlMs = options.ttlMs
    this.#maxEntries = options.maxEntries ?? 10_000
    this.#now = options.now ?? Date.now
    this.#listening = listening
  }

  /** The caller of a key, or undefined for unknown and revoked keys. */
  async find(key: string): Promise<Caller | undefined> {
    const hash = hashApiKey(key)
    const hit = this.#entries.get(hash)
    if (hit !== undefined) {
      if (hit.expiresAt > this.#now()) return hit.caller
      this.#entries.delete(hash)
    }
    const generation = this.#generation
    const caller = await findCallerByHash(this.db, hash)
    if (caller !== undefined && this.#active() && generation === this.#generation) this.#remember(hash, caller)
    return caller
  }

  /** The caller of a key when this replica remembers it; never asks the database. */
  peek(key: string): Caller | undefined {
    const hit = this.#entries.get(hashApiKey(key))
    return hit !== undefined && hit.expiresAt > this.#now() ? hit.caller : undefined
  }

  /** A key was revoked (here or on another replica): its next request is looked up again. */
  forgetKey(keyId: string): void {
    this.#generation += 1
    for (const [hash, entry] of this.#entries) {
      if (entry.caller.keyId === keyId) this.#entries.delete(hash)
    }
  }

  /**
   * Whether revocations made elsewhere reach this cache. Turning it off forgets everything, so a revocation
   * missed while deaf cannot outlive the outage.
   */
  set listening(value: boolean) {
    this.#listening = value
    this.#generation += 1
    if (!value) this.#entries.clear()
  }

  get size(): number {
    return this.#entries.size
  }

  #active(): boolean {
    return this.#ttlMs > 0 && this.#listening
  }

  #remember(hash: string, caller: Caller): void {
    this.#entries.delete(hash)
    while (this.#entries.size >= this.#maxEntries) {
      const oldest = this.#entries.keys().next()
      if (oldest.done === true) break
      this.#entries.delete(oldest.value)
    }
    this.#entries.set(hash, { caller, expiresAt: this.#now() + this.#ttlMs })
  }
}
