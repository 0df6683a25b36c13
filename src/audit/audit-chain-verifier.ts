// Verifies the audit chain one run at a time — in this process, and across replicas through a lease in the
// database — and incrementally: from the last row a previous run proved intact, unless a full walk is asked for.
import type { Kysely } from 'kysely'
import type { Database } from '../db/schema.js'
import {
  releaseVerificationLease,
  takeVerificationLease,
  type VerifiedThrough
} from './audit-verification-repository.js'
import { walkAuditChain, type ChainVerdict } from './verify-audit-chain.js'

export interface AuditVerification extends ChainVerdict {
  /** Walked from the first row (`?full=true`) rather than from the checkpoint. */
  full: boolean
  /** The walk started after this row, proven intact by an earlier run; null: from the first row. */
  startedAfterId: string | null
  /** When valid: the chain is proven intact up to this row, where the next run starts. Null otherwise. */
  verifiedThroughId: string | null
}

export type VerificationOutcome = { kind: 'verified'; verification: AuditVerification } | { kind: 'busy' }

export interface AuditChainVerifierOptions {
  /** How long a run may hold the lease; a run of a replica that died frees it after this long. */
  leaseMs?: number
  pageSize?: number
}

export class AuditChainVerifier {
  readonly #leaseMs: number
  readonly #pageSize: number
  #running = false

  constructor(
    private readonly db: Kysely<Database>,
    options: AuditChainVerifierOptions = {}
  ) {
    this.#leaseMs = options.leaseMs ?? 300_000
    this.#pageSize = options.pageSize ?? 500
  }

  /** Busy when a run is under way here or on another replica: callers are told to come back, not queued. */
  async verify(options: { full: boolean }): Promise<VerificationOutcome> {
    if (this.#running) return { kind: 'busy' }
    this.#running = true
    try {
      const lease = await takeVerificationLease(this.db, this.#leaseMs)
      if (lease === undefined) return { kind: 'busy' }
      let proven: VerifiedThrough | null = null
      try {
        const start = options.full ? null : lease.through
        const { through, ...verdict } = await walkAuditChain(this.db, start, this.#pageSize)
        if (verdict.valid) proven = through
        return {
          kind: 'verified',
          verification: {
            ...verdict,
            full: options.full,
            startedAfterId: start?.id ?? null,
            verifiedThroughId: proven?.id ?? null
          }
        }
      } finally {
        // A broken walk leaves the checkpoint where it was: what was proven before still holds.
        await releaseVerificationLease(this.db, proven)
      }
    } finally {
      this.#running = false
    }
  }
}
