// Lookup: GET /v1/connections/{id} through the whole broker (key check, team scope, the audit row of the read)
// against a bare Fastify route in the same process running the same indexed query. Targets: ≥ 0.8× throughput,
// p99 ≤ 2×.
import Fastify from 'fastify'
import { findConnection } from '../src/connections/connection-repository.js'
import { testConnectionValues } from '../test/support/connection-rows.js'
import { BENCH_SECONDS, compare, comparisonFigures } from './support/compare.js'
import { checkTarget, print, round, writeResult } from './support/report.js'
import { databaseLabel, startBenchBroker } from './support/bench-broker.js'

const ROWS = 10_000
const CONNECTIONS = 10

export async function lookupBench(): Promise<void> {
  print(`\n## lookup: GET /v1/connections/{id} vs a bare route with the same query — ${databaseLabel()}`)
  // OTEL_EXPORTER_OTLP_ENDPOINT=… npm run bench -- lookup: the same figures with tracing on, to compare with off.
  const tracing = process.env.OTEL_EXPORTER_OTLP_ENDPOINT
  const bench = await startBenchBroker({
    POLLER_ENABLED: 'false',
    RECONCILER_ENABLED: 'false',
    ...(tracing !== undefined && tracing !== '' ? { OTEL_EXPORTER_OTLP_ENDPOINT: tracing } : {})
  })
  const bare = Fastify()
  try {
    const db = bench.broker.database.db
    const rows = Array.from({ length: ROWS }, (_, i) =>
      testConnectionValues({ team: 'dev', flow_connection_id: `flow-${i}` })
    )
    for (let i = 0; i < rows.length; i += 1000)
      await db
        .insertInto('connections')
        .values(rows.slice(i, i + 1000))
        .execute()
    const id = rows[ROWS / 2]?.id ?? ''

    bare.get<{ Params: { id: string } }>('/bare/connections/:id', async (request, reply) => {
      const row = await findConnection(db, request.params.id, 'dev')
      if (row === undefined) return await reply.code(404).send()
      return row
    })
    const bareUrl = await bare.listen({ host: '127.0.0.1', port: 0 })

    const c = await compare({
      broker: bench.broker,
      baseline: { url: `${bareUrl}/bare/connections/${id}`, connections: CONNECTIONS, durationSeconds: BENCH_SECONDS },
      candidate: {
        url: `${bench.url}/v1/connections/${id}`,
        headers: { authorization: `Bearer ${bench.key}` },
        connections: CONNECTIONS,
        durationSeconds: BENCH_SECONDS
      }
    })
    const targets = [
      checkTarget(`throughput ≥ 0.8× the bare route (measured ${round(c.throughputRatio)}×)`, c.throughputRatio >= 0.8),
      checkTarget(`p99 latency ≤ 2× the bare route (measured ${round(c.p99Ratio)}×)`, c.p99Ratio <= 2)
    ]
    await writeResult({
      name: 'lookup',
      database: databaseLabel(),
      figures: { rows: ROWS, connections: CONNECTIONS, ...comparisonFigures(c) },
      targets,
      notes: [
        'Both servers run in the benchmark process on the same database handle; autocannon runs in a child process.',
        'Every broker read also appends (and waits for) its audit row: group-committed, one statement per batch of concurrent reads.'
      ]
    })
  } finally {
    await bare.close()
    await bench.close()
  }
}
