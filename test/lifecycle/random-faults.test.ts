// Property-based: random sequences of creates, rotations, renames and deletes against an emulator that answers each
// Flow Service call, at random, from its whole repertoire (faults, lost answers, late landings, odd 200s, answers
// about other ids, echoes of the request). Once the faults stop and the poller and reconciler have run, these hold:
// - at most one downstream connection per broker connection, and none for a failed or deleted one;
// - no live downstream connection without a live broker row that records it;
// - the secret version a live row names is exactly what Flow Service holds;
// - never a 500, and no secret value in any answer, log line or row.
import { randomBytes } from 'node:crypto'
import fc from 'fast-check'
import { pino } from 'pino'
import t from 'tap'
import { isTerminal } from '../../src/connections/state/states.js'
import { StatePoller } from '../../src/poller/state-poller.js'
import { allRows, eventually, salesforceBody } from '../support/lifecycle-fixtures.js'
import { startTestBroker } from '../support/test-broker.js'

const b = await startTestBroker(t, {
  poller: false,
  reconciler: false,
  readyDelayMs: 0,
  env: {
    FLOW_SERVICE_TIMEOUT_MS: '300',
    CREATE_DEADLINE_MS: '2000',
    CHANGE_DEADLINE_MS: '2000',
    PENDING_GRACE_MS: '2600',
    GONE_CONFIRM_MS: '100',
    API_RATE_LIMIT_PER_MINUTE: '0'
  }
})
const control = b.emulator.control
const db = b.broker.database.db
const SECRETS = new Set<string>()
const answers: string[] = []

/** Runs per suite run; PROPERTY_RUNS explores more (each run is a fresh seed and sequence). */
const RUNS = Number(process.env.PROPERTY_RUNS ?? 20)
/** The suite replays the same cases every time (deterministic); PROPERTY_SEED explores others. */
const DEFAULT_SEED = 20261203

const NAMES = ['ACME, Inc. Salesforce', 'plain', 'quote "q" \'s\'', 'a==b,c', 'Ünïcødé 🚀', `${'x'.repeat(240)}, tail`]

type Step = { op: 'create'; name: string } | { op: 'rotate' | 'rename' | 'delete'; target: number }

const step: fc.Arbitrary<Step> = fc.oneof(
  { weight: 3, arbitrary: fc.constantFrom(...NAMES).map((name): Step => ({ op: 'create', name })) },
  { weight: 2, arbitrary: fc.nat(7).map((target): Step => ({ op: 'rotate', target })) },
  { weight: 1, arbitrary: fc.nat(7).map((target): Step => ({ op: 'rename', target })) },
  { weight: 1, arbitrary: fc.nat(7).map((target): Step => ({ op: 'delete', target })) }
)

function secret(): string {
  const value = `Rnd-${randomBytes(9).toString('base64url')}`
  SECRETS.add(value)
  return value
}

async function run(steps: Step[], ids: string[]): Promise<void> {
  for (const s of steps) {
    let res
    if (s.op === 'create') {
      res = await b.request({
        method: 'POST',
        url: '/v1/connections',
        body: salesforceBody({ name: s.name, password: secret(), securityToken: secret() })
      })
      const id = res.json<{ id?: string; connectionId?: string }>()
      const made = id.id ?? id.connectionId
      if (made !== undefined) ids.push(made)
    } else {
      const id = ids[s.target % Math.max(ids.length, 1)]
      if (id === undefined) continue
      if (s.op === 'rotate') {
        res = await b.request({
          method: 'PUT',
          url: `/v1/connections/${id}/credentials`,
          body: { params: salesforceBody({ password: secret(), securityToken: secret() }).auth.params }
        })
      } else if (s.op === 'rename') {
        res = await b.request({
          method: 'PATCH',
          url: `/v1/connections/${id}`,
          body: { name: `renamed, ${randomBytes(2).toString('hex')}` }
        })
      } else {
        res = await b.request({ method: 'DELETE', url: `/v1/connections/${id}` })
      }
    }
    answers.push(res.body)
    if (res.statusCode === 500) throw new Error(`${s.op} answered 500: ${res.body}`)
  }
}

/** What the poller and reconciler do in the background, until nothing is left unsettled for this run's rows. */
async function settle(ids: string[]): Promise<void> {
  if (ids.length === 0) return
  const poller = new StatePoller(
    { db, flow: b.broker.flow, secrets: b.broker.secrets, logger: pino({ level: 'silent' }) },
    {
      owner: 'property-poller',
      fastIntervalMs: 50,
      steadyIntervalMs: 200,
      batchSize: 100,
      leaseMs: 10_000,
      goneConfirmMs: 100,
      secretGraceMs: 3_600_000
    }
  )
  // Rounds until nothing is left unsettled: a 429's Retry-After (up to a few seconds) pauses every call meanwhile.
  let last = ''
  await eventually(
    async () => {
      // Time passes: every grace period and watch of this run's rows is over, every poll due.
      await db
        .updateTable('connections')
        .set({ lease_owner: null, lease_until: null, next_poll_at: new Date(0) })
        .where('id', 'in', ids)
        .where('next_poll_at', 'is not', null)
        .execute()
      await db
        .updateTable('connections')
        .set({ created_at: new Date(Date.now() - 60_000), lease_owner: null, lease_until: null })
        .where('id', 'in', ids)
        .where('state', '=', 'pending')
        .execute()
      await db
        .updateTable('connections')
        .set({ duplicate_watch_until: new Date(Date.now() - 1) })
        .where('id', 'in', ids)
        .where('duplicate_watch_until', 'is not', null)
        .execute()
      await db
        .updateTable('connections')
        .set({ gone_suspected_at: new Date(Date.now() - 60_000) })
        .where('id', 'in', ids)
        .where('gone_suspected_at', 'is not', null)
        .execute()
      await poller.sweep()
      const swept = await b.broker.reconciler.sweep()
      const open = await db
        .selectFrom('connections')
        .select(['id', 'state', 'pending_change', 'duplicate_watch_until', 'gone_suspected_at', 'flow_connection_id'])
        .where('id', 'in', ids)
        .where((eb) =>
          eb.or([
            eb('state', '=', 'pending'),
            eb('pending_change', 'is not', null),
            eb('duplicate_watch_until', 'is not', null),
            eb('gone_suspected_at', 'is not', null)
          ])
        )
        .execute()
      if (open.length === 0) return true
      last = `${JSON.stringify(open)} last sweep ${JSON.stringify(swept)} ${await diagnose(open[0]?.id ?? '')}`
      return undefined
    },
    15_000,
    'every row to settle'
  ).catch((err: unknown) => {
    throw new Error(`${String(err)}: ${last}`)
  })
}

/** What happened to one connection, for a failure message: its events, audit actions and the faults injected. */
async function diagnose(id: string): Promise<string> {
  const events = await db
    .selectFrom('connection_events')
    .select(['from_state', 'to_state', 'observed_by', 'reason'])
    .where('connection_id', '=', id)
    .orderBy('id')
    .execute()
  const audit = await db
    .selectFrom('audit_events')
    .select(['action', 'outcome', 'detail'])
    .where('connection_id', '=', id)
    .orderBy('id')
    .execute()
  return `events ${JSON.stringify(events)} audit ${JSON.stringify(audit)} faults ${JSON.stringify(control.chaosLog())} requests ${JSON.stringify(control.recentRequests().map((r) => [r.method, r.path.slice(-12), r.status, r.fault]))}`
}

async function checkInvariants(ids: string[]): Promise<void> {
  const rows = (await allRows(b)).filter((r) => ids.includes(r.id))
  const stored = control.storedConnections()
  const byMarker = new Map<string, string[]>()
  for (const c of stored) {
    const owner = /\[credential-broker:([0-9a-f-]{36})\]$/.exec(c.description ?? '')?.[1] ?? '(none)'
    byMarker.set(owner, [...(byMarker.get(owner) ?? []), c.id])
  }
  for (const row of rows) {
    const downstream = byMarker.get(row.id) ?? []
    if (isTerminal(row.state)) {
      if (downstream.length > 0)
        throw new Error(
          `${row.state} connection ${row.id} still has downstream ${downstream.join(', ')}; ${await diagnose(row.id)}`
        )
      continue
    }
    if (downstream.length !== 1 || downstream[0] !== row.flow_connection_id) {
      throw new Error(
        `${row.state} connection ${row.id} records ${String(row.flow_connection_id)} but downstream holds [${downstream.join(', ')}]; ${await diagnose(row.id)}`
      )
    }
    const held = stored.find((c) => c.id === row.flow_connection_id)
    const live = await b.broker.secrets.read(row.id, row.secret_version ?? 0)
    for (const field of row.secret_fields) {
      if (held?.auth.params[field] !== live[field])
        throw new Error(
          `${row.id}: Flow Service holds another ${field} than secret version ${String(row.secret_version)}; ${await diagnose(row.id)}`
        )
    }
  }
  for (const [owner, downstream] of byMarker) {
    const row = rows.find((r) => r.id === owner)
    if (row === undefined || isTerminal(row.state) || row.flow_connection_id !== downstream[0]) {
      throw new Error(`downstream ${downstream.join(', ')} marked for ${owner} has no live broker row recording it`)
    }
  }
}

void t.test('random operations against a randomly failing Flow Service keep every invariant', async (t) => {
  let runs = 0
  let injected = 0
  await fc.assert(
    fc.asyncProperty(
      fc.integer({ min: 1, max: 2 ** 31 - 1 }),
      fc.array(step, { minLength: 1, maxLength: 7 }),
      async (seed, steps) => {
        runs++
        control.reset({ keepTokens: true })
        control.setChaos({ seed, rate: 0.4, maxDelayMs: 150 })
        const ids: string[] = []
        try {
          await run(steps, ids)
        } finally {
          injected += control.chaosLog().length
          control.setChaos(null)
        }
        // Late landings arrive within maxDelayMs; wait for the emulator to have none scheduled.
        await eventually(() => (control.pendingLandings().length === 0 ? true : undefined), 5000, 'late landings')
        await settle(ids)
        await checkInvariants(ids)
      }
    ),
    {
      numRuns: process.env.PROPERTY_PATH !== undefined ? 1 : RUNS,
      endOnFailure: true,
      seed: Number(process.env.PROPERTY_SEED ?? DEFAULT_SEED),
      ...(process.env.PROPERTY_PATH !== undefined ? { path: process.env.PROPERTY_PATH } : {})
    }
  )
  t.equal(runs, process.env.PROPERTY_PATH !== undefined ? 1 : RUNS)
  t.ok(injected >= runs / 2, `the emulator injected ${injected} faults over ${runs} runs`)
  const haystack = [...answers, b.logs(), await b.dumpDatabase()].join('\n')
  const leaked = [...SECRETS].filter(
    (s) => haystack.includes(s) || haystack.includes(Buffer.from(s).toString('base64'))
  )
  t.same(leaked, [], 'no secret value in any answer, log line or row')
})
