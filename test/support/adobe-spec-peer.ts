// A Flow Service peer we did not write: Stoplight Prism mocking Adobe's published flow-service.yaml, in-process on
// a free loopback port. It answers only what the spec's examples say, which is where our own emulator is too kind.
import { Writable } from 'node:stream'
import { createLogger } from '@stoplight/prism-core'
import { getHttpOperationsFromSpec } from '@stoplight/prism-http'
import { createServer } from '@stoplight/prism-http-server'
import { fromRoot } from './project-root.js'

/** Adobe's "Flow Service API - Sources" file, vendored verbatim (see test/fixtures/adobe/README.md). */
export const ADOBE_FLOW_SERVICE_SPEC = fromRoot('test/fixtures/adobe/flow-service.yaml')

type HttpOperation = Awaited<ReturnType<typeof getHttpOperationsFromSpec>>[number]
type MediaTypeContent = NonNullable<NonNullable<NonNullable<HttpOperation['request']>['body']>['contents']>[number]

export interface AdobeSpecPeerOptions {
  /**
   * 'as-published' (default): the YAML as Adobe ships it, PATCH/DELETE only on `/connections/{id}/` and PATCH
   * taking one upper-case PatchInstruction object, so the broker's documented calls get Prism's 405 or 422.
   * 'documented-paths': those two known flaws corrected to what Adobe's docs describe (no trailing slash, a JSON
   * Patch array with lower-case ops), so PATCH and DELETE reach the spec's example answers.
   */
  paths?: 'as-published' | 'documented-paths'
}

export interface PeerRequest {
  method: string
  path: string
  query: Record<string, string | string[]>
  headers: Record<string, string>
}

export interface AdobeSpecPeer {
  /** Base URL for FLOW_SERVICE_URL: the spec's server path is not served, Prism routes on the bare paths. */
  url: string
  /** Every request Prism received, in order. */
  requests: () => PeerRequest[]
  close: () => Promise<void>
}

const JSON_PATCH_ARRAY: MediaTypeContent['schema'] = {
  type: 'array',
  minItems: 1,
  items: {
    type: 'object',
    required: ['op', 'path'],
    properties: { op: { type: 'string', enum: ['add', 'replace', 'remove'] }, path: { type: 'string' } }
  }
}

/** The two corrections flow-service.md lists under "Known flaws of the published spec"; nothing else changes. */
function withDocumentedPaths(operation: HttpOperation): HttpOperation {
  if (operation.path !== '/connections/{BASE_CONNECTION_ID}/') return operation
  const corrected: HttpOperation = { ...operation, path: '/connections/{BASE_CONNECTION_ID}' }
  const body = operation.request?.body
  if (operation.method === 'patch' && body !== undefined) {
    corrected.request = {
      ...operation.request,
      body: { ...body, contents: (body.contents ?? []).map((content) => ({ ...content, schema: JSON_PATCH_ARRAY })) }
    }
  }
  return corrected
}

export async function startAdobeSpecPeer(options: AdobeSpecPeerOptions = {}): Promise<AdobeSpecPeer> {
  const published = await getHttpOperationsFromSpec(ADOBE_FLOW_SERVICE_SPEC)
  const operations = options.paths === 'documented-paths' ? published.map(withDocumentedPaths) : published
  const received: PeerRequest[] = []
  // Prism logs each request it receives with its parsed input; that log is our record of what reached the peer.
  const sink = new Writable({
    write(chunk: Buffer, _encoding, done) {
      for (const line of chunk.toString('utf8').split('\n')) {
        if (line.trim() === '') continue
        const entry = JSON.parse(line) as {
          msg?: string
          input?: {
            method: string
            url: { path: string; query?: PeerRequest['query'] }
            headers?: Record<string, string>
          }
        }
        if (entry.msg === 'Request received' && entry.input !== undefined) {
          received.push({
            method: entry.input.method.toUpperCase(),
            path: entry.input.url.path,
            query: entry.input.url.query ?? {},
            headers: entry.input.headers ?? {}
          })
        }
      }
      done()
    }
  })
  const server = createServer(operations, {
    components: { logger: createLogger('adobe-spec-peer', { level: 'info' }, sink) },
    cors: false,
    config: {
      checkSecurity: true,
      validateRequest: true,
      validateResponse: true,
      // Off, as with `prism mock`: a spec example that breaks its own schema is still answered, not replaced by a 500.
      errors: false,
      upstreamProxy: undefined,
      isProxy: false,
      // Static examples (Prism's default): the same answer every time, which is what makes this peer revealing.
      mock: { dynamic: false }
    }
  })
  const url = await server.listen(0, '127.0.0.1')
  let closed: Promise<void> | undefined
  return {
    url,
    requests: () => [...received],
    close: async () => {
      closed ??= server.close()
      await closed
    }
  }
}
