// /v1/connection-specs: the catalogue, so callers can see what each source takes and what is secret.
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { describeCatalog } from '../../catalog/describe-catalog.js'
import { ConnectionSpecList } from '../schemas/catalogue.js'
import { answer } from '../schemas/components.js'

export const connectionSpecRoutes: FastifyPluginAsyncTypebox = async (app) => {
  const body = describeCatalog()
  app.get(
    '/v1/connection-specs',
    {
      config: { scope: 'any', action: 'catalog.read' },
      schema: {
        operationId: 'listConnectionSpecs',
        tags: ['catalogue'],
        summary: 'Sources, their auth specs and params (required, secret, format)',
        response: { 200: answer('The catalogue: every source, its auth specs and their params.', ConnectionSpecList) }
      }
    },
    async () => body
  )
}
