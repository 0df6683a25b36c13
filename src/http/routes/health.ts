// Liveness (the process answers) and readiness (database, secret store and Flow Service all answer).
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { Type } from 'typebox'

export interface ReadinessChecks {
  [name: string]: () => Promise<void>
}

const CheckResult = Type.Object({ ok: Type.Boolean(), error: Type.Optional(Type.String()) })
const Readiness = Type.Object({ ready: Type.Boolean(), checks: Type.Record(Type.String(), CheckResult) })

const CHECK_TIMEOUT_MS = 2000

interface CheckOutcome { ok: boolean, error?: string }

export const healthRoutes: FastifyPluginAsyncTypebox<{ checks: ReadinessChecks }> = async (app, { checks }) => {
  app.get('/health/live', {
    schema: { operationId: 'live', tags: ['health'], security: [], summary: 'The process is up', response: { 200: Type.Object({ live: Type.Boolean() }) } }
  }, async () => ({ live: true }))

  app.get('/health/ready', {
    schema: { operationId: 'ready', tags: ['health'], security: [], summary: 'Database, secret store and Flow Service answer', response: { 200: Readiness, 503: Readiness } }
  }, async (request, reply) => {
    const entries = await Promise.all(Object.entries(checks).map(async ([name, check]): Promise<readonly [string, CheckOutcome]> => {
      try {
        await withTimeout(check(), CHECK_TIMEOUT_MS)
        return [name, { ok: true }] as const
      } catch (err) {
        request.log.warn({ err, check: name }, 'readiness check failed')
        // The error's class and code only: messages from clients can carry URLs with credentials.
        const e = err as { name?: string, code?: unknown }
        const error: string = `${e.name ?? 'Error'}${typeof e.code === 'string' ? ` (${e.code})` : ''}`
        return [name, { ok: false, error }] as const
      }
    }))
    const ready = entries.every(([, r]) => r.ok)
    return await reply.code(ready ? 200 : 503).send({ ready, checks: Object.fromEntries(entries) })
  })
}

async function withTimeout (work: Promise<void>, ms: number): Promise<void> {
  let timer: NodeJS.Timeout | undefined
  const timeout = new Promise<never>((_resolve, reject) => {
    timer = setTimeout(() => { reject(Object.assign(new Error('timed out'), { name: 'Timeout' })) }, ms)
  })
  try {
    await Promise.race([work, timeout])
  } finally {
    clearTimeout(timer)
  }
}
