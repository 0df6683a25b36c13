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

export function auditHash (prevHash: string, c: HashedAuditContent): string {
  const content = [
    prevHash, c.occurredAt.toISOString(), c.actor, c.actorTeam, c.actorKeyId, c.action,
    c.connectionId, c.requestId, c.outcome, c.changedFields, c.detail
  ]
  return createHash('sha256').update(canonicalJson(content)).digest('hex')
}

/** JSON with object keys sorted, so jsonb's own key order never changes a hash. */
export function canonicalJson (value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`
  if (value !== null && typeof value === 'object') {
    const entries = Object.entries(value as Record<string, unknown>).filter(([, v]) => v !== undefined).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`).join(',')}}`
  }
  return JSON.stringify(value ?? null)
}
