// The caller cache: a known key is answered from memory until its TTL, a revoked one is forgotten at once, unknown
// keys are never remembered, and a cache that cannot hear revocations remembers nothing.
import t from 'tap'
import { sql } from 'kysely'
import { insertApiKey } from '../../src/auth/api-key-repository.js'
import { CallerCache } from '../../src/auth/caller-cache.js'
import { openMigratedDatabase } from '../support/migrated-database.js'

void t.test('caller cache', async (t) => {
  const { db } = await openMigratedDatabase(t)
  let now = 1_000_000
  const clock = (): number => now
  /** Revoked in the table only, as a lost notification would leave it: only a lookup can tell. */
  const revokeBehindItsBack = async (keyId: string): Promise<void> => {
    await sql`update api_keys set revoked_at = now() where id = ${keyId}`.execute(db)
  }
  const issue = async (name: string): Promise<{ id: string; key: string }> => {
    const { row, key } = await insertApiKey(db, { team: 'crm', name, scopes: ['connections:read'] })
    return { id: row.id, key }
  }

  void t.test('a known key is answered from memory until its TTL has passed, then looked up again', async (t) => {
    const cache = new CallerCache(db, { ttlMs: 10_000, now: clock })
    const k = await issue('ttl')
    t.match(await cache.find(k.key), { keyId: k.id, team: 'crm', scopes: ['connections:read'] })
    await revokeBehindItsBack(k.id)
    now += 9_999
    t.match(
      await cache.find(k.key),
      { keyId: k.id },
      'within the TTL: remembered (this is the bound a lost notification leaves)'
    )
    now += 2
    t.equal(await cache.find(k.key), undefined, 'after it: looked up, and refused')
  })

  void t.test('forgetKey makes the next request of that key a lookup', async (t) => {
    const cache = new CallerCache(db, { ttlMs: 60_000, now: clock })
    const k = await issue('forget')
    const other = await issue('other')
    await cache.find(k.key)
    await cache.find(other.key)
    await revokeBehindItsBack(k.id)
    cache.forgetKey(k.id)
    t.equal(await cache.find(k.key), undefined, 'refused at once')
    t.match(await cache.find(other.key), { keyId: other.id }, 'other keys untouched')
    t.equal(cache.size, 1)
  })

  void t.test('unknown and revoked keys are never remembered: a key issued after a miss works at once', async (t) => {
    const cache = new CallerCache(db, { ttlMs: 60_000, now: clock })
    t.equal(await cache.find('cbk_not-a-key'), undefined)
    t.equal(cache.size, 0)
    const k = await issue('late')
    await revokeBehindItsBack(k.id)
    t.equal(await cache.find(k.key), undefined)
    t.equal(cache.size, 0)
  })

  void t.test('ttl 0 remembers nothing', async (t) => {
    const cache = new CallerCache(db, { ttlMs: 0, now: clock })
    const k = await issue('uncached')
    await cache.find(k.key)
    t.equal(cache.size, 0)
    await revokeBehindItsBack(k.id)
    t.equal(await cache.find(k.key), undefined)
  })

  void t.test('while it cannot hear revocations it forgets everything and remembers nothing', async (t) => {
    const cache = new CallerCache(db, { ttlMs: 60_000, now: clock })
    const k = await issue('deaf')
    await cache.find(k.key)
    t.equal(cache.size, 1)
    cache.listening = false
    t.equal(cache.size, 0, 'forgotten when it went deaf')
    await cache.find(k.key)
    t.equal(cache.size, 0, 'and not remembered meanwhile')
    cache.listening = true
    await cache.find(k.key)
    t.equal(cache.size, 1, 'remembered again once it hears')
  })

  void t.test('a lookup that raced a revocation notice is not remembered', async (t) => {
    const cache = new CallerCache(db, { ttlMs: 60_000, now: clock })
    const k = await issue('race')
    const lookup = cache.find(k.key)
    cache.forgetKey(k.id)
    t.match(await lookup, { keyId: k.id }, 'the lookup itself answers what the database said')
    t.equal(cache.size, 0, 'but is not trusted for later requests')
  })

  void t.test('at most maxEntries keys, the oldest going first', async (t) => {
    const cache = new CallerCache(db, { ttlMs: 60_000, maxEntries: 3, now: clock })
    const keys = await Promise.all(['a', 'b', 'c', 'd'].map(async (n) => await issue(`bound ${n}`)))
    for (const k of keys) await cache.find(k.key)
    t.equal(cache.size, 3)
    await revokeBehindItsBack(keys[0]?.id ?? '')
    await revokeBehindItsBack(keys[3]?.id ?? '')
    t.equal(await cache.find(keys[0]?.key ?? ''), undefined, 'the oldest was evicted, so it is looked up')
    t.match(await cache.find(keys[3]?.key ?? ''), { keyId: keys[3]?.id }, 'the newest is still remembered')
  })
})
