// Request metrics: latency by method, route pattern (never the raw URL, whose ids would explode the label set)
// and status. (The transitions requests write are counted by the listener the use cases are given.)
import type { FastifyInstance } from 'fastify'
import type { BrokerMetrics } from '../metrics/broker-metrics.js'

export function registerHttpMetrics(app: FastifyInstance, metrics: BrokerMetrics): void {
  app.addHook('onResponse', async (request, reply) => {
    metrics.httpDuration.observe(
      {
        method: request.method,
        route: request.routeOptions.url ?? 'unmatched',
        status: String(reply.statusCode)
      },
      reply.elapsedTime / 1000
    )
  })
}
