// The broker's own entity tag of a connection: a strong validator of the connection resource as the API shows it
// (not Flow Service's etag, which the body carries). Derived from the representation itself, so it changes exactly
// when a byte of GET /v1/connections/{id} would, and needs no column to keep in step.
import { createHash } from 'node:crypto'
import type { ConnectionRow } from '../db/schema.js'
import type { SecretStore } from '../secrets/secret-store.js'
import { AppError } from '../errors/app-error.js'
import { toConnectionResource, type ConnectionResource } from './connection-resource.js'

/** `"<22 base64url characters of the sha-256 of the resource's JSON>"`, quotes included (a strong ETag). */
export const connectionEtag = (resource: ConnectionResource): string =>
  `"${createHash('sha256').update(JSON.stringify(resource)).digest('base64url').slice(0, 22)}"`

/** What If-Match asked for: any current representation (`*`), or one of these entity tags (quotes included). */
export type IfMatch = { any: true } | { any: false; tags: readonly string[] }

/**
 * Throws the 412 problem unless `row`'s current ETag satisfies `ifMatch` (RFC 9110 §13.1.1: strong comparison,
 * so a weak tag never matches). Call it on a row locked in the transaction that makes the write, never on an
 * earlier read. Says what the connection is now, never a secret.
 */
export function assertIfMatch(
  ifMatch: IfMatch | undefined,
  row: ConnectionRow,
  secrets: Pick<SecretStore, 'reference'>
): void {
  if (ifMatch === undefined || ifMatch.any) return
  const resource = toConnectionResource(row, secrets)
  const current = connectionEtag(resource)
  if (ifMatch.tags.includes(current)) return
  throw new AppError(
    'precondition_failed',
    `If-Match ${ifMatch.tags.join(', ')} does not match the connection's current ETag ${current}: it changed since that ETag was read (it is now ${row.state}, updated ${resource.updatedAt}), and nothing was changed. GET /v1/connections/${row.id} for the current representation and its ETag, check that your change still applies, and send it again with If-Match: ${current} (or without If-Match to change it whatever its version).`,
    {
      errors: [{ path: 'header.if-match', message: `does not match the current ETag ${current}` }],
      extensions: { connectionId: row.id, etag: current, state: row.state, updatedAt: resource.updatedAt }
    }
  )
}
