// The loop behind the poller, the reconciler and the orphan sweep, on fake time: a pass at start, then one per
// jittered interval, exponential backoff while passes fail (capped, reset by a success), a pass's own "not before",
// stop() that waits for the pass in flight and ends a pause at once, and passes that never overlap.
import t from 'tap'
import { systemClock } from '../../src/shared/clock.js'
import {
  JITTER,
  nominalPause,
  PeriodicWorker,
  type Pass,
  type PeriodicWorkerOptions
} from '../../src/background/periodic-worker.js'
import { captureLogger } from '../support/captured-logger.js'
import { FakeClock } from '../support/fake-clock.js'
import { gate, settle } from '../support/gate.js'

function worker(
  pass: Pass,
  options: Partial<PeriodicWorkerOptions> = {}
): { worker: PeriodicWorker; clock: FakeClock; log: ReturnType<typeof captureLogger> } {
  const clock = new FakeClock(1_000_000)
  const log = captureLogger()
  const w = new PeriodicWorker(pass, {
    name: 'test pass',
    intervalMs: 100,
    logger: log.logger,
    clock,
    random: () => 0.5,
    ...options
  })
  return { worker: w, clock, log }
}

void t.test('the nominal pause: the interval after a success, doubling per failure in a row, capped', async (t) => {
  t.equal(nominalPause(0, 100, 1000), 100)
  t.same(
    [1, 2, 3, 4, 5, 60].map((f) => nominalPause(f, 100, 1000)),
    [200, 400, 800, 1000, 1000, 1000]
  )
  t.equal(nominalPause(3, 100), 100, 'no maximum: no growth')
  t.equal(nominalPause(3, 5000, 1000), 5000, 'never below the interval')
})

void t.test('the first pass runs at start, the next one an interval later', async (t) => {
  let passes = 0
  const { worker: w, clock } = worker(async () => {
    passes++
    return undefined
  })
  w.start()
  t.equal(passes, 1, 'the first pass runs at once (boot)')
  await clock.asleep()
  t.same(clock.sleeps, [100], 'then waits one interval')
  clock.advance(99)
  await settle()
  t.equal(passes, 1, 'not before the interval is over')
  clock.advance(1)
  await clock.asleep()
  t.equal(passes, 2, 'the second pass once it is')
  await w.stop()
})

void t.test('every pause is jittered within ±10 % of the interval', async (t) => {
  for (const [random, expected] of [
    [0, 90],
    [0.5, 100],
    [0.999999, 110]
  ] as const) {
    const { worker: w, clock } = worker(async () => undefined, { random: () => random })
    w.start()
    await clock.asleep()
    const [pause = NaN] = clock.sleeps
    t.ok(Math.abs(pause - expected) < 0.01, `random ${random}: ${pause} ms`)
    t.ok(pause >= 100 * (1 - JITTER) && pause <= 100 * (1 + JITTER), 'within the bounds')
    await w.stop()
  }
})

void t.test(
  'failures back off exponentially up to the maximum, each logged with the count; a success resets',
  async (t) => {
    let outcomes = ['fail', 'fail', 'fail', 'fail', 'fail', 'ok', 'fail', 'ok']
    const {
      worker: w,
      clock,
      log
    } = worker(
      async () => {
        const outcome = outcomes[0]
        outcomes = outcomes.slice(1)
        if (outcome === 'fail') throw new Error('database down')
        return undefined
      },
      { maxBackoffMs: 1000 }
    )
    w.start()
    for (let i = 0; i < 8; i++) {
      await clock.asleep()
      clock.advance(clock.sleeps.at(-1) ?? 0)
    }
    await clock.asleep()
    t.same(
      clock.sleeps.slice(0, 8),
      [200, 400, 800, 1000, 1000, 100, 200, 100],
      'doubling, capped, reset by each success'
    )
    const failed = log.lines().filter((l) => l.msg === 'test pass failed')
    t.same(
      failed.map((l) => l.failures),
      [1, 2, 3, 4, 5, 1],
      'each failed pass logged with the failures in a row'
    )
    t.ok(
      failed.every((l) => l.level === 50 && typeof l.err === 'object'),
      'as errors, with the error'
    )
    t.same(
      failed.map((l) => l.nextPassInMs),
      [200, 400, 800, 1000, 1000, 200],
      'and when the next pass comes'
    )
    await w.stop()
  }
)

void t.test('a pass may put the next one off (a Retry-After), never bring it forward', async (t) => {
  let notBefore = 1_000_000 + 5000
  const { worker: w, clock } = worker(async () => ({ notBefore }))
  w.start()
  await clock.asleep()
  t.same(clock.sleeps, [5000], 'waits until notBefore')
  notBefore = 0
  clock.advance(5000)
  await clock.asleep()
  t.same(clock.sleeps, [5000, 100], 'a notBefore in the past leaves the interval')
  await w.stop()
})

void t.test('stop() waits for the pass in flight, which is told to end', async (t) => {
  const held = gate()
  let signalSeen: AbortSignal | undefined
  let passes = 0
  const { worker: w, clock } = worker(async (signal) => {
    passes++
    signalSeen = signal
    await held.promise
    return undefined
  })
  w.start()
  let stopped = false
  const stopping = w.stop().then(() => {
    stopped = true
  })
  await settle()
  t.equal(stopped, false, 'stop() has not resolved while the pass runs')
  t.equal(signalSeen?.aborted, true, 'the pass is told the worker stops')
  held.open()
  await stopping
  t.equal(stopped, true, 'resolved once the pass ended')
  t.equal(passes, 1, 'no pass after it')
  t.equal(clock.sleeping, 0, 'and no pause either')
})

void t.test('stop() during a pause returns at once, with no further pass', async (t) => {
  let passes = 0
  const { worker: w, clock } = worker(
    async () => {
      passes++
      return undefined
    },
    { intervalMs: 3_600_000 }
  )
  w.start()
  await clock.asleep()
  await w.stop()
  t.equal(clock.sleeping, 0, 'the pause ended without time moving on')
  clock.advance(10_000_000)
  await settle()
  t.equal(passes, 1)
})

void t.test('a pass never overlaps itself, however time moves or start() is called', async (t) => {
  let inFlight = 0
  let most = 0
  let passes = 0
  let held = gate()
  const { worker: w, clock } = worker(async () => {
    passes++
    inFlight++
    most = Math.max(most, inFlight)
    await held.promise
    inFlight--
    return undefined
  })
  w.start()
  w.start()
  clock.advance(1_000_000)
  await settle()
  t.equal(passes, 1, 'one pass, held')
  held.open()
  await clock.asleep()
  held = gate()
  clock.advance(100)
  await settle()
  w.start()
  clock.advance(1_000_000)
  await settle()
  t.equal(passes, 2, 'the next pass only after the pause that follows the last')
  held.open()
  await clock.asleep()
  await w.stop()
  t.equal(most, 1, 'never two at once')
})

void t.test('a stopped worker starts again with a pass at once', async (t) => {
  let passes = 0
  const { worker: w, clock } = worker(async () => {
    passes++
    return undefined
  })
  w.start()
  await clock.asleep()
  await w.stop()
  w.start()
  t.equal(passes, 2)
  await clock.asleep()
  await w.stop()
})

void t.test(
  'on the system clock (whose sleep rejects when aborted), stop() during an hour-long pause returns at once',
  async (t) => {
    let passes = 0
    const log = captureLogger()
    const w = new PeriodicWorker(
      async () => {
        passes++
        return undefined
      },
      { name: 'test pass', intervalMs: 3_600_000, logger: log.logger, clock: systemClock }
    )
    w.start()
    await settle()
    await w.stop()
    t.equal(passes, 1, 'the first pass ran, the second was not waited for')
    t.notOk(
      log.lines().some((l) => String(l.msg).includes('failed')),
      'the aborted pause is not a failure'
    )
    t.ok(Math.abs(systemClock.now() - Date.now()) < 1000, 'now() is the time of day')
  }
)
