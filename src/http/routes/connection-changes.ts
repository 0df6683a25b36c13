// /v1/connections/{id}: rename (PATCH), credential rotation (PUT .../credentials) and delete.
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { Type } from 'typebox'
import type { ConnectionDeps } from '../../connections/connection-deps.js'
import { toConnectionResource } from '../../connections/connection-resource.js'
import { deleteConnection } from '../../connections/change/delete-connection.js'
import { renameConnection } from '../../connections/change/rename-connection.js'
import { rotateCredentials } from '../../connections/change/rotate-credentials.js'
import { requestContextOf } from '../authenticate.js'
import { ifMatchOf, tagConnection } from '../conditional-requests.js'
import { EtagHeader, withHeaders } from '../schemas/response-headers.js'
import { RenameConnectionRequest, RotateCredentialsRequest } from '../schemas/connection-changes.js'
import { problemResponse } from '../schemas/problem.js'
import { ChangeConnectionHeaders, ConnectionId, ConnectionResource, CreatedConnection } from '../schemas/connections.js'
import { answer, ref } from '../schemas/components.js'

const changeProblems = {
  409: problemResponse(
    'Still being created or initializing in Flow Service (see Retry-After), another change in progress, or the connection is deleted/failed'
  ),
  412: problemResponse(
    'If-Match does not name the current ETag (the connection changed since it was read), or is not an entity tag: nothing was changed; the problem carries the current `etag`, `state` and `updatedAt`'
  ),
  422: problemResponse('Flow Service refused the change; `downstream` carries its code and message'),
  503: problemResponse(
    'Flow Service, the secret store or the database is unavailable; see Retry-After (nothing changed, or the change is settled later)'
  )
}

export const connectionChangeRoutes: FastifyPluginAsyncTypebox<{ deps: ConnectionDeps }> = async (app, { deps }) => {
  app.patch(
    '/v1/connections/:id',
    {
      config: { scope: 'connections:write', action: 'connection.rename' },
      schema: {
        operationId: 'renameConnection',
        tags: ['connections'],
        summary: 'Rename a connection, or change its description',
        description:
          "Changes the name and/or description in Flow Service (PATCH with If-Match), then in the broker. With If-Match (the broker's ETag of the connection), only while the connection is unchanged since: otherwise 412 and nothing changes; the tag is compared in the transaction that starts the change, so of two requests with the same tag one at most succeeds. The answer carries the new ETag. Waits within the request budget while Flow Service still initializes the connection; otherwise 409 with Retry-After.",
        params: ConnectionId,
        headers: ChangeConnectionHeaders,
        body: ref(RenameConnectionRequest),
        response: {
          200: withHeaders(answer('Renamed: the connection as it is now.', ConnectionResource), EtagHeader),
          ...changeProblems
        }
      }
    },
    async (request, reply) => {
      const row = await renameConnection(deps, requestContextOf(request), {
        id: request.params.id,
        ...request.body,
        ifMatch: ifMatchOf(request)
      })
      const resource = toConnectionResource(row, deps.secrets)
      tagConnection(request, reply, resource)
      return resource
    }
  )

  app.put(
    '/v1/connections/:id/credentials',
    {
      config: { scope: 'connections:write', action: 'connection.rotate' },
      schema: {
        operationId: 'rotateCredentials',
        tags: ['connections'],
        summary: "Replace a connection's credentials",
        description:
          "Checks the params against the connection's auth spec, writes them as a new secret version (check-and-set), and sends them to Flow Service (PATCH /auth/params with If-Match). The new version becomes live only once Flow Service took it; if it did not, the previous credentials stay live everywhere. If-Match and the ETag of the answer are the connection's (GET /v1/connections/{id}), as on PATCH.",
        params: ConnectionId,
        headers: ChangeConnectionHeaders,
        body: ref(RotateCredentialsRequest),
        response: {
          200: withHeaders(
            answer(
              'Rotated: Flow Service holds the new credentials and the new secret version is live; `notices` as for a create.',
              CreatedConnection
            ),
            EtagHeader
          ),
          ...changeProblems
        }
      }
    },
    async (request, reply) => {
      const { row, notices } = await rotateCredentials(deps, requestContextOf(request), {
        id: request.params.id,
        params: request.body.params,
        ifMatch: ifMatchOf(request)
      })
      const resource = toConnectionResource(row, deps.secrets)
      tagConnection(request, reply, resource)
      return { ...resource, notices }
    }
  )

  app.delete(
    '/v1/connections/:id',
    {
      config: { scope: 'connections:write', action: 'connection.delete' },
      schema: {
        operationId: 'deleteConnection',
        tags: ['connections'],
        summary: 'Delete a connection in Flow Service and its credentials',
        description:
          'Deletes the base connection in Flow Service (already gone there counts as done), destroys its secret, and records the connection as deleted; it stays readable with its history. Deleting a deleted (or failed) connection answers 204 again. With If-Match, only while the connection still has that ETag (else 412).',
        params: ConnectionId,
        headers: ChangeConnectionHeaders,
        response: { 204: Type.Null({ description: 'Deleted (or nothing left to delete)' }), ...changeProblems }
      }
    },
    async (request, reply) => {
      await deleteConnection(deps, requestContextOf(request), request.params.id, ifMatchOf(request))
      return await reply.code(204).send(null)
    }
  )
}
