// /v1/connections: create, read, list, and state history.
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { Type } from 'typebox'
import type { ConnectionDeps } from '../../connections/connection-deps.js'
import { toConnectionResource } from '../../connections/connection-resource.js'
import { createConnection } from '../../connections/create/create-connection.js'
import { getConnection, getConnectionEvents, listConnectionPage } from '../../connections/read-connections.js'
import { requestContextOf } from '../authenticate.js'
import { tagConnection } from '../conditional-requests.js'
import { setNextLink } from '../next-link.js'
import { EtagHeader, LinkHeader, withHeaders } from '../schemas/response-headers.js'
import { problemResponse } from '../schemas/problem.js'
import { answer, ref } from '../schemas/components.js'
import {
  ConnectionEvents,
  ConnectionEventsQuery,
  ConnectionId,
  ReadConnectionHeaders,
  ConnectionPage,
  ConnectionResource,
  CreateConnectionHeaders,
  CreateConnectionRequest,
  CreatedConnection,
  ListConnectionsQuery
} from '../schemas/connections.js'

/** Made once: serializers are cached per schema object, and route schemas are made again with every app. */
const NOT_MODIFIED = withHeaders(
  Type.Null({ description: 'Not modified: If-None-Match names the current ETag (no body)' }),
  EtagHeader
)

export interface ConnectionRoutesOptions {
  deps: ConnectionDeps
  defaultSandboxName: string
}

export const connectionRoutes: FastifyPluginAsyncTypebox<ConnectionRoutesOptions> = async (
  app,
  { deps, defaultSandboxName }
) => {
  app.post(
    '/v1/connections',
    {
      config: { scope: 'connections:write', action: 'connection.create' },
      schema: {
        operationId: 'createConnection',
        tags: ['connections'],
        summary: 'Create a base connection from a Flow Service-shaped body',
        description:
          'Validates the body against the catalogue, keeps secret params in the secret store, creates the base connection in Flow Service and starts following its state.',
        headers: CreateConnectionHeaders,
        body: ref(CreateConnectionRequest),
        response: {
          201: withHeaders(
            answer(
              'Created: the connection (state initializing once Flow Service took it), secret params as references, and `notices` of what was corrected. Location names it and ETag tags it; a replay of an Idempotency-Key answers the original again with `idempotent-replayed: true`.',
              CreatedConnection
            ),
            EtagHeader
          ),
          400: problemResponse(
            'Bad body: not JSON, an unknown connection spec or auth spec, or params that do not fit it (`errors` names each)'
          ),
          403: problemResponse(
            'The key lacks connections:write, or the sandbox or connection spec is outside its limits'
          ),
          409: problemResponse('Idempotency-Key in use by a request still running; see Retry-After'),
          422: problemResponse(
            'Flow Service rejected the connection (`downstream` carries its answer), or Idempotency-Key reused with another body'
          ),
          503: problemResponse(
            'Flow Service, the secret store or the database is unavailable; see Retry-After (a pending connection is named by `connectionId` and settled later)'
          )
        }
      }
    },
    async (request, reply) => {
      const { row, notices, replayed } = await createConnection(deps, requestContextOf(request), {
        body: request.body,
        sandboxName: request.headers['x-sandbox-name'] ?? defaultSandboxName,
        idempotencyKey: request.headers['idempotency-key']
      })
      void reply.header('location', `/v1/connections/${row.id}`)
      if (replayed) void reply.header('idempotent-replayed', 'true')
      const resource = toConnectionResource(row, deps.secrets)
      tagConnection(request, reply, resource)
      return await reply.code(201).send({ ...resource, notices })
    }
  )

  app.get(
    '/v1/connections/:id',
    {
      config: { scope: 'connections:read', action: 'connection.read' },
      schema: {
        operationId: 'getConnection',
        tags: ['connections'],
        summary: 'Read one connection by broker id',
        description:
          "Answers with the broker's own strong ETag of the connection resource (changes whenever a byte of this body would). With If-None-Match naming it: 304 without a body.",
        params: ConnectionId,
        headers: ReadConnectionHeaders,
        response: {
          200: withHeaders(answer('The connection; secret params as references.', ConnectionResource), EtagHeader),
          304: NOT_MODIFIED
        }
      }
    },
    async (request, reply) => {
      const resource = toConnectionResource(
        await getConnection(deps, requestContextOf(request), request.params.id),
        deps.secrets
      )
      if (tagConnection(request, reply, resource)) return await reply.code(304).send(null)
      return resource
    }
  )

  app.get(
    '/v1/connections',
    {
      config: { scope: 'connections:read', action: 'connection.list' },
      schema: {
        operationId: 'listConnections',
        tags: ['connections'],
        summary: 'Find connections by Flow Service id, name, spec, state or sandbox',
        querystring: ListConnectionsQuery,
        response: { 200: withHeaders(answer('One page of connections, oldest first.', ConnectionPage), LinkHeader) }
      }
    },
    async (request, reply) => {
      const { items, nextCursor } = await listConnectionPage(deps, requestContextOf(request), request.query)
      setNextLink(request, reply, nextCursor)
      return { items: items.map((r) => toConnectionResource(r, deps.secrets)), nextCursor }
    }
  )

  app.get(
    '/v1/connections/:id/events',
    {
      config: { scope: 'connections:read', action: 'connection.events' },
      schema: {
        operationId: 'listConnectionEvents',
        tags: ['connections'],
        summary: 'State history of one connection, oldest first',
        description: 'Paged like the connection list: `limit` and the opaque `cursor` of the previous page.',
        params: ConnectionId,
        querystring: ConnectionEventsQuery,
        response: {
          200: withHeaders(answer('Its state changes, oldest first, one page.', ConnectionEvents), LinkHeader)
        }
      }
    },
    async (request, reply) => {
      const { items, nextCursor } = await getConnectionEvents(
        deps,
        requestContextOf(request),
        request.params.id,
        request.query
      )
      setNextLink(request, reply, nextCursor)
      return {
        nextCursor,
        items: items.map((e) => ({
          id: e.id,
          from: e.from_state,
          to: e.to_state,
          reason: e.reason,
          downstreamState: e.downstream_state,
          observedAt: e.observed_at.toISOString(),
          observedBy: e.observed_by,
          requestId: e.request_id
        }))
      }
    }
  )
}
