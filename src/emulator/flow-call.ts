// One Flow Service request once the gateway let it through: its route, body (read once) and sandbox, the normal
// operation, and the pieces faults need to answer differently (a prepared create, another connection, a touch).
import type { IncomingMessage } from 'node:http'
import { flowError, gatewayError } from './adobe-errors.js'
import type { ConnectionRoutes, FlowContext } from './connection-routes.js'
import type { ConnectionStore, NewConnection, StoredConnection } from './connection-store.js'
import { checkContentType, checkSandbox } from './gateway-checks.js'
import type { Reply } from './http-io.js'
import { BodyTooLarge, readBody, singleHeader } from './http-io.js'

const MAX_BODY_BYTES = 1024 * 1024

export type FlowRoute =
  { operation: 'create' | 'list' } | { operation: 'get' | 'update' | 'delete' | 'test'; id: string }

export interface FlowCallDeps {
  routes: ConnectionRoutes
  store: ConnectionStore
}

export class FlowCall {
  private body: Promise<Buffer> | undefined

  constructor(
    private readonly deps: FlowCallDeps,
    private readonly req: IncomingMessage,
    readonly route: FlowRoute,
    private readonly clientId: string,
    readonly query: URLSearchParams,
    /** The raw query string, as sent. */
    readonly queryString: string,
    readonly requestId: string
  ) {}

  /** The request's context, or the answer to a bad `x-sandbox-name`. */
  context(): FlowContext | Reply {
    const sb = checkSandbox(this.req.headers, this.requestId)
    if (!sb.ok) return sb.reply
    return {
      sandboxName: sb.sandboxName,
      clientId: this.clientId,
      requestId: this.requestId,
      query: this.query,
      ifMatch: singleHeader(this.req.headers['if-match'])
    }
  }

  /** What Flow Service answers without a fault. */
  async perform(): Promise<Reply> {
    const ctx = this.context()
    if (!isContext(ctx)) return ctx
    const { routes } = this.deps
    const route = this.route
    switch (route.operation) {
      case 'list':
        return routes.list(ctx)
      case 'get':
        return routes.get(ctx, route.id)
      case 'test':
        return routes.test(ctx, route.id)
      case 'delete':
        return routes.remove(ctx, route.id)
      case 'create': {
        const body = await this.jsonBody()
        return 'reply' in body ? body.reply : routes.create(ctx, body.value)
      }
      case 'update': {
        const body = await this.jsonBody()
        return 'reply' in body ? body.reply : routes.update(ctx, route.id, body.value)
      }
    }
  }

  /** A create checked as Flow Service checks it, not yet stored; or the answer to a bad one. */
  async prepareCreate(): Promise<{ ctx: FlowContext; input: NewConnection } | { reply: Reply }> {
    const ctx = this.context()
    if (!isContext(ctx)) return { reply: ctx }
    const body = await this.jsonBody()
    if ('reply' in body) return body
    const input = this.deps.routes.prepareCreate(ctx, body.value)
    return 'status' in input ? { reply: input } : { ctx, input }
  }

  /** The body parsed as JSON when it is; undefined when absent or not JSON. For echo faults. */
  async parsedBody(): Promise<unknown> {
    if (this.route.operation !== 'create' && this.route.operation !== 'update') return undefined
    try {
      return JSON.parse((await this.rawBody()).toString('utf8')) as unknown
    } catch {
      return undefined
    }
  }

  /** The connection this request names (or, for a create, the one it answered with), in its sandbox. */
  connection(id: string | undefined): StoredConnection | undefined {
    const ctx = this.context()
    if (id === undefined || !isContext(ctx)) return undefined
    return this.deps.store.get(ctx.sandboxName, id)
  }

  private async rawBody(): Promise<Buffer> {
    this.body ??= readBody(this.req, MAX_BODY_BYTES)
    return await this.body
  }

  private async jsonBody(): Promise<{ value: unknown } | { reply: Reply }> {
    const badType = checkContentType(this.req.headers, this.req.method ?? 'POST')
    if (badType !== undefined) return { reply: badType }
    let raw: Buffer
    try {
      raw = await this.rawBody()
    } catch (err) {
      if (err instanceof BodyTooLarge) return { reply: gatewayError(413, '413000', 'Request entity too large') }
      throw err
    }
    const text = raw.toString('utf8').trim()
    if (text === '' || text === 'null') {
      return {
        reply: flowError(
          '1405-400',
          'The request body cannot be null or empty. Please provide a request body and try again.',
          this.requestId
        )
      }
    }
    try {
      return { value: JSON.parse(text) as unknown }
    } catch (err) {
      return { reply: flowError('1100-400', `Malformed JSON body: ${(err as Error).message}`, this.requestId) }
    }
  }
}

export function isContext(value: FlowContext | Reply): value is FlowContext {
  return 'sandboxName' in value
}
