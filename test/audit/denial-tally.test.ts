// DenialTally: refusals of keyless requests become one audit row per (source, reason, minute) with a count,
// written once the minute is over (or on stop), at most maxRowsPerFlush rows plus one overflow row a flush, with a
// bounded number of buckets in memory and one log line per bucket. Time is a fake clock.
import t from 'tap'
import { AuditLog } from '../../src/audit/audit-log.js'
import { DenialTally, OTHER_SOURCES, type Denial } from '../../src/audit/denial-tally.js'
import { recomputeAuditHash } from '../../src/audit/verify-audit-chain.js'
import { captureLogger } from '../support/captured-logger.js'
import { openMigratedDatabase } from '../support/migrated-database.js'

const MINUTE = 60_000

async function setUp(
  t: Parameters<typeof openMigratedDatabase>[0],
  options: { maxRowsPerFlush?: number; maxBuckets?: number } = {}
) {
  const { db } = await openMigratedDatabase(t)
  const clock = { now: 100 * MINUTE + 5_000 }
  const log = captureLogger('info')
  const tally = new DenialTally({ audit: new AuditLog(db), logger: log.logger, now: () => clock.now, ...options })
  const rows = async () =>
    await db.selectFrom('audit_events').selectAll().where('action', '=', 'auth.denied').orderBy('id').execute()
  return { db, clock, log, tally, rows }
}

const denial = (source: string, reason: Denial['reason'] = 'unknown or revoked key', i = 0): Denial => ({
  source,
  reason,
  status: reason === 'too many attempts' ? 429 : 401,
  route: i % 2 === 0 ? 'GET /v1/connections/:id' : 'GET /v1/audit',
  requestId: `r-${source}-${i}`
})

void t.test(
  'a minute of refusals from one source for one reason is one row with its count, written once the minute is over',
  async (t) => {
    const { clock, log, tally, rows } = await setUp(t)
    for (let i = 0; i < 500; i++) tally.record(denial('203.0.113.7', 'unknown or revoked key', i))
    await tally.flush()
    t.same(await rows(), [], 'nothing while the minute runs')
    clock.now += MINUTE
    await tally.flush()
    const written = await rows()
    t.equal(written.length, 1)
    t.match(written[0], {
      actor: 'anonymous',
      actor_team: null,
      connection_id: null,
      request_id: null,
      outcome: 'denied',
      detail: {
        status: 401,
        reason: 'unknown or revoked key',
        source: '203.0.113.7',
        count: 500,
        from: new Date(100 * MINUTE).toISOString(),
        until: new Date(101 * MINUTE).toISOString(),
        routes: { 'GET /v1/connections/:id': 250, 'GET /v1/audit': 250 },
        firstRequestId: 'r-203.0.113.7-0',
        lastRequestId: 'r-203.0.113.7-499'
      }
    })
    const row = written[0]
    if (row !== undefined) t.equal(recomputeAuditHash(row), row.hash, 'chained like any other row')
    t.equal(tally.pending, 0)
    const lines = log.lines().filter((l) => l.source === '203.0.113.7')
    t.equal(lines.length, 1, 'one log line for the bucket, not one per refusal')
  }
)

void t.test('one row per source, reason and minute; stop writes the minute still running', async (t) => {
  const { clock, tally, rows } = await setUp(t)
  for (const source of ['198.51.100.1', '198.51.100.2', '198.51.100.3']) {
    for (const reason of ['no key', 'too many attempts'] as const)
      for (let i = 0; i < 7; i++) tally.record(denial(source, reason, i))
  }
  clock.now += MINUTE
  tally.record(denial('198.51.100.1', 'no key'))
  await tally.flush()
  t.equal((await rows()).length, 6, 'the finished minute: 3 sources × 2 reasons')
  t.ok((await rows()).every((r) => r.detail?.count === 7))
  t.equal(tally.pending, 1, 'the running minute waits')
  await tally.stop()
  t.equal((await rows()).length, 7, 'and is written on stop')
})

void t.test(
  'a flush writes at most maxRowsPerFlush rows, busiest first, and folds the rest into one overflow row',
  async (t) => {
    const { clock, tally, rows } = await setUp(t, { maxRowsPerFlush: 2 })
    const sources = ['192.0.2.1', '192.0.2.2', '192.0.2.3', '192.0.2.4', '192.0.2.5']
    sources.forEach((source, n) => {
      for (let i = 0; i <= n; i++) tally.record(denial(source, 'no key', i))
    })
    clock.now += MINUTE
    await tally.flush()
    const written = await rows()
    t.equal(written.length, 3)
    t.same(
      written.slice(0, 2).map((r) => [r.detail?.source, r.detail?.count]),
      [
        ['192.0.2.5', 5],
        ['192.0.2.4', 4]
      ],
      'the busiest sources have rows of their own'
    )
    t.match(
      written[2]?.detail,
      { source: OTHER_SOURCES, buckets: 3, count: 1 + 2 + 3, reasons: { 'no key': 6 } },
      'the rest, counted in one row'
    )
  }
)

void t.test('past maxBuckets, new sources share one bucket per reason and minute', async (t) => {
  const { clock, tally, rows } = await setUp(t, { maxBuckets: 3 })
  for (let n = 0; n < 50; n++) tally.record(denial(`2001:db8::${n}`, 'no key'))
  t.equal(tally.pending, 4, 'three sources and the shared bucket')
  clock.now += MINUTE
  await tally.flush()
  const written = await rows()
  t.equal(written.length, 4)
  t.match(written.find((r) => r.detail?.source === OTHER_SOURCES)?.detail, { count: 47 })
  t.equal(
    written.reduce((sum, r) => sum + Number(r.detail?.count), 0),
    50,
    'every refusal counted'
  )
})
