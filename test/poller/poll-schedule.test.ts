// The poll schedule: fast while a connection settles (then backing off if it stays unsettled), steady once stable,
// backing off on errors (never past steady), each delay spread ±10%.
import t from 'tap'
import { backoffDelay, nextPollDelay, type ScheduleSettings } from '../../src/poller/poll-schedule.js'

const S: ScheduleSettings = { fastIntervalMs: 1000, steadyIntervalMs: 60000 }
/** random() = 0.5 is the middle of the jitter: the interval itself. */
const MIDDLE = (): number => 0.5

void t.test('a settling connection (pending, initializing) is polled at the fast interval', async (t) => {
  t.equal(nextPollDelay('pending', false, S, MIDDLE), 1000)
  t.equal(nextPollDelay('initializing', false, S, MIDDLE), 1000)
})

void t.test('a stable connection (enabled, disabled) is polled at the steady interval', async (t) => {
  t.equal(nextPollDelay('enabled', false, S, MIDDLE), 60000)
  t.equal(nextPollDelay('disabled', false, S, MIDDLE), 60000)
})

void t.test(
  'a connection in a downstream state the broker does not know is polled fast until it settles',
  async (t) => {
    t.equal(nextPollDelay('enabled', true, S, MIDDLE), 1000)
    t.equal(nextPollDelay('disabled', true, S, MIDDLE), 1000)
  }
)

void t.test('deleted and failed connections are never polled again', async (t) => {
  t.equal(nextPollDelay('deleted', false, S, MIDDLE), null)
  t.equal(nextPollDelay('failed', false, S, MIDDLE), null)
  t.equal(nextPollDelay('failed', true, S, MIDDLE), null, 'not even with a reason pending')
})

void t.test(
  'a connection that stays unsettled is polled after a quarter of the time it has waited, fast at first',
  async (t) => {
    t.equal(nextPollDelay('initializing', false, S, MIDDLE, 0), 1000, 'just created: fast')
    t.equal(nextPollDelay('initializing', false, S, MIDDLE, 3000), 1000, 'a few seconds in: still fast')
    t.equal(nextPollDelay('initializing', false, S, MIDDLE, 20000), 5000, '20 s in: 5 s')
    t.equal(nextPollDelay('pending', false, S, MIDDLE, 120000), 30000, '2 min in: 30 s')
    t.equal(nextPollDelay('initializing', false, S, MIDDLE, 3600000), 60000, 'an hour in: never slower than steady')
  }
)

void t.test('an unknown downstream state that persists backs off the same way', async (t) => {
  t.equal(nextPollDelay('enabled', true, S, MIDDLE, 0), 1000)
  t.equal(nextPollDelay('enabled', true, S, MIDDLE, 40000), 10000)
  t.equal(nextPollDelay('enabled', true, S, MIDDLE, 86400000), 60000)
})

void t.test('how long a stable connection has been stable does not change its steady interval', async (t) => {
  t.equal(nextPollDelay('enabled', false, S, MIDDLE, 0), 60000)
  t.equal(nextPollDelay('disabled', false, S, MIDDLE, 86400000), 60000)
})

void t.test('a settling age that is negative (clock skew between replicas) counts as just settled', async (t) => {
  t.equal(nextPollDelay('initializing', false, S, MIDDLE, -50000), 1000)
})

void t.test('backoff doubles the fast interval per consecutive failure', async (t) => {
  t.same(
    [1, 2, 3, 4].map((n) => backoffDelay(n, S, MIDDLE)),
    [2000, 4000, 8000, 16000]
  )
})

void t.test('backoff never exceeds the steady interval, however many failures', async (t) => {
  for (const failures of [6, 7, 20, 21, 1000, Number.MAX_SAFE_INTEGER]) {
    t.equal(backoffDelay(failures, S, MIDDLE), 60000, `${failures} failures`)
  }
})

void t.test('jitter stays within ±10% of the interval', async (t) => {
  t.equal(
    nextPollDelay('enabled', false, S, () => 0),
    54000,
    'lowest'
  )
  t.equal(
    nextPollDelay('enabled', false, S, () => 0.999999),
    66000,
    'highest'
  )
  t.equal(
    backoffDelay(1000, S, () => 0),
    54000,
    'a capped backoff is jittered too'
  )
  t.equal(
    backoffDelay(1000, S, () => 0.999999),
    66000
  )
})

void t.test('jitter spreads delays over the whole ±10% band with Math.random', async (t) => {
  const delays = Array.from({ length: 2000 }, () => nextPollDelay('initializing', false, S) ?? Number.NaN)
  t.ok(
    delays.every((d) => d >= 900 && d <= 1100),
    'every delay within 900..1100 ms'
  )
  t.ok(Math.min(...delays) < 920 && Math.max(...delays) > 1080, 'the band is used, not one value')
  const backoffs = Array.from({ length: 2000 }, () => backoffDelay(2, S))
  t.ok(
    backoffs.every((d) => d >= 3600 && d <= 4400),
    'every backoff within 3600..4400 ms'
  )
})
