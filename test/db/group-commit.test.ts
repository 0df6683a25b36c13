// GroupCommit: callers wait for their own item to be written; items arriving during a write share the next batch;
// a failing batch is retried item by item so only the bad item fails.
import t from 'tap'
import { GroupCommit } from '../../src/db/group-commit.js'

/** A writer whose writes finish when the test says, recording each batch. */
function heldWriter(): { write: (items: number[]) => Promise<void>; batches: number[][]; release: () => void } {
  const batches: number[][] = []
  let release: () => void = () => {}
  return {
    batches,
    release: () => {
      release()
    },
    write: async (items) => {
      batches.push(items)
      await new Promise<void>((resolve) => {
        release = resolve
      })
    }
  }
}

const tick = async (): Promise<void> => {
  await new Promise((resolve) => setImmediate(resolve))
}

void t.test('a lone item is written at once, and its caller resumes only once it is written', async (t) => {
  const writer = heldWriter()
  const group = new GroupCommit(writer.write)
  let done = false
  const added = group.add(1).then(() => {
    done = true
  })
  await tick()
  t.same(writer.batches, [[1]])
  t.notOk(done, 'not acknowledged before the write finished')
  writer.release()
  await added
  t.ok(done)
})

void t.test('items arriving during a write share the next batch, in order', async (t) => {
  const writer = heldWriter()
  const group = new GroupCommit(writer.write)
  const all = [group.add(1)]
  await tick()
  all.push(group.add(2), group.add(3), group.add(4))
  await tick()
  t.same(writer.batches, [[1]], 'the others wait for the write in flight')
  writer.release()
  await tick()
  t.same(writer.batches, [[1], [2, 3, 4]])
  writer.release()
  await Promise.all(all)
})

void t.test('batches are capped at maxBatch', async (t) => {
  const batches: number[][] = []
  const group = new GroupCommit<number>(async (items) => {
    batches.push(items)
  }, 2)
  await Promise.all(
    [1, 2, 3, 4, 5].map(async (n) => {
      await group.add(n)
    })
  )
  t.same(batches.flat(), [1, 2, 3, 4, 5], 'every item, in order')
  t.ok(batches.every((b) => b.length <= 2))
})

void t.test('a batch that fails is retried item by item: only the bad item fails', async (t) => {
  const written: number[] = []
  const group = new GroupCommit<number>(async (items) => {
    if (items.includes(13)) throw new Error('unlucky')
    written.push(...items)
  })
  const outcomes = await Promise.all(
    [11, 12, 13, 14].map(
      async (n) =>
        await group.add(n).then(
          () => 'ok',
          () => 'failed'
        )
    )
  )
  t.same(outcomes, ['ok', 'ok', 'failed', 'ok'])
  t.same(written.sort(), [11, 12, 14])
})

void t.test('after a failure the group keeps working', async (t) => {
  let fail = true
  const group = new GroupCommit<number>(async () => {
    if (fail) throw new Error('down')
  })
  await t.rejects(group.add(1), /down/)
  fail = false
  await t.resolves(group.add(2))
})
