// Create: POST /v1/connections through the whole broker (validation, the pending row with its event and audit row,
// the secret written to the store, the Flow Service create against the zero-latency emulator, the initializing
// transition with its event and audit row) against a bare route doing the same INSERT plus one HTTP call to the
// same emulator. Target: ≥ 0.5× throughput.
import Fastify from 'fastify'
import { insertConnection } from '../src/connections/connection-repository.js'
import { createFlowServiceClient } from '../src/flow-service/flow-service-client.js'
import type { CreateConnectionBody } from '../src/flow-service/types.js'
import { testConnectionValues } from '../test/support/connection-rows.js'
import { SEED_BODIES } from '../test/support/seed-bodies.js'
import { BENCH_SECONDS, compare, comparisonFigures } from './support/compare.js'
import { checkTarget, print, round, writeResult } from './support/report.js'
import { databaseLabel, startBenchBroker } from './support/bench-broker.js'

const CONNECTIONS = 10

export async function createBench(): Promise<void> {
  print(`\n## create: POST /v1/connections vs a bare INSERT + one HTTP call — ${databaseLabel()}`)
  // Unpaced (FLOW_SERVICE_MAX_RPS=0): the budget would otherwise be the figure measured. No poller or reconciler:
  // only the request path is measured.
  const bench = await startBenchBroker({
    POLLER_ENABLED: 'false',
    RECONCILER_ENABLED: 'false',
    FLOW_SERVICE_MAX_RPS: '0'
  })
  const emulator = bench.broker.emulator
  if (emulator === undefined) throw new Error('the create bench needs the in-process emulator')
  const flow = createFlowServiceClient({
    url: emulator.flowServiceUrl,
    imsUrl: emulator.imsUrl,
    ...emulator.credentials,
    scopes: 'openid,AdobeID',
    timeoutMs: 10000
  })
  const bare = Fastify({ bodyLimit: 1024 * 1024 })
  try {
    const db = bench.broker.database.db
    bare.post<{ Body: CreateConnectionBody }>('/bare/connections', async (request, reply) => {
      const body = request.body
      const row = await insertConnection(
        db,
        testConnectionValues({ team: 'dev', name: body.name, state: 'pending', downstream_state: null })
      )
      const created = await flow.createConnection('prod', body)
      return await reply.code(201).send({ id: row.id, flowConnectionId: created.id })
    })
    const bareUrl = await bare.listen({ host: '127.0.0.1', port: 0 })
    const body = JSON.stringify(SEED_BODIES.salesforceBasicWithUrl)
    const json = { 'content-type': 'application/json' }

    const c = await compare({
      broker: bench.broker,
      baseline: {
        url: `${bareUrl}/bare/connections`,
        method: 'POST',
        headers: json,
        body,
        connections: CONNECTIONS,
        durationSeconds: BENCH_SECONDS
      },
      candidate: {
        url: `${bench.url}/v1/connections`,
        method: 'POST',
        headers: { ...json, authorization: `Bearer ${bench.key}`, 'x-sandbox-name': 'prod' },
        body,
        connections: CONNECTIONS,
        durationSeconds: BENCH_SECONDS
      }
    })
    const targets = [
      checkTarget(`throughput ≥ 0.5× the bare route (measured ${round(c.throughputRatio)}×)`, c.throughputRatio >= 0.5)
    ]
    await writeResult({
      name: 'create',
      database: databaseLabel(),
      figures: { connections: CONNECTIONS, ...comparisonFigures(c) },
      targets,
      notes: [
        'The emulator runs in the benchmark process with readyDelayMs 0; both routes call it. Local secret store (in the same database).',
        'FLOW_SERVICE_MAX_RPS=0 (unpaced), poller and reconciler off: the request path alone is measured.',
        'A create is a saga with durable steps: the pending row (with event and audit row) commits before the secret is written, the secret version commits before Flow Service is called, and the outcome commits after; the baseline commits once.'
      ]
    })
  } finally {
    await bare.close()
    await flow.close()
    await bench.close()
  }
}
