// The per-key token bucket: a full bucket allows a burst of the per-minute budget, then one request per
// 60/budget seconds; an empty one says how long to wait; keys never share a bucket.
import t from 'tap'
import { RateLimiter } from '../../src/auth/rate-limiter.js'

function clock(): { now: () => number; advance: (ms: number) => void } {
  let at = 1_000_000
  return {
    now: () => at,
    advance: (ms) => {
      at += ms
    }
  }
}

void t.test('a new key may spend its whole budget at once, and not one request more', async (t) => {
  const c = clock()
  const limiter = new RateLimiter({ perMinute: 5, now: c.now })
  for (let i = 0; i < 5; i++)
    t.same(
      limiter.take('k'),
      { allowed: true, quota: { limit: 5, remaining: 4 - i, resetSeconds: 12 * (i + 1) } },
      `request ${i + 1}: what is left, and how long until the bucket is full again`
    )
  t.same(
    limiter.take('k'),
    { allowed: false, retryAfterSeconds: 12, quota: { limit: 5, remaining: 0, resetSeconds: 60 } },
    'the sixth waits for one token: 60 s / 5'
  )
})

void t.test('tokens come back at the sustained rate, and Retry-After shrinks as they do', async (t) => {
  const c = clock()
  const limiter = new RateLimiter({ perMinute: 60, now: c.now })
  for (let i = 0; i < 60; i++) limiter.take('k')
  t.match(limiter.take('k'), { allowed: false, retryAfterSeconds: 1 })
  c.advance(999)
  t.equal(limiter.take('k').allowed, false, 'not quite one token yet')
  c.advance(1)
  t.match(limiter.take('k'), { allowed: true, quota: { remaining: 0 } }, 'one second later: one request')
  t.equal(limiter.take('k').allowed, false, 'and only one')
  c.advance(10 * 60_000)
  for (let i = 0; i < 60; i++) t.equal(limiter.take('k').allowed, true)
  t.equal(limiter.take('k').allowed, false, 'an idle key refills to its budget, never beyond')
})

void t.test('Retry-After is whole seconds, at least 1, rounded up', async (t) => {
  const c = clock()
  const limiter = new RateLimiter({ perMinute: 7, now: c.now })
  for (let i = 0; i < 7; i++) limiter.take('k')
  t.match(limiter.take('k'), { allowed: false, retryAfterSeconds: 9 }, '60/7 = 8.57 s → 9')
  c.advance(8_000)
  t.match(limiter.take('k'), { allowed: false, retryAfterSeconds: 1 }, '0.57 s left → 1')
})

void t.test('each key has its own bucket', async (t) => {
  const c = clock()
  const limiter = new RateLimiter({ perMinute: 2, now: c.now })
  limiter.take('a')
  limiter.take('a')
  t.equal(limiter.take('a').allowed, false, 'a is spent')
  t.equal(limiter.take('b').allowed, true, 'b is not')
})

void t.test('forgetting idle keys (when very many were seen) never forgives a key that is still spent', async (t) => {
  const c = clock()
  const limiter = new RateLimiter({ perMinute: 1, now: c.now })
  limiter.take('busy')
  for (let i = 0; i < 10_001; i++) limiter.take(`idle-${i}`)
  c.advance(1_000)
  t.equal(limiter.take('busy').allowed, false, 'still waiting for its token after the prune')
})
