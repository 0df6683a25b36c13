// RFC 8288 `Link: <…>; rel="next"` beside nextCursor on every paged list answer: this request's URL with its cursor
// replaced, relative to the host the client called.
import type { FastifyReply, FastifyRequest } from 'fastify'

export function setNextLink(request: FastifyRequest, reply: FastifyReply, nextCursor: string | null): void {
  if (nextCursor === null) return
  const url = new URL(request.url, 'http://broker.invalid')
  url.searchParams.set('cursor', nextCursor)
  void reply.header('link', `<${url.pathname}${url.search}>; rel="next"`)
}
