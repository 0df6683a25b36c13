// The hash chain of the audit log: each row's hash covers its content and its predecessor's hash.
import { createHash } from 'node:crypto'

export const GENESIS_HASH = '0'.repeat(64)

export interface HashedAuditContent {
  occurredAt: Date
  actor: string
  actorTeam: string | null
  actorKeyId: string | null
  action: string
  connectionId: string | null
  requestId: string | null
  outcome: string
  changedFields: string[]
  detail: Record<string, unknown> | null
}

export function auditHash(prevHash: string, c: HashedAuditContent): string {
  return createHash('sha256')
    .update(`[${JSON.stringify(prevHash)},${auditHashRest(c)}`)
    .digest('hex')
}

/**
 * The hashed text after the predecessor's hash: canonical JSON of `[prevHash, ...content]` is `["<prevHash>",` +
 * this. The database's audit_append splices the tail hash it reads under the chain lock in front of it.
 */
export function auditHashRest(c: HashedAuditContent): string {
  const content = [
    c.occurredAt.toISOString(),
    c.actor,
    c.actorTeam,
    c.actorKeyId,
    c.action,
    c.connectionId,
    c.requestId,
    c.outcome,
    c.changedFields,
    c.detail
  ]
  return canonicalJson(content).slice(1)
}

/** JSON with object keys sorted, so jsonb's own key order never changes a hash. */
export function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`
  if (value !== null && typeof value === 'object') {
    const entries = Object.entries(value as Record<string, unknown>)
      .filter(([, v]) => v !== undefined)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`).join(',')}}`
  }
  return JSON.stringify(value ?? null)
}
