// retryWithBackoff: full jitter, Retry-After as a floor, a hard deadline, and the last error rethrown.
import t from 'tap'
import { retryWithBackoff, type RetryAttempt, type RetryOptions } from '../../src/flow-service/retry.js'

class Flaky extends Error {
  constructor(
    readonly retryable: boolean,
    readonly retryAfterMs?: number
  ) {
    super(`flaky ${String(retryable)}`)
  }
}

/** A clock that only moves when the code under test sleeps. */
function fakeTime(): { sleeps: number[]; options: Pick<RetryOptions, 'sleep' | 'now'> } {
  let now = 0
  const sleeps: number[] = []
  return {
    sleeps,
    options: {
      now: () => now,
      sleep: async (ms) => {
        sleeps.push(ms)
        now += ms
      }
    }
  }
}

const isRetryable = (err: unknown): boolean => err instanceof Flaky && err.retryable

/** Fails with each of `failures` in turn, then succeeds with the attempt number. */
function failing(...failures: Error[]): { fn: (attempt: number) => Promise<number>; calls: () => number } {
  let calls = 0
  return {
    calls: () => calls,
    fn: async (attempt) => {
      calls++
      const failure = failures[attempt - 1]
      if (failure !== undefined) throw failure
      return attempt
    }
  }
}

void t.test('succeeds at once without sleeping', async (t) => {
  const time = fakeTime()
  const { fn } = failing()
  t.equal(
    await retryWithBackoff(fn, { deadlineMs: 1000, baseDelayMs: 100, maxDelayMs: 1000, isRetryable, ...time.options }),
    1
  )
  t.same(time.sleeps, [])
})

void t.test('full jitter: each wait is random() times the doubling ceiling, capped at maxDelayMs', async (t) => {
  const time = fakeTime()
  const { fn } = failing(new Flaky(true), new Flaky(true), new Flaky(true), new Flaky(true), new Flaky(true))
  const result = await retryWithBackoff(fn, {
    deadlineMs: 60_000,
    baseDelayMs: 100,
    maxDelayMs: 1000,
    isRetryable,
    random: () => 0.5,
    ...time.options
  })
  t.equal(result, 6)
  t.same(time.sleeps, [50, 100, 200, 400, 500], 'ceilings 100, 200, 400, 800, then 1000')
})

void t.test('random() = 0 retries immediately; close to 1 waits nearly the ceiling', async (t) => {
  const low = fakeTime()
  await retryWithBackoff(failing(new Flaky(true)).fn, {
    deadlineMs: 10_000,
    baseDelayMs: 100,
    maxDelayMs: 1000,
    isRetryable,
    random: () => 0,
    ...low.options
  })
  t.same(low.sleeps, [0])
  const high = fakeTime()
  await retryWithBackoff(failing(new Flaky(true)).fn, {
    deadlineMs: 10_000,
    baseDelayMs: 100,
    maxDelayMs: 1000,
    isRetryable,
    random: () => 0.999,
    ...high.options
  })
  t.same(high.sleeps, [99])
})

void t.test('Retry-After is a floor on the wait, even above maxDelayMs', async (t) => {
  const time = fakeTime()
  const { fn } = failing(new Flaky(true, 5000), new Flaky(true, 10))
  await retryWithBackoff(fn, {
    deadlineMs: 60_000,
    baseDelayMs: 100,
    maxDelayMs: 1000,
    isRetryable,
    random: () => 0.5,
    ...time.options
  })
  t.same(time.sleeps, [5000, 100], 'the server asked for 5 s; then jitter (100) beats a 10 ms Retry-After')
})

void t.test('a non-retryable error is rethrown at once', async (t) => {
  const time = fakeTime()
  const fatal = new Flaky(false)
  const { fn, calls } = failing(new Flaky(true), fatal)
  await t.rejects(
    retryWithBackoff(fn, {
      deadlineMs: 60_000,
      baseDelayMs: 100,
      maxDelayMs: 1000,
      isRetryable,
      random: () => 0.5,
      ...time.options
    }),
    fatal
  )
  t.equal(calls(), 2)
})

void t.test('gives up with the last error when the next wait would pass the deadline', async (t) => {
  const time = fakeTime()
  const last = new Flaky(true)
  const { fn, calls } = failing(new Flaky(true), new Flaky(true), last)
  // Waits would be 500 (t=500), 1000 (t=1500), then 1000 more would end at 2500 > 2000.
  await t.rejects(
    retryWithBackoff(fn, {
      deadlineMs: 2000,
      baseDelayMs: 1000,
      maxDelayMs: 2000,
      isRetryable,
      random: () => 0.5,
      ...time.options
    }),
    last
  )
  t.equal(calls(), 3)
  t.same(time.sleeps, [500, 1000])
})

void t.test('a Retry-After longer than the remaining budget ends the retries without waiting', async (t) => {
  const time = fakeTime()
  const throttled = new Flaky(true, 30_000)
  const { fn, calls } = failing(throttled)
  await t.rejects(
    retryWithBackoff(fn, { deadlineMs: 10_000, baseDelayMs: 100, maxDelayMs: 1000, isRetryable, ...time.options }),
    throttled
  )
  t.equal(calls(), 1)
  t.same(time.sleeps, [])
})

void t.test('time spent inside attempts counts against the deadline', async (t) => {
  let now = 0
  const sleeps: number[] = []
  const slow = new Flaky(true)
  let calls = 0
  const fn = async (): Promise<never> => {
    calls++
    now += 900
    throw slow
  }
  await t.rejects(
    retryWithBackoff(fn, {
      deadlineMs: 2000,
      baseDelayMs: 100,
      maxDelayMs: 100,
      isRetryable,
      random: () => 0.5,
      now: () => now,
      sleep: async (ms) => {
        sleeps.push(ms)
        now += ms
      }
    }),
    slow
  )
  t.same(sleeps, [50, 50], 'waits end at 950 and 1900; after the third attempt (2800) the next would end past 2000')
  t.equal(calls, 3)
})

void t.test('onRetry hears each retry with the attempt number, wait and error', async (t) => {
  const time = fakeTime()
  const first = new Flaky(true)
  const second = new Flaky(true, 300)
  const heard: RetryAttempt[] = []
  await retryWithBackoff(failing(first, second).fn, {
    deadlineMs: 60_000,
    baseDelayMs: 100,
    maxDelayMs: 1000,
    isRetryable,
    random: () => 0.5,
    onRetry: (a) => heard.push(a),
    ...time.options
  })
  t.same(heard, [
    { attempt: 1, delayMs: 50, error: first },
    { attempt: 2, delayMs: 300, error: second }
  ])
})

void t.test('aborting during a wait rethrows the last error and makes no further attempt', async (t) => {
  const controller = new AbortController()
  const failure = new Flaky(true)
  const { fn, calls } = failing(failure, failure, failure)
  const promise = retryWithBackoff(fn, {
    deadlineMs: 60_000,
    baseDelayMs: 10_000,
    maxDelayMs: 10_000,
    isRetryable,
    random: () => 0.5,
    signal: controller.signal
  })
  setTimeout(() => {
    controller.abort()
  }, 20)
  await t.rejects(promise, failure)
  t.equal(calls(), 1)
})

void t.test('an already aborted signal makes no attempt', async (t) => {
  const controller = new AbortController()
  controller.abort(new Error('shutting down'))
  const { fn, calls } = failing()
  await t.rejects(
    retryWithBackoff(fn, { deadlineMs: 1000, baseDelayMs: 1, maxDelayMs: 1, isRetryable, signal: controller.signal }),
    { message: 'shutting down' }
  )
  t.equal(calls(), 0)
})

void t.test('a sleep that ignores the signal still gets no further attempt after an abort', async (t) => {
  const controller = new AbortController()
  const failure = new Flaky(true)
  const { fn, calls } = failing(failure, failure)
  await t.rejects(
    retryWithBackoff(fn, {
      deadlineMs: 60_000,
      baseDelayMs: 1,
      maxDelayMs: 1,
      isRetryable,
      signal: controller.signal,
      sleep: async () => {
        controller.abort()
      }
    }),
    failure
  )
  t.equal(calls(), 1)
})
