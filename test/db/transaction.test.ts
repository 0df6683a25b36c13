// transaction(db, work): what work registers with onCommit runs once the transaction has committed — in order,
// after the change is visible — and never when it rolls back; a callback that throws is logged and the commit stands.
import t from 'tap'
import { transaction } from '../../src/db/transaction.js'
import { captureLogger } from '../support/captured-logger.js'
import { connectionRow, insertTestConnection } from '../support/connection-rows.js'
import { openMigratedDatabase } from '../support/migrated-database.js'

void t.test('transaction', async (t) => {
  const { db } = await openMigratedDatabase(t)

  void t.test('callbacks run after the commit, in the order registered, once each', async (t) => {
    const row = await insertTestConnection(db)
    const heard: string[] = []
    const result = await transaction(db, async (tx, onCommit) => {
      await tx.updateTable('connections').set({ name: 'renamed' }).where('id', '=', row.id).execute()
      onCommit(() => {
        heard.push('first')
      })
      onCommit(() => {
        heard.push('second')
      })
      t.same(heard, [], 'nothing runs before the commit')
      return 'the result'
    })
    t.equal(result, 'the result', "the work's result is returned")
    t.same(heard, ['first', 'second'])
    t.equal((await connectionRow(db, row.id)).name, 'renamed', 'the change committed')
  })

  void t.test('a rolled-back transaction runs none of its callbacks', async (t) => {
    const row = await insertTestConnection(db)
    const heard: string[] = []
    await t.rejects(
      transaction(db, async (tx, onCommit) => {
        await tx.updateTable('connections').set({ name: 'never' }).where('id', '=', row.id).execute()
        onCommit(() => {
          heard.push('committed')
        })
        throw new Error('the change failed')
      }),
      { message: 'the change failed' },
      "the work's error reaches the caller"
    )
    t.same(heard, [], 'no callback ran')
    t.not((await connectionRow(db, row.id)).name, 'never', 'the change rolled back')
  })

  void t.test(
    'a callback that throws is logged, the others still run, and the commit is not turned into an error',
    async (t) => {
      const row = await insertTestConnection(db)
      const log = captureLogger('info')
      const heard: string[] = []
      const result = await transaction(
        db,
        async (tx, onCommit) => {
          await tx.updateTable('connections').set({ name: 'kept' }).where('id', '=', row.id).execute()
          onCommit(() => {
            throw new Error('listener broke')
          })
          onCommit(() => {
            heard.push('after')
          })
          return 'done'
        },
        log.logger
      )
      t.equal(result, 'done')
      t.same(heard, ['after'])
      t.equal((await connectionRow(db, row.id)).name, 'kept')
      t.match(log.lines(), [{ err: { message: 'listener broke' } }], 'logged')
    }
  )
})
