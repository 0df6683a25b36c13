// A typed client of the broker's /v1 connection API over openapi-fetch. Shapes come only from the generated types
// (schema.ts, `npm run openapi`); this file knows operation paths and methods, and what to do with their answers:
// unwrap the body, follow cursors, turn problems into BrokerProblemError.
import createClient, { type Client } from 'openapi-fetch'
import type { RequestBodyJSON, SuccessResponseJSON } from 'openapi-typescript-helpers'
import { BrokerProblemError, BrokerRequestError } from './broker-problem-error.js'
import type { paths } from './schema.js'

type Op<P extends keyof paths, M extends keyof paths[P]> = paths[P][M]

export type Connection = SuccessResponseJSON<Op<'/v1/connections/{id}', 'get'>>
/** A connection as a create or rotation answers it: with `notices` (what the broker corrected, and why). */
export type CreatedConnection = SuccessResponseJSON<Op<'/v1/connections', 'post'>>
export type CreateConnectionBody = RequestBodyJSON<Op<'/v1/connections', 'post'>>
type ListQuery = NonNullable<Op<'/v1/connections', 'get'>['parameters']['query']>
/** Filters of a listing; `limit` is the page size (the iterator follows every page whatever it is). */
export type ListConnectionsFilters = Partial<Omit<ListQuery, 'cursor'>>
export type ConnectionPage = SuccessResponseJSON<Op<'/v1/connections', 'get'>>
export type ConnectionEvent = SuccessResponseJSON<Op<'/v1/connections/{id}/events', 'get'>>['items'][number]
export type RenameConnectionBody = RequestBodyJSON<Op<'/v1/connections/{id}', 'patch'>>
export type CredentialParams = RequestBodyJSON<Op<'/v1/connections/{id}/credentials', 'put'>>['params']

export interface BrokerClientOptions {
  /** Where the broker listens, e.g. http://127.0.0.1:8080. */
  baseUrl: string
  /** A broker API key (`cbk_…`), sent as `Authorization: Bearer`. */
  apiKey: string
  /** A fetch to send requests with (default globalThis.fetch). */
  fetch?: (request: Request) => Promise<Response>
}

export interface CreateConnectionOptions {
  /**
   * Same key and same body within 24 h: the broker answers the original outcome instead of creating again. Default:
   * a random UUID, carried by any error this call throws, so a retry after a lost answer can reuse it.
   */
  idempotencyKey?: string
  /** The Flow Service sandbox (`x-sandbox-name`); default the broker's DEFAULT_SANDBOX_NAME. */
  sandboxName?: string
}

export interface BrokerClient {
  createConnection(body: CreateConnectionBody, options?: CreateConnectionOptions): Promise<CreatedConnection>
  getConnection(id: string): Promise<Connection>
  /** Every connection matching the filters, page after page (`nextCursor`), fetched as the loop asks for them. */
  listConnections(filters?: ListConnectionsFilters): AsyncGenerator<Connection, void, undefined>
  /** One page; pass the previous page's `nextCursor` as `cursor` for the next. */
  listConnectionPage(query?: ListConnectionsFilters & { cursor?: string }): Promise<ConnectionPage>
  /** The state history of one connection, oldest first (the broker answers it whole, in one page). */
  listEvents(id: string): Promise<ConnectionEvent[]>
  /** Replaces the credentials: the full params of the connection's auth spec, secret ones included. */
  rotateCredentials(id: string, params: CredentialParams): Promise<CreatedConnection>
  /** Changes the name and/or description (null or "" removes it), in the broker and in Flow Service. */
  renameConnection(id: string, change: RenameConnectionBody): Promise<Connection>
  /** Deletes the connection downstream and its credentials; deleting again is not an error. */
  deleteConnection(id: string): Promise<void>
  /** The underlying openapi-fetch client, typed for every route of the document (audit, specs, keys…). */
  readonly api: Client<paths>
}

export function createBrokerClient(options: BrokerClientOptions): BrokerClient {
  const api = createClient<paths>({
    baseUrl: options.baseUrl.replace(/\/+$/, ''),
    headers: { authorization: `Bearer ${options.apiKey}` },
    ...(options.fetch !== undefined ? { fetch: options.fetch } : {})
  })

  /** The body of a 2xx answer; a BrokerProblemError for any other; a BrokerRequestError when none came. */
  async function call<T>(
    operation: string,
    send: () => Promise<{ data?: T; error?: unknown; response: Response }>,
    idempotencyKey?: string
  ): Promise<T> {
    let result: { data?: T; error?: unknown; response: Response }
    try {
      result = await send()
    } catch (err) {
      throw new BrokerRequestError(operation, err, idempotencyKey)
    }
    if (!result.response.ok) throw new BrokerProblemError(operation, result.response, result.error, idempotencyKey)
    return result.data as T
  }

  const listConnectionPage: BrokerClient['listConnectionPage'] = async (query = {}) =>
    await call('listConnections', () => api.GET('/v1/connections', { params: { query: query as ListQuery } }))

  return {
    api,

    async createConnection(body, { idempotencyKey = globalThis.crypto.randomUUID(), sandboxName } = {}) {
      return await call(
        'createConnection',
        () =>
          api.POST('/v1/connections', {
            body,
            params: {
              header: {
                'idempotency-key': idempotencyKey,
                ...(sandboxName !== undefined ? { 'x-sandbox-name': sandboxName } : {})
              }
            }
          }),
        idempotencyKey
      )
    },

    async getConnection(id) {
      return await call('getConnection', () => api.GET('/v1/connections/{id}', { params: { path: { id } } }))
    },

    async *listConnections(filters = {}) {
      let cursor: string | undefined
      do {
        const page = await listConnectionPage({ ...filters, ...(cursor !== undefined ? { cursor } : {}) })
        yield* page.items
        cursor = page.nextCursor ?? undefined
      } while (cursor !== undefined)
    },

    listConnectionPage,

    async listEvents(id) {
      // The whole history, oldest first, following nextCursor across pages of the largest size the route takes.
      const events: ConnectionEvent[] = []
      let cursor: string | undefined
      do {
        const after = cursor
        const page = await call('listConnectionEvents', () =>
          api.GET('/v1/connections/{id}/events', {
            params: { path: { id }, query: { limit: 100, ...(after !== undefined ? { cursor: after } : {}) } }
          })
        )
        events.push(...page.items)
        cursor = page.nextCursor ?? undefined
      } while (cursor !== undefined)
      return events
    },

    async rotateCredentials(id, params) {
      return await call('rotateCredentials', () =>
        api.PUT('/v1/connections/{id}/credentials', { params: { path: { id } }, body: { params } })
      )
    },

    async renameConnection(id, change) {
      return await call('renameConnection', () =>
        api.PATCH('/v1/connections/{id}', { params: { path: { id } }, body: change })
      )
    },

    async deleteConnection(id) {
      await call('deleteConnection', () => api.DELETE('/v1/connections/{id}', { params: { path: { id } } }))
    }
  }
}
