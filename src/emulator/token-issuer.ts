// The access tokens the emulated IMS has minted, so the gateway can tell valid from expired or revoked ones.
import { newAccessToken } from './identifiers.js'

export type TokenStatus = 'valid' | 'unknown' | 'expired' | 'revoked'

interface IssuedToken {
  expiresAt: number
  revoked: boolean
}

/** Past this many tokens, expired ones are dropped when a new one is minted, so a long run cannot grow without bound. */
const PRUNE_ABOVE = 10_000

export class TokenIssuer {
  private readonly tokens = new Map<string, IssuedToken>()

  constructor(
    private readonly clock: () => number,
    readonly ttlSeconds: number
  ) {}

  issue(clientId: string, scope: string): { token: string; expiresIn: number } {
    const now = this.clock()
    if (this.tokens.size > PRUNE_ABOVE) this.pruneExpired(now)
    const token = newAccessToken(clientId, scope, now, this.ttlSeconds)
    this.tokens.set(token, { expiresAt: now + this.ttlSeconds * 1000, revoked: false })
    return { token, expiresIn: this.ttlSeconds }
  }

  check(token: string): TokenStatus {
    const issued = this.tokens.get(token)
    if (issued === undefined) return 'unknown'
    if (issued.revoked) return 'revoked'
    return this.clock() >= issued.expiresAt ? 'expired' : 'valid'
  }

  expireAll(): void {
    const now = this.clock()
    for (const issued of this.tokens.values()) issued.expiresAt = Math.min(issued.expiresAt, now)
  }

  /** Revokes one token, or all when none is named. false when the named token was never minted. */
  revoke(token?: string): boolean {
    if (token === undefined) {
      for (const issued of this.tokens.values()) issued.revoked = true
      return true
    }
    const issued = this.tokens.get(token)
    if (issued === undefined) return false
    issued.revoked = true
    return true
  }

  clear(): void {
    this.tokens.clear()
  }

  private pruneExpired(now: number): void {
    for (const [token, issued] of this.tokens) if (issued.revoked || now >= issued.expiresAt) this.tokens.delete(token)
  }
}
