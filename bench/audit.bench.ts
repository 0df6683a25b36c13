// Audit history: GET /v1/audit filtered to one connection's newest 50 events over 1 000 000 events, through the
// whole broker (key check, the query, the resource mapping, the audit row of the read itself) against a bare route
// running the same indexed SQL. Target: ≤ 2× (latency), i.e. ≥ 0.5× throughput.
import Fastify from 'fastify'
import { sql } from 'kysely'
import { BENCH_SECONDS, compare, comparisonFigures } from './support/compare.js'
import { checkTarget, print, round, writeResult } from './support/report.js'
import { databaseLabel, startBenchBroker } from './support/bench-broker.js'

const EVENTS = Number(process.env.BENCH_AUDIT_EVENTS ?? 1_000_000)
const CONNECTIONS_AUDITED = 1000
const PAGE = 50
const CONNECTIONS = 10

export async function auditBench(): Promise<void> {
  print(
    `\n## audit: GET /v1/audit?connectionId=…&limit=${PAGE} over ${EVENTS} events vs the bare indexed SQL — ${databaseLabel()}`
  )
  const bench = await startBenchBroker({ POLLER_ENABLED: 'false', RECONCILER_ENABLED: 'false' })
  const bare = Fastify()
  try {
    const db = bench.broker.database.db
    const seedStarted = performance.now()
    // One statement; the append-only trigger refuses UPDATE and DELETE only. The hashes do not chain (nothing here
    // verifies them): this is about reading.
    await sql`
      insert into audit_events (occurred_at, actor, actor_team, actor_key_id, action, connection_id, request_id, outcome, changed_fields, prev_hash, hash)
      select now() - (${EVENTS} - g) * interval '1 second',
        case when g % 3 = 0 then 'poller' else 'key:bench-' || (g % 7) end,
        case when g % 3 = 0 then null else 'team-' || (g % 5) end,
        case when g % 3 = 0 then null else 'bench-' || (g % 7) end,
        (array['connection.read', 'connection.create', 'connection.state_changed', 'connection.list', 'connection.rotate'])[1 + g % 5],
        ('00000000-0000-4000-8000-' || lpad(to_hex(g % ${CONNECTIONS_AUDITED}), 12, '0'))::uuid,
        'req-' || g,
        case when g % 11 = 0 then 'denied' else 'success' end,
        '[]'::jsonb, md5(g::text), md5((g + 1)::text)
      from generate_series(1, ${EVENTS}) as g`.execute(db)
    await sql`analyze audit_events`.execute(db)
    print(`  seeded ${EVENTS} events in ${round((performance.now() - seedStarted) / 1000, 1)} s`)
    const connectionId = '00000000-0000-4000-8000-00000000002a'

    bare.get('/bare/audit', async () => {
      const result =
        await sql`select * from audit_events where connection_id = ${connectionId} order by id desc limit ${PAGE + 1}`.execute(
          db
        )
      return { items: result.rows.slice(0, PAGE) }
    })
    const bareUrl = await bare.listen({ host: '127.0.0.1', port: 0 })
    const auth = { authorization: `Bearer ${bench.key}` }
    const brokerUrl = `${bench.url}/v1/audit?connectionId=${connectionId}&limit=${PAGE}`

    const c = await compare({
      broker: bench.broker,
      baseline: { url: `${bareUrl}/bare/audit`, connections: CONNECTIONS, durationSeconds: BENCH_SECONDS },
      candidate: { url: brokerUrl, headers: auth, connections: CONNECTIONS, durationSeconds: BENCH_SECONDS }
    })
    const targets = [
      checkTarget(
        `latency ≤ 2× the bare SQL (measured p50 ${round(c.p50Ratio)}×, p99 ${round(c.p99Ratio)}×)`,
        c.p50Ratio <= 2
      ),
      checkTarget(`throughput ≥ 0.5× the bare SQL (measured ${round(c.throughputRatio)}×)`, c.throughputRatio >= 0.5)
    ]
    await writeResult({
      name: 'audit',
      database: databaseLabel(),
      figures: { events: EVENTS, page: PAGE, connections: CONNECTIONS, ...comparisonFigures(c) },
      targets,
      notes: [
        `Filter: one connection's events (about ${EVENTS / CONNECTIONS_AUDITED} of them), newest ${PAGE} first, admin key; each broker request also appends its own audit row.`
      ]
    })
  } finally {
    await bare.close()
    await bench.close()
  }
}
