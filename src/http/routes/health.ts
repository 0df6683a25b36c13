// Liveness (the process answers) and readiness (the database and the secret store answer). Flow Service's health
// is in the body and in /metrics, never a reason for unready: a load balancer would drop every replica at once
// while reads, look-ups and audit still work.
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { Type } from 'typebox'
import { checkDependencies, type DependencyChecks } from '../../health/check-dependencies.js'

export type ReadinessChecks = DependencyChecks

const CheckResult = Type.Object({
  ok: Type.Boolean(),
  required: Type.Boolean({ description: 'Whether readiness depends on it (false: reported only).' }),
  error: Type.Optional(
    Type.String({ description: 'Why it is not ok, e.g. "IMS refused the broker\'s credentials (invalid_client): …".' })
  )
})
const Readiness = Type.Object({
  ready: Type.Boolean({ description: 'Every required dependency answers.' }),
  checks: Type.Record(Type.String(), CheckResult, {
    description: 'database, secretStore (required), flowService (reported only).'
  })
})

export const healthRoutes: FastifyPluginAsyncTypebox<{ checks: ReadinessChecks }> = async (app, { checks }) => {
  app.get(
    '/health/live',
    {
      schema: {
        operationId: 'live',
        tags: ['health'],
        security: [],
        summary: 'The process is up',
        response: { 200: Type.Object({ live: Type.Boolean() }) }
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
        response: { 200: Readiness, 503: Readiness }
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
