// A transaction whose work can leave something to do once it has committed — tell metrics what it wrote — and
// never if it rolls back. Kysely's own transaction() has no such hook.
import type { Kysely, Transaction } from 'kysely'
import type { Logger } from 'pino'

/** Registers a callback to run once the transaction has committed; never run if it rolls back. */
export type OnCommit = (callback: () => void) => void

/**
 * Runs `work` in a transaction and, once that has committed, the callbacks it registered, in order. A callback
 * that throws is logged (when there is a logger) and ignored: the change is committed, so the caller is told so.
 */
export async function transaction<DB, T>(
  db: Kysely<DB>,
  work: (tx: Transaction<DB>, onCommit: OnCommit) => Promise<T>,
  logger?: Pick<Logger, 'error'>
): Promise<T> {
  const callbacks: Array<() => void> = []
  const result = await db.transaction().execute(
    async (tx) =>
      await work(tx, (callback) => {
        callbacks.push(callback)
      })
  )
  for (const callback of callbacks) {
    try {
      callback()
    } catch (err) {
      logger?.error({ err }, 'a callback after a commit failed; the change stays committed')
    }
  }
  return result
}
