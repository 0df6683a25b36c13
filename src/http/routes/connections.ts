// /v1/connections: create, read, list, and state history.
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { appendAudit, keyActor } from '../../audit/audit-log.js'
import type { ConnectionDeps } from '../../connections/connection-deps.js'
import { toConnectionResource } from '../../connections/connection-resource.js'
import { createConnection } from '../../connections/create-connection.js'
import { getConnection, getConnectionEvents, listConnectionPage } from '../../connections/read-connections.js'
import { callerOf } from '../authenticate.js'
import { listFilters } from '../list-filters.js'
import { commonProblems, problemResponse } from '../problem-schema.js'
import { ConnectionEvents, ConnectionId, ConnectionPage, CreateConnectionHeaders, CreateConnectionRequest, CreatedConnection, ListConnectionsQuery } from '../schemas.js'
import { ConnectionResource } from '../../connections/connection-resource.js'

export interface ConnectionRoutesOptions {
  deps: ConnectionDeps
  defaultSandboxName: string
}

export const connectionRoutes: FastifyPluginAsyncTypebox<ConnectionRoutesOptions> = async (app, { deps, defaultSandboxName }) => {
  app.post('/v1/connections', {
    config: { scope: 'connections:write', action: 'connection.create' },
    schema: {
      operationId: 'createConnection',
      tags: ['connections'],
      summary: 'Create a base connection from a Flow Service-shaped body',
      description: 'Validates the body against the catalogue, keeps secret params in the secret store, creates the base connection in Flow Service and starts following its state.',
      headers: CreateConnectionHeaders,
      body: CreateConnectionRequest,
      response: { 201: CreatedConnection, ...commonProblems, 409: problemResponse('Idempotency-Key in use by a request still running'), 413: problemResponse('Body over 1 MiB'), 415: problemResponse('Body is not application/json'), 422: problemResponse('Flow Service rejected the connection, or Idempotency-Key reused with another body') }
    }
  }, async (request, reply) => {
    const { row, notices, replayed } = await createConnection(deps, callerOf(request), {
      body: request.body,
      sandboxName: request.headers['x-sandbox-name'] ?? defaultSandboxName,
      requestId: request.id,
      idempotencyKey: request.headers['idempotency-key']
    })
    void reply.header('location', `/v1/connections/${row.id}`)
    if (replayed) void reply.header('idempotent-replayed', 'true')
    return await reply.code(201).send({ ...toConnectionResource(row, deps.secrets), notices })
  })

  app.get('/v1/connections/:id', {
    config: { scope: 'connections:read', action: 'connection.read' },
    schema: {
      operationId: 'getConnection',
      tags: ['connections'],
      summary: 'Read one connection by broker id',
      params: ConnectionId,
      response: { 200: ConnectionResource, ...commonProblems }
    }
  }, async (request) => {
    const caller = callerOf(request)
    const row = await getConnection(deps, caller, request.params.id)
    await appendAudit(deps.db, { actor: { kind: 'key', team: caller.team, keyId: caller.keyId }, action: 'connection.read', connectionId: row.id, requestId: request.id, outcome: 'success' })
    return toConnectionResource(row, deps.secrets)
  })

  app.get('/v1/connections', {
    config: { scope: 'connections:read', action: 'connection.list' },
    schema: {
      operationId: 'listConnections',
      tags: ['connections'],
      summary: 'Find connections by Flow Service id, name, spec, state or sandbox',
      querystring: ListConnectionsQuery,
      response: { 200: ConnectionPage, ...commonProblems }
    }
  }, async (request) => {
    const caller = callerOf(request)
    const { rows, nextCursor } = await listConnectionPage(deps, caller, request.query)
    await appendAudit(deps.db, { actor: keyActor(caller), action: 'connection.list', requestId: request.id, outcome: 'success', detail: { filters: listFilters(request.query), returned: rows.length } })
    return { items: rows.map((r) => toConnectionResource(r, deps.secrets)), nextCursor }
  })

  app.get('/v1/connections/:id/events', {
    config: { scope: 'connections:read', action: 'connection.events' },
    schema: {
      operationId: 'listConnectionEvents',
      tags: ['connections'],
      summary: 'State history of one connection, oldest first',
      params: ConnectionId,
      response: { 200: ConnectionEvents, ...commonProblems }
    }
  }, async (request) => {
    const caller = callerOf(request)
    const events = await getConnectionEvents(deps, caller, request.params.id)
    await appendAudit(deps.db, { actor: keyActor(caller), action: 'connection.events', connectionId: request.params.id, requestId: request.id, outcome: 'success' })
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
  })
}
