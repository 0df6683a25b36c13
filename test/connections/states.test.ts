// nextState, the one function that decides every broker state transition, checked cell by cell:
// every broker state against every kind of observation, including downstream states the broker does not know.
import t from 'tap'
import {
  BROKER_STATES,
  isTerminal,
  nextState,
  type BrokerState,
  type Observation,
  type Transition
} from '../../src/connections/state/states.js'

/** The columns of the table: one observation per kind, and each downstream state Flow Service may report. */
const OBSERVATIONS = {
  'downstream initializing': { kind: 'downstream_state', state: 'initializing' },
  'downstream enabled': { kind: 'downstream_state', state: 'enabled' },
  'downstream disabled': { kind: 'downstream_state', state: 'disabled' },
  'downstream enabled-finalizing': { kind: 'downstream_state', state: 'enabled-finalizing' },
  'downstream gone': { kind: 'downstream_gone' },
  rejected: { kind: 'rejected', reason: 'Flow Service rejected the connection (1418-400): bad password' },
  abandoned: { kind: 'abandoned', reason: 'the secret store was unavailable' },
  'deleted by request': { kind: 'deleted_by_request' }
} as const satisfies Record<string, Observation>
type Column = keyof typeof OBSERVATIONS

// Every observation kind has a column (a new kind fails to compile here until the table covers it).
const KINDS_COVERED = {
  downstream_state: true,
  downstream_gone: true,
  rejected: true,
  abandoned: true,
  deleted_by_request: true
} satisfies Record<Observation['kind'], true>

/** What a cell expects: no change (null), or the new state and a reason (exact, or a pattern). */
type Cell = null | { to: BrokerState; reason: string | RegExp | null }

const UNKNOWN_REASON = /"enabled-finalizing"/
const GONE_DOWNSTREAM = 'deleted in Flow Service outside the broker (404 on GET)'
const DELETED_BY_REQUEST = 'deleted through the broker'
const NOTHING: Record<Column, Cell> = {
  'downstream initializing': null,
  'downstream enabled': null,
  'downstream disabled': null,
  'downstream enabled-finalizing': null,
  'downstream gone': null,
  rejected: null,
  abandoned: null,
  'deleted by request': null
}

const TABLE: Record<BrokerState, Record<Column, Cell>> = {
  // Any downstream report confirms the connection exists, so pending always moves on (an unknown state to initializing).
  pending: {
    'downstream initializing': { to: 'initializing', reason: null },
    'downstream enabled': { to: 'enabled', reason: null },
    'downstream disabled': { to: 'disabled', reason: null },
    'downstream enabled-finalizing': { to: 'initializing', reason: UNKNOWN_REASON },
    'downstream gone': { to: 'failed', reason: 'Flow Service has no such connection' },
    rejected: { to: 'failed', reason: OBSERVATIONS.rejected.reason },
    abandoned: { to: 'failed', reason: OBSERVATIONS.abandoned.reason },
    'deleted by request': { to: 'deleted', reason: DELETED_BY_REQUEST }
  },
  initializing: {
    'downstream initializing': null,
    'downstream enabled': { to: 'enabled', reason: null },
    'downstream disabled': { to: 'disabled', reason: null },
    'downstream enabled-finalizing': { to: 'initializing', reason: UNKNOWN_REASON },
    'downstream gone': { to: 'deleted', reason: GONE_DOWNSTREAM },
    rejected: null,
    abandoned: null,
    'deleted by request': { to: 'deleted', reason: DELETED_BY_REQUEST }
  },
  enabled: {
    'downstream initializing': { to: 'initializing', reason: null },
    'downstream enabled': null,
    'downstream disabled': { to: 'disabled', reason: null },
    'downstream enabled-finalizing': { to: 'enabled', reason: UNKNOWN_REASON },
    'downstream gone': { to: 'deleted', reason: GONE_DOWNSTREAM },
    rejected: null,
    abandoned: null,
    'deleted by request': { to: 'deleted', reason: DELETED_BY_REQUEST }
  },
  disabled: {
    'downstream initializing': { to: 'initializing', reason: null },
    'downstream enabled': { to: 'enabled', reason: null },
    'downstream disabled': null,
    'downstream enabled-finalizing': { to: 'disabled', reason: UNKNOWN_REASON },
    'downstream gone': { to: 'deleted', reason: GONE_DOWNSTREAM },
    rejected: null,
    abandoned: null,
    'deleted by request': { to: 'deleted', reason: DELETED_BY_REQUEST }
  },
  // Terminal: nothing moves them.
  deleted: NOTHING,
  failed: NOTHING
}

function describe(cell: Cell | Transition | null): string {
  if (cell === null) return 'no change'
  return `${cell.to} (${cell.reason === null ? 'no reason' : String(cell.reason)})`
}

void t.test('the table has a row for every broker state and a column for every observation kind', async (t) => {
  t.same(Object.keys(TABLE).sort(), [...BROKER_STATES].sort())
  const kinds = new Set(Object.values(OBSERVATIONS).map((o) => o.kind))
  t.same([...kinds].sort(), Object.keys(KINDS_COVERED).sort())
})

for (const from of BROKER_STATES) {
  void t.test(`from ${from}`, async (t) => {
    for (const [column, observation] of Object.entries(OBSERVATIONS) as Array<[Column, Observation]>) {
      const expected = TABLE[from][column]
      const actual = nextState(from, observation)
      const name = `${from} + ${column} → ${describe(expected)}`
      if (expected === null) {
        t.equal(actual, null, name)
        continue
      }
      if (actual === null) {
        t.fail(`${name}, got no change`)
        continue
      }
      t.equal(actual.to, expected.to, `${name}: state`)
      if (expected.reason instanceof RegExp) t.match(actual.reason, expected.reason, `${name}: reason`)
      else t.equal(actual.reason, expected.reason, `${name}: reason`)
    }
  })
}

void t.test('terminal states never move, whatever Flow Service reports', async (t) => {
  const reports = ['initializing', 'enabled', 'disabled', 'deleted', 'failed', 'pending', 'enabled-finalizing', '']
  for (const from of ['deleted', 'failed'] as const) {
    for (const state of reports)
      t.equal(nextState(from, { kind: 'downstream_state', state }), null, `${from} ignores downstream "${state}"`)
  }
})

void t.test('an unknown downstream state keeps the broker state and quotes the string verbatim', async (t) => {
  const strange = [
    'enabled-finalizing',
    'ENABLED',
    'Enabled',
    'deleted',
    'failed',
    'pending',
    '',
    ' enabled',
    'état ✓',
    'a"quote'
  ]
  for (const state of strange) {
    const transition = nextState('enabled', { kind: 'downstream_state', state })
    t.equal(transition?.to, 'enabled', `"${state}" keeps enabled`)
    t.ok(transition?.reason?.includes(`"${state}"`), `"${state}" is quoted verbatim in the reason`)
  }
})

void t.test('downstream strings that name Object.prototype members are unknown states, not transitions', async (t) => {
  // A lookup in a plain object would find constructor, toString, ... and turn a function into a broker state.
  for (const state of ['constructor', 'toString', 'hasOwnProperty', '__proto__', 'valueOf']) {
    const transition = nextState('enabled', { kind: 'downstream_state', state })
    t.equal(transition?.to, 'enabled', `"${state}" keeps enabled`)
    t.match(transition?.reason, `"${state}"`, `"${state}" is quoted in the reason`)
  }
})

void t.test('isTerminal is true for deleted and failed only', async (t) => {
  t.same(BROKER_STATES.filter(isTerminal), ['deleted', 'failed'])
  t.equal(
    isTerminal('enabled-finalizing' as BrokerState),
    false,
    'a string the table does not know (a row written by a newer version)'
  )
})
