// openDatabase: the same behaviour on embedded PGlite and on a PostgreSQL server — int8 as strings,
// concurrent transactions kept apart, readiness that fails once closed.
import { sql } from 'kysely'
import t from 'tap'
import { insertConnectionEvent } from '../../src/connections/connection-repository.js'
import { insertTestConnection } from '../support/connection-rows.js'
import { openMigratedDatabase } from '../support/migrated-database.js'

void t.test('database', async (t) => {
  const database = await openMigratedDatabase(t)
  const { db } = database

  void t.test('int8 values come back as strings, exactly, beyond 2^53 too', async (t) => {
    const { rows } = await sql<{
      big: unknown
      small: unknown
    }>`select 9007199254740993::int8 as big, 5::int8 as small`.execute(db)
    t.same(rows[0], { big: '9007199254740993', small: '5' })
  })

  void t.test('generated bigint ids are strings, as the schema types say', async (t) => {
    const row = await insertTestConnection(db)
    await insertConnectionEvent(db, {
      connectionId: row.id,
      fromState: null,
      toState: 'pending',
      reason: null,
      downstreamState: null,
      observedBy: 'request',
      requestId: null
    })
    const event = await db
      .selectFrom('connection_events')
      .select('id')
      .where('connection_id', '=', row.id)
      .executeTakeFirstOrThrow()
    t.type(event.id, 'string')
  })

  void t.test('concurrent transactions stay apart: one rolling back does not undo the other', async (t) => {
    const kept = await insertTestConnection(db, { state: 'initializing' })
    const undone = await insertTestConnection(db, { state: 'initializing' })
    const results = await Promise.allSettled([
      db.transaction().execute(async (tx) => {
        await tx.updateTable('connections').set({ state: 'enabled' }).where('id', '=', kept.id).execute()
        await new Promise((resolve) => setTimeout(resolve, 20))
      }),
      db.transaction().execute(async (tx) => {
        await tx.updateTable('connections').set({ state: 'enabled' }).where('id', '=', undone.id).execute()
        throw new Error('roll me back')
      })
    ])
    t.same(
      results.map((r) => r.status),
      ['fulfilled', 'rejected']
    )
    const states = await db
      .selectFrom('connections')
      .select(['id', 'state'])
      .where('id', 'in', [kept.id, undone.id])
      .execute()
    t.same(Object.fromEntries(states.map((s) => [s.id, s.state])), {
      [kept.id]: 'enabled',
      [undone.id]: 'initializing'
    })
  })

  // Last: it closes the file's database.
  void t.test('ping resolves while the database is open and rejects once it is closed', async (t) => {
    await t.resolves(database.ping())
    await database.close()
    await t.rejects(database.ping())
  })
})
