// Flood: legitimate GET /v1/connections/{id} throughput alone, then during a flood of wrong API keys sent from
// another process on loopback (autocannon, bounded in time and in count), and how many audit rows the flood added.
// Targets: legitimate throughput during the flood ≥ 0.8× without it; the flood adds a bounded number of audit rows
// (the denial tally's: per source, reason and minute), not one per request.
import { sql, type Kysely } from 'kysely'
import type { Database } from '../src/db/schema.js'
import { testConnectionValues } from '../test/support/connection-rows.js'
import { databaseLabel, startBenchBroker } from './support/bench-broker.js'
import { runLoad, type LoadResult } from './support/load.js'
import { checkTarget, print, round, writeResult } from './support/report.js'

const SECONDS = Number(process.env.BENCH_FLOOD_SECONDS ?? 10)
const LEGIT_CONNECTIONS = 10
const FLOOD_CONNECTIONS = 20
/**
 * The flood's rate, in requests per second over its connections; 0 (the default): each connection sends its next
 * request as soon as it has an answer, the harshest a keep-alive client can be. The flood is bounded in time; in count by
 * rate × seconds with a rate, and by the tarpit without (about one request per connection a second).
 */
const FLOOD_RPS = Number(process.env.BENCH_FLOOD_RPS ?? 0)
/** Two reasons (unknown key, then too many attempts) from one source, over at most two minute buckets each. */
const TALLY_ROW_BOUND = 4

export async function floodBench(): Promise<void> {
  print(
    `\n## flood: GET /v1/connections/{id} alone vs during a ${SECONDS} s wrong-key flood from loopback — ${databaseLabel()}`
  )
  const bench = await startBenchBroker({ POLLER_ENABLED: 'false', RECONCILER_ENABLED: 'false' })
  try {
    const db = bench.broker.database.db
    const row = testConnectionValues({ team: 'dev', flow_connection_id: 'flow-flood' })
    await db.insertInto('connections').values(row).execute()
    const legit = {
      url: `${bench.url}/v1/connections/${row.id}`,
      headers: { authorization: `Bearer ${bench.key}` },
      connections: LEGIT_CONNECTIONS
    }
    const flood = {
      url: legit.url,
      headers: { authorization: 'Bearer cbk_not-a-key-this-broker-ever-issued' },
      connections: FLOOD_CONNECTIONS,
      ...(FLOOD_RPS > 0 ? { overallRate: FLOOD_RPS } : {})
    }

    await runLoad({ ...legit, durationSeconds: 2 })
    const alone = await runLoad({ ...legit, durationSeconds: SECONDS })
    report('legitimate, alone', alone)

    const before = await auditCounts(db)
    const [during, attack] = await Promise.all([
      runLoad({ ...legit, durationSeconds: SECONDS }),
      runLoad({ ...flood, durationSeconds: SECONDS })
    ])
    report('legitimate, during the flood', during)
    report('flood (wrong key)', attack)
    await bench.broker.app.denialTally.flush({ all: true })
    const after = await auditCounts(db)
    const floodRows = after.anonymous - before.anonymous
    const ratio = during.requestsPerSecond / alone.requestsPerSecond
    print(
      `  throughput ratio during/alone ${round(ratio)}×; audit rows added ${after.total - before.total} (${floodRows} by the flood's ${attack.requests} requests, the rest the legitimate reads)`
    )

    const targets = [
      checkTarget(`legitimate throughput during the flood ≥ 0.8× alone (measured ${round(ratio)}×)`, ratio >= 0.8),
      checkTarget(
        `the flood adds at most ${TALLY_ROW_BOUND} audit rows (measured ${floodRows} for ${attack.requests} requests)`,
        floodRows <= TALLY_ROW_BOUND
      ),
      checkTarget('every legitimate request succeeds during the flood', during.non2xx === 0 && during.errors === 0)
    ]
    await writeResult({
      name: 'flood',
      database: databaseLabel(),
      figures: {
        seconds: SECONDS,
        legitConnections: LEGIT_CONNECTIONS,
        floodConnections: FLOOD_CONNECTIONS,
        aloneRps: round(alone.requestsPerSecond),
        aloneP50Ms: alone.latencyP50Ms,
        duringRps: round(during.requestsPerSecond),
        duringP50Ms: during.latencyP50Ms,
        duringP99Ms: during.latencyP99Ms,
        duringNon2xx: during.non2xx,
        throughputRatio: round(ratio),
        floodRequests: attack.requests,
        floodRps: round(attack.requestsPerSecond),
        auditRowsAddedByFlood: floodRows,
        auditRowsAdded: after.total - before.total
      },
      targets,
      notes: [
        'The broker runs in the benchmark process with its defaults (UNAUTH_RATE_LIMIT_PER_MINUTE=60); legitimate load and flood come from two autocannon child processes, both from 127.0.0.1.',
        "The legitimate key was looked up before the flood, so the address's exhausted failed-lookup budget does not refuse it; each legitimate read still writes its audit row."
      ]
    })
  } finally {
    await bench.close()
  }
}

function report(label: string, r: LoadResult): void {
  print(
    `  ${label}: ${round(r.requestsPerSecond)} req/s, p50 ${r.latencyP50Ms} ms, p99 ${r.latencyP99Ms} ms, ${r.requests} requests, ${r.non2xx} non-2xx`
  )
}

async function auditCounts(db: Kysely<Database>): Promise<{ total: number; anonymous: number }> {
  const { rows } = await sql<{
    total: string
    anonymous: string
  }>`select count(*) as total, count(*) filter (where actor = 'anonymous') as anonymous from audit_events`.execute(db)
  return { total: Number(rows[0]?.total ?? 0), anonymous: Number(rows[0]?.anonymous ?? 0) }
}
