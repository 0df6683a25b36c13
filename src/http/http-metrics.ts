// Request metrics: latency by method, route pattern (never the raw URL, whose ids would explode the label set)
// and status; and the request's state transitions counted into this broker's metrics.
import type { FastifyInstance } from 'fastify'
import { runWithTransitionListener } from '../connections/transition-listener.js'
import type { BrokerMetrics } from '../metrics/broker-metrics.js'
import { transitionCounter } from '../metrics/transition-counter.js'

export function registerHttpMetrics (app: FastifyInstance, metrics: BrokerMetrics): void {
  const countTransitions = transitionCounter(metrics)
  // preHandler, not onRequest: the body is read by then, and reading it would leave the context behind. The
  // callback form runs the handler inside the context, and with it every transition it writes.
  app.addHook('preHandler', (_request, _reply, done) => { runWithTransitionListener(countTransitions, done) })
  app.addHook('onResponse', async (request, reply) => {
    metrics.httpDuration.observe({
      method: request.method,
      route: request.routeOptions.url ?? 'unmatched',
      status: String(reply.statusCode)
    }, reply.elapsedTime / 1000)
  })
}
