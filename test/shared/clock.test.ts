// The clocks: the system one sleeps for real (briefly here) and honours its signal; the test one moves only when
// slept on or advanced, wakes sleepers earliest due first, and rejects a sleep whose signal aborts.
import t from 'tap'
import { systemClock } from '../../src/shared/clock.js'
import { TestClock } from '../support/test-clock.js'

void t.test('systemClock: now() is the epoch time; sleep() resolves, and rejects when its signal aborts', async (t) => {
  const before = Date.now()
  const now = systemClock.now()
  t.ok(now >= before && now <= Date.now())
  await systemClock.sleep(1)
  const ac = new AbortController()
  const sleeping = systemClock.sleep(60_000, ac.signal)
  ac.abort()
  await t.rejects(sleeping, { name: 'AbortError' })
})

void t.test('TestClock: starts where told; a sleep moves time by exactly its length', async (t) => {
  const clock = new TestClock(1_000)
  t.equal(clock.now(), 1_000)
  await clock.sleep(250)
  t.equal(clock.now(), 1_250)
  await clock.sleep(3_600_000)
  t.equal(clock.now(), 3_601_250, 'an hour of sleep, no real hour')
  await clock.sleep(0)
  await clock.sleep(-5)
  t.equal(clock.now(), 3_601_250, 'zero and negative sleeps take no time')
  t.equal(clock.sleeping(), 0)
})

void t.test(
  'TestClock: side by side, sleepers wake in due order and time ends at the latest due, not the sum',
  async (t) => {
    const clock = new TestClock(0)
    const woke: Array<[string, number]> = []
    const sleep = async (name: string, ms: number): Promise<void> => {
      await clock.sleep(ms)
      woke.push([name, clock.now()])
    }
    await Promise.all([sleep('long', 5000), sleep('short', 100), sleep('middle', 1000), sleep('tie', 1000)])
    t.same(woke, [
      ['short', 100],
      ['middle', 1000],
      ['tie', 1000],
      ['long', 5000]
    ])
    t.equal(clock.now(), 5000)
  }
)

void t.test('TestClock: advance() moves time and wakes what is due by then', async (t) => {
  const clock = new TestClock(0)
  clock.advance(500)
  t.equal(clock.now(), 500)
  const order: string[] = []
  const a = clock.sleep(100).then(() => {
    order.push(`a@${clock.now()}`)
  })
  const b = clock.sleep(300).then(() => {
    order.push(`b@${clock.now()}`)
  })
  t.equal(clock.sleeping(), 2, 'nothing wakes synchronously')
  clock.advance(200)
  t.equal(clock.now(), 700, 'time is where advance() put it')
  t.equal(clock.sleeping(), 1, 'the sleeper due by then woke')
  await Promise.all([a, b])
  t.same(order, ['a@700', 'b@800'], 'a read the time advance() left; b woke at its own due time')
  t.throws(() => {
    clock.advance(-1)
  }, RangeError)
})

void t.test('TestClock: a sleep whose signal aborts rejects with AbortError and never moves time', async (t) => {
  const clock = new TestClock(0)
  const already = new AbortController()
  already.abort()
  await t.rejects(clock.sleep(100, already.signal), { name: 'AbortError' })
  const ac = new AbortController()
  const sleeping = clock.sleep(100, ac.signal)
  ac.abort(new Error('closing'))
  await t.rejects(sleeping, { name: 'AbortError', cause: { message: 'closing' } })
  await new Promise((resolve) => setImmediate(resolve))
  t.equal(clock.now(), 0)
  t.equal(clock.sleeping(), 0)
})
