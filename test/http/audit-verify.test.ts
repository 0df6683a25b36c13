// GET /v1/audit/verify under abuse (issue 11, item 5): only admin keys may run it; one run at a time (a second call,
// here or on another replica, gets 409 with Retry-After); each run walks only the rows appended since the last
// intact run, still names a break among them, and ?full=true walks the whole chain again.
import { sql, type Kysely } from 'kysely'
import t from 'tap'
import { AuditChainVerifier } from '../../src/audit/audit-chain-verifier.js'
import { AuditLog } from '../../src/audit/audit-log.js'
import { releaseVerificationLease, takeVerificationLease } from '../../src/audit/audit-verification-repository.js'
import type { Database } from '../../src/db/schema.js'
import { openMigratedDatabase } from '../support/migrated-database.js'
import { startTestBroker, type TestBroker } from '../support/test-broker.js'

interface Verification {
  valid: boolean
  checked: number
  firstBrokenId?: string
  full: boolean
  startedAfterId: string | null
  verifiedThroughId: string | null
}

async function append(db: Kysely<Database>, n: number, tag: string): Promise<void> {
  const audit = new AuditLog(db)
  for (let i = 0; i < n; i++)
    await audit.append({
      actor: { kind: 'system', name: 'poller' },
      action: 'test.row',
      outcome: 'success',
      requestId: `${tag}-${i}`
    })
}

const lastId = async (db: Kysely<Database>): Promise<string> =>
  (await db.selectFrom('audit_events').select('id').orderBy('id', 'desc').limit(1).executeTakeFirstOrThrow()).id

async function verify(b: TestBroker, query = ''): Promise<Verification> {
  const res = await b.request({ method: 'GET', url: `/v1/audit/verify${query}` })
  if (res.statusCode !== 200) throw new Error(`verify: ${res.statusCode} ${res.body}`)
  return res.json<Verification>()
}

/** Runs a statement the append-only trigger would refuse, as a superuser could. */
async function behindTheTriggersBack(db: Kysely<Database>, statement: ReturnType<typeof sql>): Promise<void> {
  await sql`alter table audit_events disable trigger audit_events_no_update_delete`.execute(db)
  try {
    await statement.execute(db)
  } finally {
    await sql`alter table audit_events enable trigger audit_events_no_update_delete`.execute(db)
  }
}

void t.test('an audit:read key that is not admin gets 403 and walks nothing', async (t) => {
  const b = await startTestBroker(t, { poller: false })
  const reader = await b.createKey('crm', ['audit:read', 'connections:read', 'connections:write'])
  const res = await b.request({ method: 'GET', url: '/v1/audit/verify?full=true', key: reader })
  t.equal(res.statusCode, 403)
  t.match(res.json(), { detail: /"admin" scope/ })
  const checkpoint = await b.broker.database.db.selectFrom('audit_verification').selectAll().executeTakeFirstOrThrow()
  t.same([checkpoint.through_id, checkpoint.running_until], [null, null], 'no run happened')
})

void t.test(
  'a second run walks only what was appended since the first; a break there is named and keeps being named',
  async (t) => {
    const b = await startTestBroker(t, { poller: false })
    const db = b.broker.database.db
    await append(db, 30, 'old')
    const total = (await db.selectFrom('audit_events').select('id').execute()).length
    const newest = await lastId(db)
    const first = await verify(b)
    t.match(
      first,
      { valid: true, checked: total, full: false, startedAfterId: null, verifiedThroughId: newest },
      'the first run walks everything'
    )

    await append(db, 5, 'new')
    const second = await verify(b)
    t.match(
      second,
      { valid: true, checked: 6, startedAfterId: first.verifiedThroughId },
      'the second walks the first run’s own audit row and the 5 new ones'
    )

    await append(db, 4, 'newer')
    const rows = await db
      .selectFrom('audit_events')
      .select('id')
      .where('request_id', 'like', 'newer-%')
      .orderBy('id')
      .execute()
    const victim = rows[2]?.id ?? ''
    await behindTheTriggersBack(db, sql`update audit_events set outcome = 'failure' where id = ${victim}`)
    const broken = await verify(b)
    t.match(
      broken,
      {
        valid: false,
        firstBrokenId: victim,
        checked: 4,
        startedAfterId: second.verifiedThroughId,
        verifiedThroughId: null
      },
      'the altered new row is named'
    )
    t.match(
      await verify(b),
      { valid: false, firstBrokenId: victim, startedAfterId: second.verifiedThroughId },
      'a broken run does not move the checkpoint past the break'
    )
  }
)

void t.test('a row altered before the checkpoint escapes the incremental run but not ?full=true', async (t) => {
  const b = await startTestBroker(t, { poller: false })
  const db = b.broker.database.db
  await append(db, 10, 'r')
  await verify(b)
  const victim = (
    await db.selectFrom('audit_events').select('id').where('request_id', '=', 'r-3').executeTakeFirstOrThrow()
  ).id
  await behindTheTriggersBack(db, sql`update audit_events set detail = '{"forged": true}'::jsonb where id = ${victim}`)
  t.match(
    await verify(b),
    { valid: true, full: false, checked: 1 },
    'incremental: only the previous run’s own row is new'
  )
  t.match(await verify(b, '?full=true'), { valid: false, full: true, startedAfterId: null, firstBrokenId: victim })
})

void t.test(
  'while a run holds the lease (this replica or another), a call gets 409 with Retry-After; afterwards it runs',
  async (t) => {
    const b = await startTestBroker(t, { poller: false })
    const db = b.broker.database.db
    const lease = await takeVerificationLease(db, 60_000)
    t.ok(lease !== undefined, 'another replica’s run takes the lease')
    const busy = await b.request({ method: 'GET', url: '/v1/audit/verify' })
    t.equal(busy.statusCode, 409)
    t.match(busy.headers['content-type'], /^application\/problem\+json/)
    t.match(busy.json(), { status: 409, detail: /already running/ })
    t.equal(busy.headers['retry-after'], '5')
    await releaseVerificationLease(db, null)
    t.equal(
      (await b.request({ method: 'GET', url: '/v1/audit/verify' })).statusCode,
      200,
      'once released, the next call runs'
    )
  }
)

void t.test(
  'in one process, a call while a run is under way is busy at once, without touching the database',
  async (t) => {
    const { db } = await openMigratedDatabase(t)
    await append(db, 20, 'r')
    const verifier = new AuditChainVerifier(db)
    const [a, c] = await Promise.all([verifier.verify({ full: false }), verifier.verify({ full: true })])
    t.match(a, { kind: 'verified', verification: { valid: true, checked: 20 } })
    t.same(c, { kind: 'busy' })
    t.match(
      await verifier.verify({ full: false }),
      { kind: 'verified', verification: { valid: true, checked: 0 } },
      'then free again; nothing new to walk'
    )
  }
)

void t.test('a lease left by a replica that died expires by itself', async (t) => {
  const { db } = await openMigratedDatabase(t)
  t.ok((await takeVerificationLease(db, 60_000)) !== undefined)
  t.equal(await takeVerificationLease(db, 60_000), undefined, 'held')
  // The dead replica's lease, a minute later.
  await sql`update audit_verification set running_until = now() - interval '1 second'`.execute(db)
  t.ok((await takeVerificationLease(db, 60_000)) !== undefined, 'an expired lease is taken over')
  t.equal(await takeVerificationLease(db, 60_000), undefined, 'a live one is not')
})
