// Liveness (the process answers) and readiness (the database and the secret store answer). Flow Service's health
// is in the body and in /metrics, never a reason for unready: a load balancer would drop every replica at once
// while reads, look-ups and audit still work.
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { checkDependencies, type DependencyChecks } from '../../health/check-dependencies.js'
import { answer } from '../schemas/components.js'
import { Liveness, Readiness } from '../schemas/health.js'

export type ReadinessChecks = DependencyChecks

export const healthRoutes: FastifyPluginAsyncTypebox<{ checks: ReadinessChecks }> = async (app, { checks }) => {
  app.get(
    '/health/live',
    {
      schema: {
        operationId: 'live',
        tags: ['health'],
        security: [],
        summary: 'The process is up',
        response: { 200: answer('The process is up.', Liveness) }
      }
    },
    async () => ({ live: true })
  )

  app.get(
    '/health/ready',
    {
      schema: {
        operationId: 'ready',
        tags: ['health'],
        security: [],
        summary: 'The database and the secret store answer (Flow Service is reported, not required)',
        response: {
          200: answer('Ready: the database and the secret store answer.', Readiness),
          503: answer('Not ready: the database or the secret store does not answer (see checks).', Readiness)
        }
      }
    },
    async (request, reply) => {
      const results = await checkDependencies(checks, (name, err) => {
        request.log.warn({ err, check: name }, 'readiness check failed')
      })
      const ready = Object.values(results).every((r) => r.ok || !r.required)
      return await reply.code(ready ? 200 : 503).send({ ready, checks: results })
    }
  )
}
