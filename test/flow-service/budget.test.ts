// RequestBudget: calls paced evenly at the configured rate, first come first served; a 429 pause holds every call;
// a wait beyond the limit is refused at once; closing wakes the queue. Driven by a fake clock, so exact.
import t from 'tap'
import { BudgetExhausted, RequestBudget, type RequestBudgetOptions } from '../../src/flow-service/request-budget.js'

/** A clock that moves only when the test says; sleepers wake in time order as it passes their deadline. */
class FakeClock {
  now = 1_000_000
  readonly #sleepers: Array<{ at: number; wake: () => void }> = []

  readonly sleep = async (ms: number, signal: AbortSignal): Promise<void> => {
    await new Promise<void>((resolve, reject) => {
      this.#sleepers.push({ at: this.now + ms, wake: resolve })
      signal.addEventListener(
        'abort',
        () => {
          reject(new Error('aborted'))
        },
        { once: true }
      )
    })
  }

  /** Moves time forward step by step, letting each woken sleeper run before the next wakes. */
  async advance(ms: number): Promise<void> {
    const end = this.now + ms
    for (;;) {
      await settle()
      this.#sleepers.sort((a, b) => a.at - b.at)
      const next = this.#sleepers[0]
      if (next === undefined || next.at > end) break
      this.#sleepers.shift()
      this.now = Math.max(this.now, next.at)
      next.wake()
    }
    this.now = end
    await settle()
  }
}

async function settle(): Promise<void> {
  for (let i = 0; i < 20; i++) await Promise.resolve()
}

function budgetOn(clock: FakeClock, options: Partial<RequestBudgetOptions> = {}): RequestBudget {
  return new RequestBudget({
    ratePerSecond: 10,
    maxWaitMs: 60000,
    now: () => clock.now,
    sleep: clock.sleep,
    ...options
  })
}

/** Starts `count` acquisitions and records when (fake time) each was let through, in order of release. */
function acquireMany(
  budget: RequestBudget,
  clock: FakeClock,
  count: number
): { starts: Array<{ caller: number; at: number }>; done: Promise<unknown> } {
  const starts: Array<{ caller: number; at: number }> = []
  const done = Promise.all(
    Array.from({ length: count }, async (_, caller) => {
      await budget.acquire()
      starts.push({ caller, at: clock.now })
    })
  )
  return { starts, done }
}

void t.test('calls are spaced evenly at 1 / rate, never in a burst', async (t) => {
  const clock = new FakeClock()
  const budget = budgetOn(clock, { ratePerSecond: 10 })
  const t0 = clock.now
  const { starts, done } = acquireMany(budget, clock, 5)
  await clock.advance(1000)
  await done
  t.same(
    starts.map((s) => s.at - t0),
    [0, 100, 200, 300, 400]
  )
})

void t.test('callers are let through first come, first served', async (t) => {
  const clock = new FakeClock()
  const budget = budgetOn(clock)
  const { starts, done } = acquireMany(budget, clock, 6)
  await clock.advance(1000)
  await done
  t.same(
    starts.map((s) => s.caller),
    [0, 1, 2, 3, 4, 5]
  )
})

void t.test('an idle budget lets the next call through at once, and saves up no burst', async (t) => {
  const clock = new FakeClock()
  const budget = budgetOn(clock, { ratePerSecond: 10 })
  await budget.acquire()
  await clock.advance(5000)
  const t1 = clock.now
  const { starts, done } = acquireMany(budget, clock, 3)
  await clock.advance(1000)
  await done
  t.same(
    starts.map((s) => s.at - t1),
    [0, 100, 200],
    'five idle seconds do not buy five seconds of calls at once'
  )
})

void t.test('acquire reports how long the caller waited', async (t) => {
  const clock = new FakeClock()
  const budget = budgetOn(clock, { ratePerSecond: 4 })
  t.equal(await budget.acquire(), 0)
  const second = budget.acquire()
  await clock.advance(250)
  t.equal(await second, 250)
})

void t.test('a pause (429) holds every call until it ends, then pacing resumes', async (t) => {
  const clock = new FakeClock()
  const budget = budgetOn(clock, { ratePerSecond: 10 })
  const t0 = clock.now
  budget.pause(2000)
  t.equal(budget.pausedUntil(), t0 + 2000)
  const { starts, done } = acquireMany(budget, clock, 3)
  await clock.advance(1999)
  t.same(starts, [], 'nothing during the pause')
  await clock.advance(1000)
  await done
  t.same(
    starts.map((s) => s.at - t0),
    [2000, 2100, 2200]
  )
  t.equal(budget.pausedUntil(), undefined, 'no longer paused')
})

void t.test('callers already waiting for their slot when a 429 arrives wait for the pause too', async (t) => {
  const clock = new FakeClock()
  const budget = budgetOn(clock, { ratePerSecond: 10 })
  const t0 = clock.now
  const { starts, done } = acquireMany(budget, clock, 3)
  await clock.advance(50)
  t.same(
    starts.map((s) => s.at - t0),
    [0],
    'the first went at once'
  )
  budget.pause(1000)
  await clock.advance(2000)
  await done
  t.ok(
    starts.slice(1).every((s) => s.at - t0 >= 1050),
    `the others went after the pause (${starts.map((s) => s.at - t0).join(', ')})`
  )
})

void t.test('a pause never shortens an earlier, longer one', async (t) => {
  const clock = new FakeClock()
  const budget = budgetOn(clock)
  budget.pause(5000)
  budget.pause(1000)
  t.equal(budget.pausedUntil(), clock.now + 5000)
})

void t.test(
  'a call that would wait longer than maxWaitMs is refused at once, with the wait as retry-after',
  async (t) => {
    const clock = new FakeClock()
    const budget = budgetOn(clock, { ratePerSecond: 10, maxWaitMs: 250 })
    await budget.acquire()
    const within = [budget.acquire(), budget.acquire()] // 100 and 200 ms away
    const refused = await budget.acquire().then(
      () => undefined,
      (err: unknown) => err
    ) // 300 ms away
    t.type(refused, BudgetExhausted)
    t.ok(
      refused instanceof BudgetExhausted && refused.retryAfterMs === 300,
      'retry-after is the wait it would have needed'
    )
    await clock.advance(1000)
    t.same(await Promise.all(within), [100, 200], 'the callers within the limit still go, and a refusal took no slot')
  }
)

void t.test('during a long pause, calls are refused at once rather than queued past maxWaitMs', async (t) => {
  const clock = new FakeClock()
  const budget = budgetOn(clock, { maxWaitMs: 1000 })
  budget.pause(30000)
  const err = await budget.acquire().then(
    () => undefined,
    (e: unknown) => e
  )
  t.ok(err instanceof BudgetExhausted && err.retryAfterMs === 30000, 'refused with the pause left')
  t.match(String(err), /429/)
})

void t.test('rate 0 means no pacing, but a 429 pause still holds calls', async (t) => {
  const clock = new FakeClock()
  const budget = budgetOn(clock, { ratePerSecond: 0 })
  const t0 = clock.now
  const first = acquireMany(budget, clock, 50)
  await clock.advance(0)
  await first.done
  t.ok(
    first.starts.every((s) => s.at === t0),
    'fifty calls at once'
  )
  budget.pause(500)
  const second = acquireMany(budget, clock, 2)
  await clock.advance(1000)
  await second.done
  t.same(
    second.starts.map((s) => s.at - t0),
    [500, 500]
  )
})

void t.test('close() wakes every waiting caller with BudgetExhausted, and refuses new ones', async (t) => {
  const clock = new FakeClock()
  const budget = budgetOn(clock, { ratePerSecond: 1 })
  await budget.acquire()
  const waiting = [budget.acquire(), budget.acquire()].map(
    async (p) =>
      await p.then(
        () => 'went',
        (e: unknown) => (e instanceof BudgetExhausted ? 'refused' : 'other')
      )
  )
  await settle()
  budget.close()
  t.same(await Promise.all(waiting), ['refused', 'refused'])
  await t.rejects(budget.acquire(), BudgetExhausted)
})

void t.test('a negative or NaN rate is a programming error', async (t) => {
  t.throws(() => new RequestBudget({ ratePerSecond: -1, maxWaitMs: 1 }), RangeError)
  t.throws(() => new RequestBudget({ ratePerSecond: Number.NaN, maxWaitMs: 1 }), RangeError)
})
