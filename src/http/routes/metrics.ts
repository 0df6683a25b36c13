// GET /metrics: Prometheus text exposition of this replica's metrics. Open, or behind any valid API key when
// METRICS_REQUIRE_KEY is set. Left out of the OpenAPI document: it is for the scraper, not for API callers.
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import type { Registry } from 'prom-client'
import { Type } from 'typebox'

export interface MetricsRouteOptions {
  registry: Registry
  requireKey: boolean
}

export const metricsRoutes: FastifyPluginAsyncTypebox<MetricsRouteOptions> = async (app, { registry, requireKey }) => {
  app.get(
    '/metrics',
    {
      config: requireKey ? { scope: 'any', action: 'metrics.read' } : {},
      schema: {
        hide: true,
        operationId: 'metrics',
        tags: ['health'],
        summary: 'Prometheus metrics of this replica',
        response: {
          200: { description: 'Prometheus text format 0.0.4', content: { 'text/plain': { schema: Type.String() } } }
        }
      }
    },
    async (_request, reply) => {
      const body = await registry.metrics()
      return await reply.type(registry.contentType).send(body)
    }
  )
}
