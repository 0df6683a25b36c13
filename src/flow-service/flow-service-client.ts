// FlowServiceClient: the broker's only way to talk to Flow Service's connections API.
// Single attempts (callers own retries), except one retry with a fresh token after a 401.
import { randomUUID } from 'node:crypto'
import { Pool, type Dispatcher } from 'undici'
import { pino, type Logger } from 'pino'
import { classifyFlowServiceFailure, FlowServiceError, type FlowServiceOperation } from './flow-service-error.js'
import { ImsTokenSource } from './ims-token-source.js'
import { sendRequest, type HttpAnswer } from './send-request.js'
import type { CreateConnectionBody, FlowConnection, JsonPatchOp } from './types.js'

/** What Flow Service answers to a create or an update: the id and the new etag, quotes included. */
export interface ConnectionRef {
  id: string
  /** Exactly as Flow Service sent it (`"\"1400dd53-...\""`); '' if it sent none. */
  etag: string
}

export interface ListConnectionsQuery {
  /** OR-ed into one `property=id==a,b,c`; an empty array matches nothing and makes no call. */
  ids?: string[]
  name?: string
  connectionSpecId?: string
  /** 1..100 (Flow Service's maximum). */
  limit?: number
  /** From a previous page; pass the same filters again with it. */
  continuationToken?: string
}

export interface ConnectionPage {
  items: FlowConnection[]
  continuationToken?: string
}

export interface FlowServiceClient {
  createConnection: (sandbox: string, body: CreateConnectionBody) => Promise<ConnectionRef>
  /** null when Flow Service has no such connection (404, or an empty `items`). */
  getConnection: (sandbox: string, id: string) => Promise<FlowConnection | null>
  listConnections: (sandbox: string, query: ListConnectionsQuery) => Promise<ConnectionPage>
  /** `etag` goes into If-Match untouched; a stale one fails with kind 'precondition_failed'. */
  updateConnection: (sandbox: string, id: string, etag: string, ops: JsonPatchOp[]) => Promise<ConnectionRef>
  /** `etag`, when given, is sent as If-Match (Flow Service's catalogue lists 1403-400 for deletes without one). */
  deleteConnection: (sandbox: string, id: string, etag?: string) => Promise<'deleted' | 'not_found'>
  testConnection: (sandbox: string, id: string) => Promise<boolean>
  /** Readiness: a token can be obtained and Flow Service answers `GET /connections?count=true`. */
  ping: () => Promise<void>
  close: () => Promise<void>
}

export interface FlowServiceClientOptions {
  /** Base URL including its path, e.g. https://platform.adobe.io/data/foundation/flowservice. */
  url: string
  imsUrl: string
  clientId: string
  clientSecret: string
  scopes: string
  orgId: string
  /** Bound on connecting, on waiting for headers, and on each gap while reading a body. */
  timeoutMs: number
  logger?: Pick<Logger, 'debug' | 'info' | 'warn'>
  /** Replaces both of our pools (Flow Service and IMS); whoever passes it closes it. */
  dispatcher?: Dispatcher
  /** Sandbox for ping(); count=true needs one like every call. Default 'prod'. */
  pingSandbox?: string
  /** Wall clock for the token cache; tests pass a fake one. */
  now?: () => number
}

interface CallSpec {
  operation: FlowServiceOperation
  method: 'GET' | 'POST' | 'PATCH' | 'DELETE'
  path: string
  sandbox: string
  headers?: Record<string, string>
  body?: unknown
}

const MAX_LIMIT = 100

export function createFlowServiceClient (options: FlowServiceClientOptions): FlowServiceClient {
  const base = new URL(options.url)
  const origin = base.origin
  const basePath = base.pathname.replace(/\/+$/, '')
  const logger = options.logger ?? pino({ level: 'silent' })
  const ownsDispatcher = options.dispatcher === undefined
  const dispatcher = options.dispatcher ?? new Pool(origin, {
    connect: { timeout: options.timeoutMs },
    headersTimeout: options.timeoutMs,
    bodyTimeout: options.timeoutMs
  })
  const tokens = new ImsTokenSource({
    imsUrl: options.imsUrl,
    clientId: options.clientId,
    clientSecret: options.clientSecret,
    scopes: options.scopes,
    timeoutMs: options.timeoutMs,
    logger,
    ...(options.dispatcher !== undefined ? { dispatcher: options.dispatcher } : {}),
    ...(options.now !== undefined ? { now: options.now } : {})
  })
  let closed: Promise<void> | undefined

  async function send (spec: CallSpec, token: string): Promise<HttpAnswer & { requestId: string }> {
    const requestId = randomUUID()
    const headers: Record<string, string> = {
      authorization: `Bearer ${token}`,
      'x-api-key': options.clientId,
      'x-gw-ims-org-id': options.orgId,
      'x-sandbox-name': spec.sandbox,
      accept: 'application/json',
      ...spec.headers
    }
    if (spec.body !== undefined) headers['content-type'] = 'application/json'
    const startedAt = performance.now()
    const answer = await sendRequest(dispatcher, {
      operation: spec.operation,
      origin,
      path: basePath + spec.path,
      method: spec.method,
      headers,
      ...(spec.body !== undefined ? { body: JSON.stringify(spec.body) } : {}),
      timeoutMs: options.timeoutMs,
      requestId
    })
    logger.debug({
      flowService: { operation: spec.operation, method: spec.method, path: spec.path, sandbox: spec.sandbox, status: answer.status, ms: Math.round(performance.now() - startedAt), requestId }
    }, 'Flow Service call')
    return { ...answer, requestId }
  }

  /** One call; a 401 means our token died early (revoked, rotated), so it is replaced and the call made once more. */
  async function call (spec: CallSpec): Promise<HttpAnswer & { requestId: string }> {
    if (closed !== undefined) throw new Error('FlowServiceClient is closed')
    if (spec.sandbox === '') throw new TypeError('sandbox name must not be empty')
    const token = await tokens.getToken()
    const first = await send(spec, token)
    if (first.status !== 401) return first
    logger.warn({ flowService: { operation: spec.operation, requestId: first.requestId } }, 'Flow Service answered 401; retrying once with a fresh token')
    tokens.invalidate(token)
    return await send(spec, await tokens.getToken())
  }

  function fail (spec: CallSpec, answer: HttpAnswer & { requestId: string }, error?: unknown): FlowServiceError {
    return classifyFlowServiceFailure({
      operation: spec.operation,
      response: answer,
      requestId: answer.requestId,
      ...(error !== undefined ? { error } : {})
    })
  }

  function isSuccess (status: number): boolean {
    return status >= 200 && status < 300
  }

  async function callForRef (spec: CallSpec): Promise<ConnectionRef> {
    const answer = await call(spec)
    if (!isSuccess(answer.status)) throw fail(spec, answer)
    const json = parseJson(answer.body)
    if (!isRecord(json) || typeof json.id !== 'string' || json.id === '') {
      throw fail(spec, answer, new Error('answer has no connection id'))
    }
    return { id: json.id, etag: typeof json.etag === 'string' ? json.etag : '' }
  }

  return {
    async createConnection (sandbox, body) {
      return await callForRef({ operation: 'createConnection', method: 'POST', path: '/connections', sandbox, body })
    },

    async getConnection (sandbox, id) {
      const spec: CallSpec = { operation: 'getConnection', method: 'GET', path: `/connections/${encodeURIComponent(id)}`, sandbox }
      const answer = await call(spec)
      if (answer.status === 404) return null
      if (!isSuccess(answer.status)) throw fail(spec, answer)
      const items = itemsOf(parseJson(answer.body))
      if (items === undefined) throw fail(spec, answer, new Error('answer has no items array'))
      return items[0] ?? null
    },

    async listConnections (sandbox, query) {
      if (query.ids !== undefined && query.ids.length === 0) return { items: [] }
      const spec: CallSpec = { operation: 'listConnections', method: 'GET', path: `/connections?${listQueryString(query)}`, sandbox }
      const answer = await call(spec)
      if (!isSuccess(answer.status)) throw fail(spec, answer)
      const json = parseJson(answer.body)
      const items = itemsOf(json)
      if (items === undefined) throw fail(spec, answer, new Error('answer has no items array'))
      const continuationToken = nextContinuationToken(json, base)
      return { items, ...(continuationToken !== undefined ? { continuationToken } : {}) }
    },

    async updateConnection (sandbox, id, etag, ops) {
      return await callForRef({
        operation: 'updateConnection',
        method: 'PATCH',
        path: `/connections/${encodeURIComponent(id)}`,
        sandbox,
        headers: { 'if-match': etag },
        body: ops
      })
    },

    async deleteConnection (sandbox, id, etag) {
      const spec: CallSpec = {
        operation: 'deleteConnection',
        method: 'DELETE',
        path: `/connections/${encodeURIComponent(id)}`,
        sandbox,
        ...(etag !== undefined ? { headers: { 'if-match': etag } } : {})
      }
      const answer = await call(spec)
      if (answer.status === 404) return 'not_found'
      if (!isSuccess(answer.status)) throw fail(spec, answer)
      return 'deleted'
    },

    async testConnection (sandbox, id) {
      const spec: CallSpec = { operation: 'testConnection', method: 'GET', path: `/connections/${encodeURIComponent(id)}/test`, sandbox }
      const answer = await call(spec)
      if (!isSuccess(answer.status)) throw fail(spec, answer)
      const json = parseJson(answer.body)
      if (!isRecord(json) || typeof json.result !== 'boolean') throw fail(spec, answer, new Error('answer has no boolean result'))
      return json.result
    },

    async ping () {
      // count=true proves token, gateway, entitlement and the connections service in one call without moving
      // any connection (and its secret references) over the wire.
      const spec: CallSpec = { operation: 'ping', method: 'GET', path: '/connections?count=true', sandbox: options.pingSandbox ?? 'prod' }
      const answer = await call(spec)
      if (!isSuccess(answer.status)) throw fail(spec, answer)
    },

    async close () {
      closed ??= (async () => {
        await tokens.close()
        if (ownsDispatcher) await dispatcher.close()
      })()
      await closed
    }
  }
}

/**
 * Builds `property=id==a,b&property=name==x&limit=n&continuationToken=t`. The `==` and `,` operators stay literal as
 * in Adobe's docs; values are percent-encoded, so a comma inside a name cannot split it into two alternatives here.
 */
export function listQueryString (query: ListConnectionsQuery): string {
  const parts: string[] = []
  const property = (field: string, values: string[]): void => {
    parts.push(`property=${field}==${values.map(encodeURIComponent).join(',')}`)
  }
  if (query.ids !== undefined) property('id', query.ids)
  if (query.name !== undefined) property('name', [query.name])
  if (query.connectionSpecId !== undefined) property('connectionSpec.id', [query.connectionSpecId])
  if (query.limit !== undefined) {
    if (!Number.isInteger(query.limit) || query.limit < 1 || query.limit > MAX_LIMIT) {
      throw new RangeError(`limit must be an integer from 1 to ${MAX_LIMIT}, got ${query.limit}`)
    }
    parts.push(`limit=${query.limit}`)
  }
  if (query.continuationToken !== undefined) parts.push(`continuationToken=${encodeURIComponent(query.continuationToken)}`)
  return parts.join('&')
}

/** The next page's token, read from `_links.next.href` (relative or absolute). */
function nextContinuationToken (json: unknown, base: URL): string | undefined {
  if (!isRecord(json) || !isRecord(json._links) || !isRecord(json._links.next)) return undefined
  const href = json._links.next.href
  if (typeof href !== 'string' || href === '') return undefined
  try {
    return new URL(href, base).searchParams.get('continuationToken') ?? undefined
  } catch {
    return undefined
  }
}

/** Items as Flow Service sent them; only the id is checked, because unknown states and fields must pass through. */
function itemsOf (json: unknown): FlowConnection[] | undefined {
  if (!isRecord(json) || !Array.isArray(json.items)) return undefined
  const items: unknown[] = json.items
  if (!items.every((item) => isRecord(item) && typeof item.id === 'string')) return undefined
  return items as FlowConnection[]
}

function parseJson (text: string): unknown {
  try {
    return JSON.parse(text)
  } catch {
    return undefined
  }
}

function isRecord (value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value)
}
