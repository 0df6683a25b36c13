// Connection failures of the database are a 503 database_unavailable, whichever way pg reports them.
import Fastify, { type FastifyBaseLogger } from 'fastify'
import pino from 'pino'
import t from 'tap'
import { registerErrorHandling } from '../../src/http/error-handler.js'

const failures: Record<string, Error> = {
  // pg, on a client whose connection broke earlier (seen as a 500 in production).
  'client not queryable': new Error('Client has encountered a connection error and is not queryable'),
  'connection terminated': new Error('Connection terminated unexpectedly'),
  'admin shutdown': Object.assign(new Error('terminating connection due to administrator command'), { code: '57P01' }),
  refused: Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:5432'), { code: 'ECONNREFUSED' })
}

void t.test('each connection failure: 503 database_unavailable with Retry-After', async (t) => {
  const loggerInstance: FastifyBaseLogger = pino({ level: 'silent' })
  const app = Fastify({ loggerInstance })
  registerErrorHandling(app)
  app.get('/:name', async (request) => {
    throw failures[(request.params as { name: string }).name] ?? new Error('unknown')
  })
  t.teardown(async () => {
    await app.close()
  })
  for (const name of Object.keys(failures)) {
    const res = await app.inject({ method: 'GET', url: `/${encodeURIComponent(name)}` })
    t.equal(res.statusCode, 503, name)
    t.match(res.json(), { type: /database-unavailable$/, status: 503 }, name)
    t.equal(res.headers['retry-after'], '5', name)
  }
  t.equal((await app.inject({ method: 'GET', url: '/other' })).statusCode, 500, 'an unknown error is still a 500')
})
