// The broker's Prometheus metrics, in a registry of their own per broker (several brokers share a test process).
// Gauges that describe the database (poller lag, pool usage) are read when /metrics is scraped, not kept up to date.
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client'

export interface PoolUsage {
  /** Connections open (PGlite: its one session). */
  total: number
  /** Open and unused; undefined when the driver cannot tell. */
  idle?: number
  /** Queries queued for a connection; undefined when the driver cannot tell. */
  waiting?: number
}

export interface ScrapeSources {
  /** Seconds since the oldest due connection fell due (0 when none is overdue). */
  pollerLagSeconds: () => Promise<number>
  poolUsage: () => PoolUsage
}

export interface BrokerMetrics {
  readonly registry: Registry
  readonly httpDuration: Histogram<'method' | 'route' | 'status'>
  readonly flowServiceCalls: Counter<'operation' | 'status'>
  readonly flowServiceDuration: Histogram<'operation'>
  readonly flowServiceBudgetWait: Histogram
  readonly flowServiceBudgetRefusals: Counter
  readonly flowServiceUnexpectedAnswers: Counter<'operation' | 'reason'>
  readonly secretStoreDuration: Histogram<'operation' | 'outcome'>
  readonly dbQueryDuration: Histogram<'outcome'>
  readonly sweepDuration: Histogram
  readonly sweepConnections: Histogram
  readonly polls: Counter<'outcome'>
  readonly transitions: Counter<'from' | 'to' | 'observed_by'>
}

// Request latencies: from a cache hit (sub-millisecond) to a create that retried Flow Service for its whole deadline.
const LATENCY_BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30]

export function createBrokerMetrics(sources: ScrapeSources): BrokerMetrics {
  const registry = new Registry()
  const registers = [registry]
  // process_* and nodejs_* under their usual names: dashboards already know them.
  collectDefaultMetrics({ register: registry })

  new Gauge({
    name: 'broker_poller_lag_seconds',
    help: 'Age of the oldest due connection: how far polling is behind its schedule (0 when nothing is overdue).',
    registers,
    async collect() {
      this.set(await sources.pollerLagSeconds())
    }
  })
  new Gauge({
    name: 'broker_db_pool_connections',
    help: 'Database connections by state (total, idle, waiting = queries queued for a connection).',
    labelNames: ['state'] as const,
    registers,
    collect() {
      const usage = sources.poolUsage()
      this.set({ state: 'total' }, usage.total)
      if (usage.idle !== undefined) this.set({ state: 'idle' }, usage.idle)
      if (usage.waiting !== undefined) this.set({ state: 'waiting' }, usage.waiting)
    }
  })

  return {
    registry,
    httpDuration: new Histogram({
      name: 'broker_http_request_duration_seconds',
      help: 'HTTP requests served, by method, route pattern and status.',
      labelNames: ['method', 'route', 'status'] as const,
      buckets: LATENCY_BUCKETS,
      registers
    }),
    dbQueryDuration: new Histogram({
      name: 'broker_db_query_duration_seconds',
      help: 'Database statements, by outcome (ok, error): their count per request is what a request costs the database.',
      labelNames: ['outcome'] as const,
      buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1, 5, 15],
      registers
    }),
    flowServiceCalls: new Counter({
      name: 'broker_flow_service_requests_total',
      help: 'Calls to Flow Service by operation and status (HTTP status, "ok", or the error kind when no answer came).',
      labelNames: ['operation', 'status'] as const,
      registers
    }),
    flowServiceDuration: new Histogram({
      name: 'broker_flow_service_request_duration_seconds',
      help: 'Duration of calls to Flow Service (token and one 401 retry included), by operation.',
      labelNames: ['operation'] as const,
      buckets: LATENCY_BUCKETS,
      registers
    }),
    flowServiceBudgetWait: new Histogram({
      name: 'broker_flow_service_budget_wait_seconds',
      help: 'How long calls waited for the request budget towards Flow Service (or a 429 pause) before they were sent.',
      buckets: [0, 0.01, 0.05, 0.1, 0.5, 1, 5, 10, 30],
      registers
    }),
    flowServiceBudgetRefusals: new Counter({
      name: 'broker_flow_service_budget_refusals_total',
      help: 'Calls refused without being sent because the request budget would have made them wait too long.',
      registers
    }),
    flowServiceUnexpectedAnswers: new Counter({
      name: 'broker_flow_service_unexpected_answers_total',
      help: 'Answers from Flow Service (or items in them) not trusted, by operation and reason: other_id, duplicate_id, other_spec, other_name (items ignored); empty_items, no_items, unparseable, malformed_item, gateway_404 (answers refused).',
      labelNames: ['operation', 'reason'] as const,
      registers
    }),
    secretStoreDuration: new Histogram({
      name: 'broker_secret_store_duration_seconds',
      help: 'Secret store (Vault or local) calls by operation and outcome (ok or the error code).',
      labelNames: ['operation', 'outcome'] as const,
      buckets: LATENCY_BUCKETS,
      registers
    }),
    sweepDuration: new Histogram({
      name: 'broker_poller_sweep_duration_seconds',
      help: 'Duration of one poller sweep (every due connection claimed by this replica, batch after batch).',
      buckets: [0.01, 0.05, 0.1, 0.5, 1, 5, 10, 30, 60, 120, 300],
      registers
    }),
    sweepConnections: new Histogram({
      name: 'broker_poller_sweep_connections',
      help: 'Connections one sweep polled (successfully or not).',
      buckets: [0, 1, 10, 100, 1000, 10000, 100000],
      registers
    }),
    polls: new Counter({
      name: 'broker_poller_polls_total',
      help: 'Connections polled, by outcome: unchanged, changed, failed.',
      labelNames: ['outcome'] as const,
      registers
    }),
    transitions: new Counter({
      name: 'broker_connection_transitions_total',
      help: 'Connection state changes recorded, by from, to and observer (request, poller, reconciler).',
      labelNames: ['from', 'to', 'observed_by'] as const,
      registers
    })
  }
}
