// The poller with 100 000 connections, the broker and the emulator each in a process of their own: downstream calls
// per sweep (target ≤ ceil(N / 100) + changes), sweep time, time to notice a change against its poll interval
// (target ≤ 1.2×) and the broker's RSS (target ≤ 150 MB). Rows are seeded with one SQL statement before the broker
// starts; everything after that is read from the broker's API, its /metrics and the emulator's control API.
import { randomBytes } from 'node:crypto'
import { mkdtemp, rm } from 'node:fs/promises'
import os from 'node:os'
import path from 'node:path'
import { sql } from 'kysely'
import { pino } from 'pino'
import { openDatabase, type DatabaseConfig } from '../src/db/database.js'
import { migrateToLatest } from '../src/db/migrator.js'
import type { CallCounts, RequestLogEntry } from '../src/emulator/types.js'
import { createTestDatabase } from '../test/support/test-database.js'
import {
  bareNodeRss,
  buildBroker,
  imageNodeOptions,
  startBrokerProcess,
  type BrokerProcess
} from './support/broker-process.js'
import { control, startEmulatorProcess } from './support/emulator-process.js'
import { checkTarget, print, round, writeResult } from './support/report.js'
import { databaseLabel } from './support/bench-broker.js'

const N = Number(process.env.BENCH_POLLER_CONNECTIONS ?? 100_000)
const STEADY_MS = Number(process.env.BENCH_POLLER_STEADY_MS ?? 60_000)
const CHANGES = 20
const SALESFORCE = 'cfc0fee1-7dc0-40ef-b73e-d8b134c436f5'
const MB = 2 ** 20

const sleep = async (ms: number): Promise<void> => {
  await new Promise((resolve) => setTimeout(resolve, ms))
}

export async function pollerBench(): Promise<void> {
  print(
    `\n## poller: ${N} connections, steady interval ${STEADY_MS / 1000} s, default request budget — ${databaseLabel()}`
  )
  await buildBroker()
  const emulator = await startEmulatorProcess()
  const prepared = await preparedDatabase()
  try {
    const seedStarted = performance.now()
    const { ids } = await control<{ ids: string[] }>(emulator, 'POST', '/seed', {
      count: N,
      sandboxName: 'prod',
      state: 'enabled'
    })
    await seedRows(prepared.config, ids)
    print(
      `  seeded ${N} connections downstream and in the database in ${round((performance.now() - seedStarted) / 1000, 1)} s`
    )
    const callsBefore = await control<CallCounts>(emulator, 'GET', '/calls')
    const key = randomBytes(24).toString('base64url')
    const broker = await startBrokerProcess({
      // A local emulator, a database of the benchmark's and a key file: dev mode, chosen.
      BROKER_MODE: 'dev',
      ...emulator.env,
      ...prepared.env,
      BROKER_ADMIN_KEY: key,
      POLL_STEADY_INTERVAL_MS: String(STEADY_MS),
      RECONCILER_ENABLED: 'false',
      API_RATE_LIMIT_PER_MINUTE: '0',
      // The image's options unless told otherwise (e.g. BENCH_BROKER_NODE_OPTIONS= for node's defaults).
      ...(process.env.BENCH_BROKER_NODE_OPTIONS !== undefined
        ? { NODE_OPTIONS: process.env.BENCH_BROKER_NODE_OPTIONS }
        : {})
    })
    try {
      const api = apiOf(broker, key)
      // 1. The first sweep: every connection due at once.
      let metrics = await api.metrics()
      const sweepDeadline = Date.now() + 600_000
      while (sample(metrics, 'broker_poller_sweep_duration_seconds_count') < 1) {
        emulator.assertAlive()
        if (Date.now() > sweepDeadline) throw new Error('the first sweep did not end within 10 minutes')
        await sleep(250)
        metrics = await api.metrics()
      }
      const sweepSeconds = sample(metrics, 'broker_poller_sweep_duration_seconds_sum')
      const swept = sample(metrics, 'broker_poller_sweep_connections_sum')
      const callsAfter = await control<CallCounts>(emulator, 'GET', '/calls')
      const sweepCalls = callsAfter.list + callsAfter.get - callsBefore.list - callsBefore.get
      const allowedCalls = Math.ceil(N / 100)
      print(
        `  first sweep: ${swept} connections in ${round(sweepSeconds, 1)} s (${round(swept / sweepSeconds, 0)} connections/s), ${sweepCalls} downstream calls (${callsAfter.list - callsBefore.list} list, ${callsAfter.get - callsBefore.get} get)`
      )

      // 2. Changes made right after their connections were polled (the last batch Flow Service saw): the worst
      // case for noticing them, one interval later.
      const recent = await control<{ items: RequestLogEntry[] }>(emulator, 'GET', '/requests')
      const lastList = recent.items.filter((r) => r.operation === 'list' && r.query.includes('property=id==')).at(-1)
      const flowIds = idsOf(lastList?.query ?? '').slice(0, CHANGES)
      const brokerIds = await Promise.all(flowIds.map(async (flowId) => await api.idOf(flowId)))
      const pollsAtChange = polls(await api.metrics())
      const callsAtChange = await control<CallCounts>(emulator, 'GET', '/calls')
      const changedAt = new Map<string, number>()
      for (const [i, flowId] of flowIds.entries()) {
        changedAt.set(brokerIds[i] ?? '', Date.now())
        await control(emulator, 'PUT', `/connections/${flowId}/state`, { state: 'disabled' })
      }
      const deadline = Date.now() + STEADY_MS * 2 + 60_000
      while ((await api.disabled()).length < flowIds.length) {
        emulator.assertAlive()
        if (Date.now() > deadline) throw new Error('the changes were not noticed in time')
        await sleep(250)
      }
      const noticed = await Promise.all(
        brokerIds.map(async (id) => (await api.disabledAt(id)) - (changedAt.get(id) ?? Number.NaN))
      )
      metrics = await api.metrics()
      const callsAtNotice = await control<CallCounts>(emulator, 'GET', '/calls')
      const steadyPolls = polls(metrics) - pollsAtChange
      const steadyCalls = callsAtNotice.list + callsAtNotice.get - callsAtChange.list - callsAtChange.get
      const worst = Math.max(...noticed)
      const median = [...noticed].sort((a, b) => a - b)[Math.floor(noticed.length / 2)] ?? Number.NaN
      print(
        `  ${flowIds.length} changes made just after their poll: noticed after ${round(median / 1000, 1)} s (median), ${round(worst / 1000, 1)} s (worst) = ${round(worst / STEADY_MS)}× the steady interval`
      )
      print(
        `  meanwhile, in steady state: ${steadyPolls} polls for ${steadyCalls} downstream calls (${round(steadyPolls / Math.max(steadyCalls, 1), 1)} connections a call)`
      )
      print(
        `  /metrics: poller lag ${round(sample(metrics, 'broker_poller_lag_seconds'), 1)} s, pool ${sample(metrics, 'broker_db_pool_connections{state="total"}')} connections, heap used ${round(sample(metrics, 'nodejs_heap_size_used_bytes') / MB, 0)} MB of ${round(sample(metrics, 'nodejs_heap_size_total_bytes') / MB, 0)} MB, external ${round(sample(metrics, 'nodejs_external_memory_bytes') / MB, 0)} MB`
      )
      const memory = await broker.memory()
      const nodeRss = await bareNodeRss()
      print(
        `  broker RSS: ${round(memory.peak / MB, 0)} MB at its peak, ${round(memory.rss / MB, 0)} MB at the end (a bare node process: ${round(nodeRss / MB, 0)} MB)`
      )

      const targets = [
        checkTarget(
          `downstream calls in the first sweep ≤ ceil(N/100) + changes = ${allowedCalls} (measured ${sweepCalls})`,
          sweepCalls <= allowedCalls
        ),
        checkTarget(
          `in steady state, calls ≤ ceil(polls/100) + changes = ${Math.ceil(steadyPolls / 100) + CHANGES} (measured ${steadyCalls})`,
          steadyCalls <= Math.ceil(steadyPolls / 100) + CHANGES
        ),
        checkTarget(
          `time to notice a change ≤ 1.2× its interval (measured ${round(worst / STEADY_MS)}× at worst)`,
          worst <= 1.2 * STEADY_MS
        ),
        checkTarget(`broker RSS ≤ 150 MB (measured ${round(memory.peak / MB, 0)} MB at peak)`, memory.peak <= 150 * MB)
      ]
      await writeResult({
        name: 'poller',
        database: databaseLabel(),
        figures: {
          connections: N,
          steadyIntervalMs: STEADY_MS,
          brokerNodeOptions: process.env.BENCH_BROKER_NODE_OPTIONS ?? (await imageNodeOptions()),
          firstSweepConnections: swept,
          firstSweepSeconds: round(sweepSeconds, 2),
          firstSweepConnectionsPerSecond: round(swept / sweepSeconds, 0),
          firstSweepDownstreamCalls: sweepCalls,
          allowedDownstreamCalls: allowedCalls,
          steadyPolls,
          steadyDownstreamCalls: steadyCalls,
          changes: flowIds.length,
          noticeMedianMs: median,
          noticeWorstMs: worst,
          noticeWorstRatio: round(worst / STEADY_MS),
          lagSecondsAtEnd: round(sample(metrics, 'broker_poller_lag_seconds'), 2),
          rssPeakMB: round(memory.peak / MB, 0),
          rssEndMB: round(memory.rss / MB, 0),
          bareNodeRssMB: round(nodeRss / MB, 0)
        },
        targets,
        notes: [
          "The broker (compiled, `node dist/src/bin/server.js` with the image's NODE_OPTIONS) and the emulator each run in a child process; RSS is the broker process alone.",
          prepared.env.DATABASE_URL === undefined
            ? 'On PGlite the broker process holds the embedded database too: its RSS is not the broker alone.'
            : 'PostgreSQL runs outside the broker process.',
          `FLOW_SERVICE_MAX_RPS at its default (50/s): a sweep of ${N} connections needs at least ${Math.ceil(N / 100 / 50)} s of budget.`
        ]
      })
    } finally {
      await broker.stop()
    }
  } finally {
    await emulator.stop()
    await prepared.drop()
  }
}

interface Prepared {
  config: DatabaseConfig
  env: Record<string, string>
  drop: () => Promise<void>
}

/** A database the benchmark seeds before the broker opens it: a fresh PostgreSQL database, or PGlite on disk. */
async function preparedDatabase(): Promise<Prepared> {
  if (process.env.DATABASE_URL !== undefined && process.env.DATABASE_URL !== '') {
    const created = await createTestDatabase()
    return { config: created.config, env: { DATABASE_URL: created.url ?? '' }, drop: created.drop }
  }
  const dataDir = await mkdtemp(path.join(os.tmpdir(), 'broker-bench-pglite-'))
  return {
    config: { kind: 'pglite', dataDir },
    env: { BROKER_DATA_DIR: dataDir },
    drop: async () => {
      await rm(dataDir, { recursive: true, force: true })
    }
  }
}

/** Every connection, due now, in one INSERT … SELECT over the emulator's ids. */
async function seedRows(config: DatabaseConfig, flowIds: string[]): Promise<void> {
  const database = await openDatabase(config, pino({ level: 'warn' }))
  try {
    await migrateToLatest(database.db)
    await sql`
      insert into connections (id, team, name, sandbox_name, connection_spec_id, connection_spec_version, auth_spec_name,
        public_params, secret_fields, flow_connection_id, state, downstream_state, next_poll_at)
      select gen_random_uuid(), 'bench', 'bench ' || f, 'prod', ${SALESFORCE}, '1.0', 'Basic Authentication',
        '{}'::jsonb, '[]'::jsonb, f, 'enabled', 'enabled', now()
      from unnest(${flowIds}::text[]) as f`.execute(database.db)
    await sql`analyze connections`.execute(database.db)
  } finally {
    await database.close()
  }
}

/** The ids of `property=id==a,b,c&limit=100`. */
function idsOf(query: string): string[] {
  const property = query.split('&').find((p) => p.startsWith('property=id=='))
  return property === undefined ? [] : property.slice('property=id=='.length).split(',').map(decodeURIComponent)
}

/** One series' value in a Prometheus text scrape (NaN when absent). */
function sample(text: string, series: string): number {
  const line = text.split('\n').find((l) => l.startsWith(series + ' '))
  return line === undefined ? Number.NaN : Number(line.slice(series.length + 1))
}

const polls = (text: string): number =>
  ['changed', 'unchanged', 'failed'].reduce(
    (n, o) => n + (sample(text, `broker_poller_polls_total{outcome="${o}"}`) || 0),
    0
  )

function apiOf(
  broker: BrokerProcess,
  key: string
): {
  metrics: () => Promise<string>
  idOf: (flowId: string) => Promise<string>
  disabled: () => Promise<string[]>
  disabledAt: (id: string) => Promise<number>
} {
  const get = async <T>(path: string): Promise<T> => {
    const res = await fetch(`${broker.url}${path}`, { headers: { authorization: `Bearer ${key}` } })
    if (!res.ok) throw new Error(`GET ${path}: ${res.status}`)
    return (await res.json()) as T
  }
  return {
    metrics: async () => await fetch(`${broker.url}/metrics`).then(async (r) => await r.text()),
    idOf: async (flowId) =>
      (await get<{ items: Array<{ id: string }> }>(`/v1/connections?flowConnectionId=${encodeURIComponent(flowId)}`))
        .items[0]?.id ?? '',
    disabled: async () =>
      (await get<{ items: Array<{ id: string }> }>('/v1/connections?state=disabled&limit=100')).items.map((c) => c.id),
    disabledAt: async (id) => {
      const events = await get<{ items: Array<{ to: string; observedAt: string }> }>(`/v1/connections/${id}/events`)
      return Date.parse(events.items.find((e) => e.to === 'disabled')?.observedAt ?? '')
    }
  }
}
