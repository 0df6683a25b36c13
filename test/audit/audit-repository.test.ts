// The audit history's queries are served by indexes ending in id, in the paging order: each filter of
// GET /v1/audit, a team reader's own rows, a later page, and the walk verify takes through the chain.
import { sql } from 'kysely'
import t from 'tap'
import { v7 as uuidv7 } from 'uuid'
import { auditEventsInChainOrder, listAuditEvents, type AuditFilters } from '../../src/audit/audit-repository.js'
import { openMigratedDatabase } from '../support/migrated-database.js'
import { firstSelect, indexesUsed, planOf, scansTable, sorts } from '../support/query-plan.js'

void t.test('audit lookups use an index', async (t) => {
  const { db } = await openMigratedDatabase(t)
  // Thousands of rows with a few rare values, as in a real log, so the planner weighs an index against reading
  // the table as it would in production. (Plans need no valid chain, so the rows are made in one statement.)
  const rare = uuidv7()
  await sql`
    insert into audit_events (occurred_at, actor, actor_team, action, connection_id, outcome, changed_fields, prev_hash, hash)
    select now() - (5000 - g) * interval '1 second',
      case when g % 250 = 0 then 'key:rare' when g % 7 = 0 then 'poller' else 'key:k' || (g % 5) end,
      case when g % 250 = 0 then 'rare-team' when g % 7 = 0 then null else 'crm' end,
      case when g % 250 = 0 then 'rare.action' else 'connection.read' end,
      case when g % 250 = 0 then ${rare}::uuid else null end,
      case when g % 250 = 0 then 'denied' else 'success' end,
      '[]'::jsonb, 'x', 'x'
    from generate_series(1, 5000) g`.execute(db)
  await sql`analyze audit_events`.execute(db)

  const CASES: Array<[string, AuditFilters, string]> = [
    ['connectionId', { connectionId: rare }, 'audit_events_connection_idx'],
    ['actor', { actor: 'key:rare' }, 'audit_events_actor_idx'],
    ['action', { action: 'rare.action' }, 'audit_events_action_idx'],
    ['outcome', { outcome: 'denied' }, 'audit_events_outcome_idx'],
    ['a team reader’s own rows', { actorTeam: { team: 'rare-team', orTeamless: false } }, 'audit_events_actor_team_idx']
  ]
  for (const [name, filters, index] of CASES) {
    void t.test(`${name}: ${index}, on the first and a later page`, async (t) => {
      for (const beforeId of [undefined, '4000']) {
        const plan = await planOf(
          db,
          await firstSelect(
            db,
            async (db) =>
              await listAuditEvents(db, filters, { limit: 51, ...(beforeId !== undefined ? { beforeId } : {}) })
          )
        )
        t.notOk(scansTable(plan), 'no sequential scan')
        t.ok(indexesUsed(plan).includes(index), `uses ${index} (plan: ${indexesUsed(plan).join(', ') || 'no index'})`)
      }
    })
  }

  void t.test(
    'the unfiltered (admin) history reads the primary key backwards: a page reads only its own rows',
    async (t) => {
      const plan = await planOf(
        db,
        await firstSelect(db, async (db) => await listAuditEvents(db, {}, { limit: 51, beforeId: '4000' }))
      )
      t.ok(indexesUsed(plan).includes('audit_events_pkey'), indexesUsed(plan).join(', '))
      t.notOk(sorts(plan), 'no sort')
    }
  )

  void t.test(
    'a team reader asking about one of its connections (its rows and the poller’s) uses the connection index',
    async (t) => {
      const plan = await planOf(
        db,
        await firstSelect(
          db,
          async (db) =>
            await listAuditEvents(
              db,
              { connectionId: rare, actorTeam: { team: 'rare-team', orTeamless: true } },
              { limit: 51 }
            )
        )
      )
      t.notOk(scansTable(plan))
      t.ok(indexesUsed(plan).includes('audit_events_connection_idx'), indexesUsed(plan).join(', '))
    }
  )

  void t.test('a time window uses an index', async (t) => {
    const plan = await planOf(
      db,
      await firstSelect(
        db,
        async (db) =>
          await listAuditEvents(db, { since: new Date(Date.now() - 60_000), until: new Date() }, { limit: 51 })
      )
    )
    t.notOk(scansTable(plan))
    t.ok(indexesUsed(plan).length > 0, indexesUsed(plan).join(', '))
  })

  void t.test('verify walks the chain through the primary key', async (t) => {
    const plan = await planOf(
      db,
      await firstSelect(
        db,
        async (db) => await auditEventsInChainOrder(db, { afterId: '2000', throughId: '4000' }, 500)
      )
    )
    t.notOk(scansTable(plan))
    t.ok(indexesUsed(plan).includes('audit_events_pkey'), indexesUsed(plan).join(', '))
    t.notOk(sorts(plan), 'in id order, one page at a time')
  })
})
