// /v1/connections: create, read, list, and state history.
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import type { ConnectionDeps } from '../../connections/connection-deps.js'
import { toConnectionResource } from '../../connections/connection-resource.js'
import { createConnection } from '../../connections/create/create-connection.js'
import { getConnection, getConnectionEvents, listConnectionPage } from '../../connections/read-connections.js'
import { requestContextOf } from '../authenticate.js'
import { problemResponse } from '../schemas/problem.js'
import { answer, ref } from '../schemas/components.js'
import {
  ConnectionEvents,
  ConnectionId,
  ConnectionPage,
  ConnectionResource,
  CreateConnectionHeaders,
  CreateConnectionRequest,
  CreatedConnection,
  ListConnectionsQuery
} from '../schemas/connections.js'

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
          201: answer(
            'Created: the connection (state initializing once Flow Service took it), secret params as references, and `notices` of what was corrected. Location names it; a replay of an Idempotency-Key answers the original again with `idempotent-replayed: true`.',
            CreatedConnection
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
      return await reply.code(201).send({ ...toConnectionResource(row, deps.secrets), notices })
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
        params: ConnectionId,
        response: { 200: answer('The connection; secret params as references.', ConnectionResource) }
      }
    },
    async (request) =>
      toConnectionResource(await getConnection(deps, requestContextOf(request), request.params.id), deps.secrets)
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
        response: { 200: answer('One page of connections, oldest first.', ConnectionPage) }
      }
    },
    async (request) => {
      const { items, nextCursor } = await listConnectionPage(deps, requestContextOf(request), request.query)
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
        params: ConnectionId,
        response: { 200: answer('Its state changes, oldest first.', ConnectionEvents) }
      }
    },
    async (request) => {
      const events = await getConnectionEvents(deps, requestContextOf(request), request.params.id)
      return {
        items: events.map((e) => ({
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
