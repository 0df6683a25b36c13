// FlowServiceClient: the broker's only way to talk to Flow Service's connections API.
// Single attempts (callers own retries), except one retry with a fresh token after a 401. Answers are checked before
// anyone acts on them: an answer about another id, an empty or unreadable 200, a 404 that is not Flow Service's own,
// never pass for data; and whatever text an error takes from an answer has the call's secrets redacted first.
import { randomUUID } from 'node:crypto'
import type { Tracer } from '@opentelemetry/api'
import { Pool, type Dispatcher } from 'undici'
import { pino, type Logger } from 'pino'
import {
  classifyFlowServiceFailure,
  FlowServiceError,
  isFlowServiceNotFound,
  unexpectedAnswer,
  type FlowServiceOperation
} from './flow-service-error.js'
import { ImsTokenSource } from './ims-token-source.js'
import { redactEchoes } from './redact-echoes.js'
import { currentRequestId } from '../tracing/request-scope.js'
import { sendRequest, type HttpAnswer } from './send-request.js'
import type { CreateConnectionBody, FlowConnection, JsonPatchOp } from './types.js'

/** What Flow Service answers to a create or an update: the id and the new etag, quotes included. */
export interface ConnectionRef {
  id: string
  /** Exactly as Flow Service sent it (`"\"1400dd53-...\""`); '' if it sent none. */
  etag: string
}

export interface CallOptions {
  /** Values this request carries that must never come back out (secret params): redacted from every error's text. */
  secrets?: readonly string[]
}

/** Fields Flow Service can sort a list by. */
export type ListOrderField = 'createdAt' | 'updatedAt' | 'name' | 'id' | 'state'

export interface ListConnectionsQuery {
  /** OR-ed into one `property=id==a,b,c`; an empty array matches nothing and makes no call. */
  ids?: string[]
  name?: string
  connectionSpecId?: string
  /** 1..100 (Flow Service's maximum). */
  limit?: number
  /** From a previous page; pass the same filters again with it. */
  continuationToken?: string
  /** `orderby=-createdAt` (descending) or `orderby=+name`. */
  orderBy?: { field: ListOrderField; descending?: boolean }
}

export interface ConnectionPage {
  items: FlowConnection[]
  continuationToken?: string
}

/**
 * Why an answer (or an item in it) was not trusted: other_id, duplicate_id, other_spec, other_name (items dropped);
 * empty_items, no_items, unparseable, malformed_item, gateway_404 (answers refused as a whole).
 */
export type UnexpectedAnswerReason =
  | 'other_id'
  | 'duplicate_id'
  | 'other_spec'
  | 'other_name'
  | 'empty_items'
  | 'no_items'
  | 'unparseable'
  | 'malformed_item'
  | 'gateway_404'
  | 'delete_not_204'

export interface FlowServiceClient {
  createConnection: (sandbox: string, body: CreateConnectionBody, options?: CallOptions) => Promise<ConnectionRef>
  /**
   * The connection with this id. null only on Flow Service's own 404; a 200 without an item of this id, or a 404
   * from a gateway, fails with kind 'retryable' and code UNEXPECTED_ANSWER. Items of other ids are ignored.
   */
  getConnection: (sandbox: string, id: string) => Promise<FlowConnection | null>
  /** Items that do not match the filters sent (ids, spec, name), and repeats of an id, are dropped. */
  listConnections: (sandbox: string, query: ListConnectionsQuery) => Promise<ConnectionPage>
  /**
   * `etag` goes into If-Match untouched; a stale one fails with kind 'precondition_failed'. An answer naming another
   * id fails with kind 'ambiguous' and code UNEXPECTED_ANSWER: the PATCH may or may not have been applied.
   */
  updateConnection: (
    sandbox: string,
    id: string,
    etag: string,
    ops: JsonPatchOp[],
    options?: CallOptions
  ) => Promise<ConnectionRef>
  /**
   * `etag` (required, non-empty: Flow Service's catalogue lists 1403-400 for deletes without one) is sent as If-Match.
   * 'not_found' only on Flow Service's own 404; a gateway's fails with kind 'retryable' and code UNEXPECTED_ANSWER.
   */
  deleteConnection: (sandbox: string, id: string, etag: string) => Promise<'deleted' | 'not_found'>
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
  /** Told of every answer, or item of an answer, that was not trusted (metrics). */
  onUnexpectedAnswer?: (operation: FlowServiceOperation, reason: UnexpectedAnswerReason) => void
  /** A client span per call (IMS token calls included), traceparent sent with it; absent when tracing is off. */
  tracer?: Tracer | undefined
}

interface CallSpec {
  operation: FlowServiceOperation
  method: 'GET' | 'POST' | 'PATCH' | 'DELETE'
  path: string
  sandbox: string
  headers?: Record<string, string>
  body?: unknown
  /** Removes the call's secrets from text taken from its answer; absent when it carries none. */
  redact?: (text: string) => string
}

type Answer = HttpAnswer & { requestId: string }

/** An item of a list answer that was dropped, and why. */
export interface DroppedItem {
  id: string
  reason: UnexpectedAnswerReason
}

const MAX_LIMIT = 100
/** Bounds on what a warning about dropped items logs: a confused upstream may send thousands. */
const MAX_LOGGED_IDS = 20
const MAX_LOGGED_ID_LENGTH = 100

export function createFlowServiceClient(options: FlowServiceClientOptions): FlowServiceClient {
  const base = new URL(options.url)
  const origin = base.origin
  const basePath = base.pathname.replace(/\/+$/, '')
  const logger = options.logger ?? pino({ level: 'silent' })
  const ownsDispatcher = options.dispatcher === undefined
  const dispatcher =
    options.dispatcher ??
    new Pool(origin, {
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
    ...(options.now !== undefined ? { now: options.now } : {}),
    tracer: options.tracer
  })
  let closed: Promise<void> | undefined

  async function send(spec: CallSpec, token: string): Promise<HttpAnswer & { requestId: string }> {
    // The id of the broker request this call serves, so Adobe's logs and ours meet; background work mints one a call.
    const requestId = currentRequestId() ?? randomUUID()
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
      requestId,
      ...(spec.redact !== undefined ? { redact: spec.redact } : {}),
      tracer: options.tracer
    })
    logger.debug(
      {
        flowService: {
          operation: spec.operation,
          method: spec.method,
          path: spec.path,
          sandbox: spec.sandbox,
          status: answer.status,
          ms: Math.round(performance.now() - startedAt),
          requestId
        }
      },
      'Flow Service call'
    )
    return { ...answer, requestId }
  }

  /** One call; a 401 means our token died early (revoked, rotated), so it is replaced and the call made once more. */
  async function call(spec: CallSpec): Promise<HttpAnswer & { requestId: string }> {
    if (closed !== undefined) throw new Error('FlowServiceClient is closed')
    if (spec.sandbox === '') throw new TypeError('sandbox name must not be empty')
    const token = await tokens.getToken()
    const first = await send(spec, token)
    if (first.status !== 401) return first
    logger.warn(
      { flowService: { operation: spec.operation, requestId: first.requestId } },
      'Flow Service answered 401; retrying once with a fresh token'
    )
    tokens.invalidate(token)
    return await send(spec, await tokens.getToken())
  }

  function failure(spec: CallSpec, answer: Answer, error?: unknown): Parameters<typeof classifyFlowServiceFailure>[0] {
    return {
      operation: spec.operation,
      response: answer,
      requestId: answer.requestId,
      ...(error !== undefined ? { error } : {}),
      ...(spec.redact !== undefined ? { redact: spec.redact } : {})
    }
  }

  function fail(spec: CallSpec, answer: Answer, error?: unknown): FlowServiceError {
    return classifyFlowServiceFailure(failure(spec, answer, error))
  }

  /** Counts and logs a read's answer refused as a whole, and builds its (retryable) error. */
  function refuse(spec: CallSpec, answer: Answer, reason: UnexpectedAnswerReason, why: string): FlowServiceError {
    options.onUnexpectedAnswer?.(spec.operation, reason)
    logger.warn(
      { flowService: { operation: spec.operation, reason, status: answer.status, requestId: answer.requestId } },
      `Flow Service answer not trusted: ${why}`
    )
    return unexpectedAnswer(failure(spec, answer), 'retryable', why)
  }

  /** Counts and logs items dropped from an answer; ids only, never the items. */
  function reportDropped(spec: CallSpec, answer: Answer, dropped: readonly DroppedItem[]): void {
    if (dropped.length === 0) return
    for (const { reason } of dropped) options.onUnexpectedAnswer?.(spec.operation, reason)
    const redact = spec.redact ?? ((text: string) => text)
    logger.warn(
      {
        flowService: {
          operation: spec.operation,
          requestId: answer.requestId,
          dropped: dropped
            .slice(0, MAX_LOGGED_IDS)
            .map(({ id, reason }) => ({ id: redact(id.slice(0, MAX_LOGGED_ID_LENGTH)), reason }))
        }
      },
      'Flow Service answered with items that do not match the request; ignored'
    )
  }

  function redactorFor(callOptions: CallOptions | undefined): Pick<CallSpec, 'redact'> {
    const secrets = callOptions?.secrets?.filter((secret) => typeof secret === 'string' && secret !== '') ?? []
    return secrets.length > 0 ? { redact: (text) => redactEchoes(text, secrets) } : {}
  }

  /** The items of a 200 to a GET, or the error to throw when it has none we can read. */
  function itemsOf(
    spec: CallSpec,
    answer: Answer
  ): { items: FlowConnection[]; json: Record<string, unknown> } | FlowServiceError {
    if (answer.body.trim() === '') return refuse(spec, answer, 'unparseable', 'a 200 with an empty body')
    const json = parseJson(answer.body)
    if (json === undefined) return refuse(spec, answer, 'unparseable', 'a 200 whose body is not JSON')
    if (!isRecord(json) || !Array.isArray(json.items))
      return refuse(spec, answer, 'no_items', 'a 200 without an items array')
    const items: unknown[] = json.items
    // Only the id is checked, because unknown states and fields must pass through.
    if (!items.every((item) => isRecord(item) && typeof item.id === 'string')) {
      return refuse(spec, answer, 'malformed_item', 'a 200 with an item that is not a connection with an id')
    }
    return { items: items as FlowConnection[], json }
  }

  function isSuccess(status: number): boolean {
    return status >= 200 && status < 300
  }

  /** A create's or update's answer: the id and etag. `expectedId`: the id patched, which the answer must name. */
  async function callForRef(spec: CallSpec, expectedId?: string): Promise<ConnectionRef> {
    const answer = await call(spec)
    if (!isSuccess(answer.status)) throw fail(spec, answer)
    const json = parseJson(answer.body)
    if (!isRecord(json) || typeof json.id !== 'string' || json.id === '') {
      throw fail(spec, answer, new Error('answer has no connection id'))
    }
    if (expectedId !== undefined && json.id !== expectedId) {
      reportDropped(spec, answer, [{ id: json.id, reason: 'other_id' }])
      // The PATCH went out and something answered 2xx: whether it was applied to our connection is unknown.
      throw unexpectedAnswer(failure(spec, answer), 'ambiguous', 'a 2xx naming another connection than the one patched')
    }
    return { id: json.id, etag: typeof json.etag === 'string' ? json.etag : '' }
  }

  /** A 404 proves nothing unless it is Flow Service's own "not found". */
  function unprovenNotFound(spec: CallSpec, answer: Answer): FlowServiceError {
    return refuse(
      spec,
      answer,
      'gateway_404',
      "a 404 without Flow Service's not-found body (a gateway or proxy answered?)"
    )
  }

  return {
    async createConnection(sandbox, body, callOptions) {
      return await callForRef({
        operation: 'createConnection',
        method: 'POST',
        path: '/connections',
        sandbox,
        body,
        ...redactorFor(callOptions)
      })
    },

    async getConnection(sandbox, id) {
      const spec: CallSpec = {
        operation: 'getConnection',
        method: 'GET',
        path: `/connections/${encodeURIComponent(id)}`,
        sandbox
      }
      const answer = await call(spec)
      if (answer.status === 404) {
        if (isFlowServiceNotFound(answer.body)) return null
        throw unprovenNotFound(spec, answer)
      }
      if (!isSuccess(answer.status)) throw fail(spec, answer)
      const read = itemsOf(spec, answer)
      if (read instanceof FlowServiceError) throw read
      if (read.items.length === 0) throw refuse(spec, answer, 'empty_items', 'a 200 with an empty items array')
      const found = read.items.find((item) => item.id === id)
      const dropped = read.items
        .filter((item) => item !== found)
        .map((item): DroppedItem => ({ id: item.id, reason: item.id === id ? 'duplicate_id' : 'other_id' }))
      reportDropped(spec, answer, dropped)
      if (found === undefined)
        throw unexpectedAnswer(
          failure(spec, answer),
          'retryable',
          'a 200 about other connections only, not the one asked'
        )
      return found
    },

    async listConnections(sandbox, query) {
      if (query.ids !== undefined && query.ids.length === 0) return { items: [] }
      const spec: CallSpec = {
        operation: 'listConnections',
        method: 'GET',
        path: `/connections?${listQueryString(query)}`,
        sandbox
      }
      const answer = await call(spec)
      if (!isSuccess(answer.status)) throw fail(spec, answer)
      const read = itemsOf(spec, answer)
      if (read instanceof FlowServiceError) throw read
      const { kept, dropped } = matchingItems(read.items, query)
      reportDropped(spec, answer, dropped)
      const continuationToken = nextContinuationToken(read.json, base)
      return { items: kept, ...(continuationToken !== undefined ? { continuationToken } : {}) }
    },

    async updateConnection(sandbox, id, etag, ops, callOptions) {
      return await callForRef(
        {
          operation: 'updateConnection',
          method: 'PATCH',
          path: `/connections/${encodeURIComponent(id)}`,
          sandbox,
          headers: { 'if-match': etag },
          body: ops,
          ...redactorFor(callOptions)
        },
        id
      )
    },

    async deleteConnection(sandbox, id, etag) {
      if (typeof etag !== 'string' || etag === '')
        throw new TypeError(
          "deleteConnection needs the connection's etag (Flow Service refuses a delete without If-Match)"
        )
      const spec: CallSpec = {
        operation: 'deleteConnection',
        method: 'DELETE',
        path: `/connections/${encodeURIComponent(id)}`,
        sandbox,
        headers: { 'if-match': etag }
      }
      const answer = await call(spec)
      if (answer.status === 404) {
        if (isFlowServiceNotFound(answer.body)) return 'not_found'
        throw unprovenNotFound(spec, answer)
      }
      if (!isSuccess(answer.status)) throw fail(spec, answer)
      // Flow Service answers a delete with 204 and nothing else; any other 2xx (an empty 200, an error page behind a
      // 200, a mock's example) proves nothing. A retry is safe: a delete that did land answers 404 then.
      if (answer.status !== 204)
        throw refuse(spec, answer, 'delete_not_204', `a ${answer.status} instead of Flow Service's 204`)
      return 'deleted'
    },

    async testConnection(sandbox, id) {
      const spec: CallSpec = {
        operation: 'testConnection',
        method: 'GET',
        path: `/connections/${encodeURIComponent(id)}/test`,
        sandbox
      }
      const answer = await call(spec)
      if (!isSuccess(answer.status)) throw fail(spec, answer)
      const json = parseJson(answer.body)
      if (!isRecord(json) || typeof json.result !== 'boolean')
        throw fail(spec, answer, new Error('answer has no boolean result'))
      return json.result
    },

    async ping() {
      // count=true proves token, gateway, entitlement and the connections service in one call without moving
      // any connection (and its secret references) over the wire.
      const spec: CallSpec = {
        operation: 'ping',
        method: 'GET',
        path: '/connections?count=true',
        sandbox: options.pingSandbox ?? 'prod'
      }
      const answer = await call(spec)
      if (!isSuccess(answer.status)) throw fail(spec, answer)
    },

    async close() {
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
export function listQueryString(query: ListConnectionsQuery): string {
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
  if (query.orderBy !== undefined)
    parts.push(`orderby=${query.orderBy.descending === true ? '-' : '+'}${query.orderBy.field}`)
  if (query.continuationToken !== undefined)
    parts.push(`continuationToken=${encodeURIComponent(query.continuationToken)}`)
  return parts.join('&')
}

/**
 * The items that match what was asked: of the ids asked, of the spec asked, with the name asked; the first of an id
 * seen twice. Flow Service filters on its side too; this is what makes a mistake there harmless.
 */
export function matchingItems(
  items: readonly FlowConnection[],
  query: ListConnectionsQuery
): { kept: FlowConnection[]; dropped: DroppedItem[] } {
  const ids = query.ids !== undefined ? new Set(query.ids) : undefined
  const seen = new Set<string>()
  const kept: FlowConnection[] = []
  const dropped: DroppedItem[] = []
  for (const item of items) {
    const reason: UnexpectedAnswerReason | undefined =
      ids !== undefined && !ids.has(item.id)
        ? 'other_id'
        : seen.has(item.id)
          ? 'duplicate_id'
          : query.connectionSpecId !== undefined && specIdOf(item) !== query.connectionSpecId
            ? 'other_spec'
            : query.name !== undefined && item.name !== query.name
              ? 'other_name'
              : undefined
    if (reason !== undefined) {
      dropped.push({ id: item.id, reason })
      continue
    }
    seen.add(item.id)
    kept.push(item)
  }
  return { kept, dropped }
}

function specIdOf(item: FlowConnection): unknown {
  const spec: unknown = item.connectionSpec
  return isRecord(spec) ? spec.id : undefined
}

/** The next page's token, read from `_links.next.href` (relative or absolute). */
function nextContinuationToken(json: unknown, base: URL): string | undefined {
  if (!isRecord(json) || !isRecord(json._links) || !isRecord(json._links.next)) return undefined
  const href = json._links.next.href
  if (typeof href !== 'string' || href === '') return undefined
  try {
    return new URL(href, base).searchParams.get('continuationToken') ?? undefined
  } catch {
    return undefined
  }
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text)
  } catch {
    return undefined
  }
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value)
}
