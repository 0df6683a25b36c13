// Conditional requests on a connection (RFC 9110 §13): If-None-Match on reads (304), If-Match on changes (412).
// The tags themselves are the connection's (connections/connection-etag.ts); here the headers are read.
import type { FastifyReply, FastifyRequest } from 'fastify'
import { connectionEtag, type IfMatch } from '../connections/connection-etag.js'
import type { ConnectionResource } from '../connections/connection-resource.js'
import { AppError } from '../errors/app-error.js'

/** `"…"` or `W/"…"`, the characters RFC 9110 allows inside (obs-text included). */
const ENTITY_TAG = /^(?:W\/)?"[\x21\x23-\x7e\x80-\xff]*"$/

/** The entity tags of a list header, or undefined when one of its members is not an entity tag. */
function entityTags(header: string): string[] | undefined {
  const tags = header
    .split(',')
    .map((t) => t.trim())
    .filter((t) => t !== '')
  return tags.length > 0 && tags.every((t) => ENTITY_TAG.test(t)) ? tags : undefined
}

const opaque = (tag: string): string => (tag.startsWith('W/') ? tag.slice(2) : tag)

/** The If-Match of a change, if any; a header that is not `*` or a list of entity tags is a 412 saying why. */
export function ifMatchOf(request: FastifyRequest): IfMatch | undefined {
  const header = request.headers['if-match']
  if (header === undefined) return undefined
  if (header.trim() === '*') return { any: true }
  const tags = entityTags(header)
  if (tags === undefined) {
    throw new AppError(
      'precondition_failed',
      'If-Match is not an entity tag: send the ETag header of GET /v1/connections/{id} exactly as it came, double quotes included (If-Match: "…"), or * for any current version; omit If-Match to change the connection whatever its version. Nothing was changed.',
      { errors: [{ path: 'header.if-match', message: 'is not "*" or a list of quoted entity tags' }] }
    )
  }
  return { any: false, tags }
}

/** Sets the connection's ETag on the answer; true when If-None-Match already names it (answer 304, no body). */
export function tagConnection(request: FastifyRequest, reply: FastifyReply, resource: ConnectionResource): boolean {
  const etag = connectionEtag(resource)
  void reply.header('etag', etag)
  const header = request.headers['if-none-match']
  if (header === undefined || request.method !== 'GET') return false
  if (header.trim() === '*') return true
  // Weak comparison (RFC 9110 §13.1.2); a header that is not a list of tags matches nothing.
  return entityTags(header)?.some((t) => opaque(t) === etag) ?? false
}
