// /v1/api-keys (admin): issue a key (shown once), list keys (never the key), revoke one at once.
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { Type } from 'typebox'
import { issueApiKey, listApiKeyPage, revokeApiKey, type ApiKeyDeps } from '../../auth/api-key-admin.js'
import type { CallerCache } from '../../auth/caller-cache.js'
import { setNextLink } from '../next-link.js'
import { LinkHeader, withHeaders } from '../schemas/response-headers.js'
import { ApiKeyId, ApiKeyPage, CreateApiKeyRequest, CreatedApiKey, ListApiKeysQuery } from '../schemas/api-keys.js'
import { auditContextOf } from '../authenticate.js'
import { problemResponse } from '../schemas/problem.js'
import { answer, ref } from '../schemas/components.js'

export const apiKeyRoutes: FastifyPluginAsyncTypebox<{ deps: ApiKeyDeps; callers: CallerCache }> = async (
  app,
  { deps, callers }
) => {
  app.post(
    '/v1/api-keys',
    {
      config: { scope: 'admin', action: 'api_key.create' },
      schema: {
        operationId: 'createApiKey',
        tags: ['api-keys'],
        summary: 'Issue an API key for a team',
        description:
          'The answer holds the key, once: only its hash is kept. Audited as api_key.create (never the key). ' +
          'A team key may be limited to `sandboxes` and `connectionSpecs`; without them it acts in every sandbox and on every spec (the default). ' +
          "Outside its limits a key is refused as for another team's connection: 403 naming the sandbox or spec on create, 404 on reads and changes, absent from lists. " +
          'Admin keys take no team: they belong to the reserved team *admin*, which no other key can have.',
        body: ref(CreateApiKeyRequest),
        response: {
          201: answer('Issued: the key resource, with the key itself (shown this once).', CreatedApiKey),
          409: problemResponse('The team name differs from an existing team only in case')
        }
      }
    },
    async (request, reply) => {
      const created = await issueApiKey(deps, auditContextOf(request), request.body)
      void reply.header('location', `/v1/api-keys/${created.id}`)
      return await reply.code(201).send(created)
    }
  )

  app.get(
    '/v1/api-keys',
    {
      config: { scope: 'admin', action: 'api_key.list' },
      schema: {
        operationId: 'listApiKeys',
        tags: ['api-keys'],
        summary: 'List API keys, revoked ones included (never the key nor its hash)',
        querystring: ListApiKeysQuery,
        response: {
          200: withHeaders(answer('One page of API keys (never the key nor its hash).', ApiKeyPage), LinkHeader)
        }
      }
    },
    async (request, reply) => {
      const page = await listApiKeyPage(deps, auditContextOf(request), request.query)
      setNextLink(request, reply, page.nextCursor)
      return page
    }
  )

  app.delete(
    '/v1/api-keys/:id',
    {
      config: { scope: 'admin', action: 'api_key.revoke' },
      schema: {
        operationId: 'revokeApiKey',
        tags: ['api-keys'],
        summary: 'Revoke an API key; its next request is refused (401)',
        description: 'Idempotent: revoking a revoked key answers 204 again and changes nothing.',
        params: ApiKeyId,
        response: { 204: Type.Null({ description: 'Revoked (or already revoked)' }) }
      }
    },
    async (request, reply) => {
      await revokeApiKey(deps, auditContextOf(request), request.params.id)
      // Here at once; other replicas when the revocation's notification reaches them.
      callers.forgetKey(request.params.id)
      return await reply.code(204).send(null)
    }
  )
}
