// recordObservation: applies what the broker learned to a connection, and records only real changes —
// the state, a connection_events row and an audit row together, in the caller's transaction.
import { Counter } from 'prom-client'
import t from 'tap'
import type { Actor } from '../../src/audit/audit-log.js'
import { recordObservation, type ObservationContext } from '../../src/connections/state/record-observation.js'
import type { Observation } from '../../src/connections/state/states.js'
import { afterCommit } from '../../src/connections/state/transitions.js'
import type { ConnectionRow } from '../../src/db/schema.js'
import { transaction } from '../../src/db/transaction.js'
import { transitionCounter } from '../../src/metrics/transition-counter.js'
import { auditRows, connectionEvents, connectionRow, insertTestConnection } from '../support/connection-rows.js'
import { openMigratedDatabase } from '../support/migrated-database.js'

const POLLER: Actor = { kind: 'system', name: 'poller' }
const BY_POLLER: ObservationContext = { observedBy: 'poller', actor: POLLER, requestId: null }
const downstream = (state: string): Observation => ({ kind: 'downstream_state', state })

void t.test('recordObservation', async (t) => {
  const { db } = await openMigratedDatabase(t)

  async function observe(
    row: ConnectionRow,
    observation: Observation,
    ctx: ObservationContext = BY_POLLER
  ): Promise<ConnectionRow> {
    return await db.transaction().execute(async (tx) => await recordObservation(tx, row, observation, ctx))
  }

  /** Observes each state in turn, always from the row as stored. */
  async function observeAll(id: string, states: string[]): Promise<ConnectionRow> {
    let row = await connectionRow(db, id)
    for (const state of states) row = await observe(await connectionRow(db, id), downstream(state))
    return row
  }

  void t.test('a new state is stored with one connection_events row and one audit row', async (t) => {
    const row = await insertTestConnection(db, { state: 'initializing', downstream_state: 'initializing' })
    const updated = await observe(row, downstream('enabled'))

    t.equal(updated.state, 'enabled')
    t.equal(updated.state_reason, null)
    t.equal(updated.downstream_state, 'enabled')
    t.equal((await connectionRow(db, row.id)).state, 'enabled', 'the returned row is what is stored')

    const events = await connectionEvents(db, row.id)
    t.match(events, [
      {
        from_state: 'initializing',
        to_state: 'enabled',
        reason: null,
        downstream_state: 'enabled',
        observed_by: 'poller',
        request_id: null
      }
    ])
    t.equal(events.length, 1)

    const audit = await auditRows(db, row.id)
    t.equal(audit.length, 1)
    t.match(audit[0], {
      actor: 'poller',
      action: 'connection.state_changed',
      outcome: 'success',
      changed_fields: ['state'],
      detail: { from: 'initializing', to: 'enabled', downstreamState: 'enabled', observedBy: 'poller' }
    })
  })

  void t.test('a request’s change carries its request id and the caller as actor', async (t) => {
    const row = await insertTestConnection(db, { state: 'enabled', downstream_state: 'enabled' })
    await observe(
      row,
      { kind: 'deleted_by_request' },
      { observedBy: 'request', actor: { kind: 'key', team: 'crm', keyId: 'key-1' }, requestId: 'req-42' }
    )

    t.match(await connectionEvents(db, row.id), [
      { from_state: 'enabled', to_state: 'deleted', observed_by: 'request', request_id: 'req-42' }
    ])
    t.match(await auditRows(db, row.id), [
      { actor: 'key:key-1', actor_team: 'crm', actor_key_id: 'key-1', request_id: 'req-42' }
    ])
  })

  void t.test('the same state again records nothing and leaves the row untouched', async (t) => {
    const row = await insertTestConnection(db, { state: 'enabled', downstream_state: 'enabled' })
    const after = await observe(row, downstream('enabled'))

    t.same(after, row)
    t.same(await connectionRow(db, row.id), row)
    t.equal((await connectionEvents(db, row.id)).length, 0)
    t.equal((await auditRows(db, row.id)).length, 0)
  })

  void t.test('a patch without a state change is stored but not recorded as a change', async (t) => {
    const row = await insertTestConnection(db, { state: 'enabled', downstream_state: 'enabled', etag: '"1"' })
    const after = await observe(row, downstream('enabled'), { ...BY_POLLER, patch: { etag: '"2"' } })

    t.equal(after.etag, '"2"')
    t.equal(after.state, 'enabled')
    t.equal((await connectionEvents(db, row.id)).length, 0)
    t.equal((await auditRows(db, row.id)).length, 0)
  })

  void t.test('the state, its event and its audit row roll back together with the caller’s transaction', async (t) => {
    const row = await insertTestConnection(db, { state: 'initializing', downstream_state: 'initializing' })
    await t.rejects(
      db.transaction().execute(async (tx) => {
        await recordObservation(tx, row, downstream('enabled'), BY_POLLER)
        throw new Error('the caller fails after recording')
      }),
      /the caller fails/
    )

    t.equal((await connectionRow(db, row.id)).state, 'initializing')
    t.equal((await connectionEvents(db, row.id)).length, 0)
    t.equal((await auditRows(db, row.id)).length, 0)
  })

  void t.test('an unknown downstream state keeps the broker state and the string verbatim', async (t) => {
    const row = await insertTestConnection(db, { state: 'enabled', downstream_state: 'enabled' })
    const after = await observe(row, downstream('enabled-finalizing'))

    t.equal(after.state, 'enabled')
    t.equal(after.downstream_state, 'enabled-finalizing')
    t.match(after.state_reason, /"enabled-finalizing"/)
    t.match(await connectionEvents(db, row.id), [
      {
        from_state: 'enabled',
        to_state: 'enabled',
        downstream_state: 'enabled-finalizing',
        reason: /"enabled-finalizing"/
      }
    ])
    t.equal((await auditRows(db, row.id)).length, 1)
  })

  void t.test('an unknown downstream state seen on every poll is recorded once', async (t) => {
    const row = await insertTestConnection(db, { state: 'enabled', downstream_state: 'enabled' })
    await observeAll(row.id, ['enabled-finalizing', 'enabled-finalizing', 'enabled-finalizing'])

    t.equal((await connectionEvents(db, row.id)).length, 1)
    t.equal((await auditRows(db, row.id)).length, 1)
  })

  void t.test('a different unknown downstream state is a new record', async (t) => {
    const row = await insertTestConnection(db, { state: 'disabled', downstream_state: 'disabled' })
    const after = await observeAll(row.id, ['disabled-pending-review', 'disabled-archived'])

    t.equal(after.state, 'disabled')
    t.match(after.state_reason, /"disabled-archived"/)
    t.same(
      (await connectionEvents(db, row.id)).map((e) => e.downstream_state),
      ['disabled-pending-review', 'disabled-archived']
    )
  })

  void t.test('returning to the known state clears the reason, once', async (t) => {
    const row = await insertTestConnection(db, { state: 'enabled', downstream_state: 'enabled' })
    const after = await observeAll(row.id, ['enabled-finalizing', 'enabled', 'enabled'])

    t.equal(after.state, 'enabled')
    t.equal(after.state_reason, null)
    t.equal(after.downstream_state, 'enabled')
    t.match(await connectionEvents(db, row.id), [
      { to_state: 'enabled', downstream_state: 'enabled-finalizing' },
      { from_state: 'enabled', to_state: 'enabled', downstream_state: 'enabled', reason: null }
    ])
    t.equal((await connectionEvents(db, row.id)).length, 2)
  })

  void t.test('moving from an unknown state to another known state clears the reason too', async (t) => {
    const row = await insertTestConnection(db, { state: 'enabled', downstream_state: 'enabled' })
    const after = await observeAll(row.id, ['enabled-finalizing', 'disabled'])

    t.equal(after.state, 'disabled')
    t.equal(after.state_reason, null)
    t.same(
      (await connectionEvents(db, row.id)).map((e) => e.to_state),
      ['enabled', 'disabled']
    )
  })

  void t.test(
    'a terminal connection records nothing and keeps its reason, whatever Flow Service reports',
    async (t) => {
      const reason = 'Flow Service rejected the connection (1418-400): bad password'
      const failed = await insertTestConnection(db, { state: 'failed', state_reason: reason, downstream_state: null })
      const after = await observe(failed, downstream('enabled'))

      t.equal(after.state, 'failed')
      t.equal(after.state_reason, reason)
      t.equal((await connectionEvents(db, failed.id)).length, 0)
      t.equal((await auditRows(db, failed.id)).length, 0)
    }
  )

  void t.test(
    'the metrics count a transition once its transaction commits, once, and never one rolled back',
    async (t) => {
      const transitions = new Counter({
        name: 'test_transitions_total',
        help: 'test',
        labelNames: ['from', 'to', 'observed_by'],
        registers: []
      })
      const counted = async (): Promise<number> =>
        (await transitions.get()).values
          .filter((v) => v.labels.from === 'initializing' && v.labels.to === 'enabled')
          .reduce((sum, v) => sum + v.value, 0)
      const listener = transitionCounter({ transitions })
      const row = await insertTestConnection(db, { state: 'initializing', downstream_state: 'initializing' })

      await t.rejects(
        transaction(db, async (tx, onCommit) => {
          await recordObservation(tx, row, downstream('enabled'), {
            ...BY_POLLER,
            onTransition: afterCommit(onCommit, listener)
          })
          throw new Error('the rest of the change failed')
        })
      )
      t.equal((await connectionRow(db, row.id)).state, 'initializing', 'rolled back')
      t.equal(await counted(), 0, 'a rolled-back transition is not counted')

      await transaction(db, async (tx, onCommit) => {
        await recordObservation(tx, row, downstream('enabled'), {
          ...BY_POLLER,
          onTransition: afterCommit(onCommit, listener)
        })
      })
      t.equal((await connectionRow(db, row.id)).state, 'enabled', 'committed')
      t.equal(await counted(), 1, 'a committed transition is counted once')
      t.same(
        (await transitions.get()).values.map((v) => v.labels),
        [{ from: 'initializing', to: 'enabled', observed_by: 'poller' }],
        'with its labels, and nothing else'
      )
    }
  )

  void t.test('a pending connection Flow Service never had becomes failed', async (t) => {
    const row = await insertTestConnection(db, { state: 'pending', downstream_state: null })
    const after = await observe(
      row,
      { kind: 'downstream_gone' },
      { observedBy: 'reconciler', actor: { kind: 'system', name: 'reconciler' }, requestId: null }
    )

    t.equal(after.state, 'failed')
    t.match(await connectionEvents(db, row.id), [
      { from_state: 'pending', to_state: 'failed', observed_by: 'reconciler' }
    ])
  })
})
