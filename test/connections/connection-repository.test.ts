// The repository's lookups are served by indexes: each connection list filter, and the poller's due query.
// The queries checked are the ones the repository itself sends (captured through a Kysely plugin), explained
// with sequential scans disabled so that a few rows suffice: a plan that still scans the table has no index.
import t from 'tap'
import { sql } from 'kysely'
import {
  claimDueConnections,
  listConnections,
  type ConnectionFilters
} from '../../src/connections/connection-repository.js'
import { oldestScheduledPoll, rescheduleUnchanged } from '../../src/poller/poll-repository.js'
import { testConnectionValues } from '../support/connection-rows.js'
import { openMigratedDatabase } from '../support/migrated-database.js'
import { firstQuery, indexesUsed, planOf, scansTable } from '../support/query-plan.js'
import { BROKER_STATES } from '../../src/domain/connection-states.js'

void t.test('connection lookups use an index', async (t) => {
  const { db } = await openMigratedDatabase(t)
  const teams = ['crm', 'marketing', 'support']
  const states = BROKER_STATES
  await db
    .insertInto('connections')
    .values(
      Array.from({ length: 60 }, (_, i) =>
        testConnectionValues({
          team: teams[i % 3],
          name: `connection ${i % 20}`,
          state: states[i % 6],
          sandbox_name: i % 2 === 0 ? 'prod' : 'dev',
          connection_spec_id:
            i % 4 === 0 ? '51ae16c2-bdad-42fd-9fce-8d5dfddaf140' : 'cfc0fee1-7dc0-40ef-b73e-d8b134c436f5',
          flow_connection_id: `flow-${i}`,
          next_poll_at: i % 5 === 0 ? null : new Date(Date.now() + (i - 30) * 1000)
        })
      )
    )
    .execute()
  await sql`analyze connections`.execute(db)

  const SINGLE: Array<[string, ConnectionFilters, string]> = [
    ['team', { team: 'crm' }, 'connections_team_id_idx'],
    ['flowConnectionId', { flowConnectionId: 'flow-7' }, 'connections_flow_connection_id_key'],
    ['name', { name: 'connection 3' }, 'connections_name_id_idx'],
    ['connectionSpecId', { connectionSpecId: '51ae16c2-bdad-42fd-9fce-8d5dfddaf140' }, 'connections_spec_id_idx'],
    ['state', { state: 'enabled' }, 'connections_state_id_idx'],
    ['sandboxName', { sandboxName: 'dev' }, 'connections_sandbox_id_idx']
  ]
  for (const [name, filters, index] of SINGLE) {
    void t.test(`the ${name} filter uses ${index}`, async (t) => {
      const query = await firstQuery(db, async (db) => await listConnections(db, filters, { limit: 50 }))
      const plan = await planOf(db, query)
      t.notOk(scansTable(plan), 'no sequential scan')
      t.ok(indexesUsed(plan).includes(index), `uses ${index} (plan: ${indexesUsed(plan).join(', ') || 'no index'})`)
    })
  }

  // A team's key always filters by its team too; every combination, and the next page, must stay indexed.
  for (const [name, filters] of SINGLE.slice(1)) {
    void t.test(`a team's ${name} filter on a later page uses an index`, async (t) => {
      const query = await firstQuery(
        db,
        async (db) =>
          await listConnections(
            db,
            { ...filters, team: 'crm' },
            { limit: 50, afterId: '00000000-0000-0000-0000-000000000000' }
          )
      )
      const plan = await planOf(db, query)
      t.notOk(scansTable(plan), 'no sequential scan')
      t.ok(indexesUsed(plan).length > 0, `uses an index (${indexesUsed(plan).join(', ')})`)
    })
  }

  void t.test('the unfiltered (admin) list pages through the primary key', async (t) => {
    const query = await firstQuery(
      db,
      async (db) => await listConnections(db, {}, { limit: 50, afterId: '00000000-0000-0000-0000-000000000000' })
    )
    const plan = await planOf(db, query)
    t.notOk(scansTable(plan))
    t.ok(indexesUsed(plan).includes('connections_pkey'), indexesUsed(plan).join(', '))
  })

  void t.test('the poller’s due query uses connections_due_idx', async (t) => {
    const now = new Date()
    const query = await firstQuery(
      db,
      async (db) => await claimDueConnections(db, 'explain-owner', now, new Date(now.getTime() + 1000), 100)
    )
    t.match(query.sql, /for update skip locked/, 'the claim query itself')
    const plan = await planOf(db, query)
    t.notOk(scansTable(plan), 'no sequential scan')
    t.ok(
      indexesUsed(plan).includes('connections_due_idx'),
      `uses connections_due_idx (plan: ${indexesUsed(plan).join(', ') || 'no index'})`
    )
  })

  void t.test('the poller-lag query (read on every /metrics scrape) uses connections_due_idx', async (t) => {
    const query = await firstQuery(db, async (db) => await oldestScheduledPoll(db))
    const plan = await planOf(db, query)
    t.notOk(scansTable(plan), 'no sequential scan')
    t.ok(
      indexesUsed(plan).includes('connections_due_idx'),
      `uses connections_due_idx (plan: ${indexesUsed(plan).join(', ') || 'no index'})`
    )
  })

  void t.test('rescheduling a batch of unchanged polls finds its rows by primary key', async (t) => {
    const ids = (await db.selectFrom('connections').select('id').limit(3).execute()).map((r) => r.id)
    const polls = ids.map((id) => ({
      id,
      state: 'enabled',
      downstreamState: 'enabled',
      nextPollAt: new Date(),
      etag: undefined
    }))
    const query = await firstQuery(db, async (db) => await rescheduleUnchanged(db, 'explain-owner', polls), 'RawNode')
    const plan = await planOf(db, query)
    t.notOk(scansTable(plan), 'no sequential scan')
    t.ok(
      indexesUsed(plan).includes('connections_pkey'),
      `uses connections_pkey (plan: ${indexesUsed(plan).join(', ') || 'no index'})`
    )
  })
})
