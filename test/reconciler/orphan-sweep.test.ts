// The orphan sweep removes secrets no live connection needs, only after a grace period, with either store,
// and logs which keys it removed but never a value.
import t, { type Test } from 'tap'
import { randomBytes } from 'node:crypto'
import { v7 as uuidv7 } from 'uuid'
import { LocalSecretStore } from '../../src/secrets/local/local-secret-store.js'
import { SecretOrphanSweep } from '../../src/reconciler/orphan-sweep.js'
import type { SecretStore } from '../../src/secrets/secret-store.js'
import { captureLogger } from '../support/captured-logger.js'
import { FakeClock } from '../support/fake-clock.js'
import { insertTestConnection } from '../support/connection-rows.js'
import { openMigratedDatabase, type MigratedDatabase } from '../support/migrated-database.js'
import { startVaultTarget } from '../support/vault-setup.js'
import { openStore } from '../support/vault-store-harness.js'

const GRACE = 60_000
const VALUE = 'orphan-sweep-secret-value-9d1c'

async function scenario(t: Test, database: MigratedDatabase, secrets: SecretStore): Promise<void> {
  const live = await insertTestConnection(database.db, { state: 'enabled' })
  const pending = await insertTestConnection(database.db, { state: 'pending' })
  const failed = await insertTestConnection(database.db, { state: 'failed' })
  const deleted = await insertTestConnection(database.db, { state: 'deleted' })
  const noRow = uuidv7()
  for (const key of [live.id, pending.id, failed.id, deleted.id, noRow])
    await secrets.write(key, { password: VALUE }, { cas: 0 })

  const { logger, lines } = captureLogger()
  const text = (): string => JSON.stringify(lines())
  const clock = new FakeClock(1_000_000)
  const sweep = new SecretOrphanSweep(
    { db: database.db, secrets, logger },
    { intervalMs: 60_000, graceMs: GRACE, clock }
  )

  const first = await sweep.sweep()
  t.same(first.removed, [], 'nothing is removed before the grace period')
  t.equal(first.waiting, 3, 'three keys look orphaned: failed, deleted, and no row at all')

  clock.advance(GRACE - 1)
  t.same((await sweep.sweep()).removed, [], 'still within the grace period')

  clock.advance(1)
  const third = await sweep.sweep()
  t.same(third.removed.sort(), [failed.id, deleted.id, noRow].sort(), 'removed after the grace period')
  t.same(
    (await secrets.listKeys()).sort(),
    [live.id, pending.id].sort(),
    'live and pending connections keep their secrets'
  )
  await t.rejects(secrets.read(deleted.id), { code: 'not_found' })
  t.match(text(), deleted.id, 'the removal is logged by key')
  t.notOk(text().includes(VALUE), 'never a value')
}

void t.test('local store', async (t) => {
  const database = await openMigratedDatabase(t)
  await scenario(t, database, new LocalSecretStore(database.db, randomBytes(32)))
})

void t.test('vault store', async (t) => {
  const database = await openMigratedDatabase(t)
  const vault = await startVaultTarget()
  t.teardown(async () => {
    await vault.close()
  })
  await scenario(t, database, openStore(t, vault).store)
})

void t.test('a key that stops looking orphaned starts its grace period again', async (t) => {
  const database = await openMigratedDatabase(t)
  const secrets = new LocalSecretStore(database.db, randomBytes(32))
  const row = await insertTestConnection(database.db, { state: 'failed' })
  await secrets.write(row.id, { password: VALUE }, { cas: 0 })
  const clock = new FakeClock(0)
  const sweep = new SecretOrphanSweep(
    { db: database.db, secrets, logger: captureLogger().logger },
    { intervalMs: 1000, graceMs: GRACE, clock }
  )
  await sweep.sweep()
  await database.db.updateTable('connections').set({ state: 'enabled' }).where('id', '=', row.id).execute()
  clock.advance(GRACE)
  await sweep.sweep()
  await database.db.updateTable('connections').set({ state: 'failed' }).where('id', '=', row.id).execute()
  clock.advance(1)
  t.same((await sweep.sweep()).removed, [], 'grace restarts from when it looked orphaned again')
})

void t.test('started, it sweeps at once (boot), then every interval', async (t) => {
  const database = await openMigratedDatabase(t)
  const secrets = new LocalSecretStore(database.db, randomBytes(32))
  const orphan = uuidv7()
  await secrets.write(orphan, { password: VALUE }, { cas: 0 })
  const clock = new FakeClock(1_000_000)
  const sweep = new SecretOrphanSweep(
    { db: database.db, secrets, logger: captureLogger().logger },
    { intervalMs: 2 * GRACE, graceMs: GRACE, clock }
  )
  sweep.start()
  t.teardown(async () => {
    await sweep.stop()
  })
  await clock.asleep()
  t.ok((await secrets.listKeys()).includes(orphan), 'the first sweep saw it orphaned: its grace starts')
  clock.advance(clock.sleeps[0] ?? 0)
  await clock.asleep()
  t.notOk((await secrets.listKeys()).includes(orphan), 'removed by the next sweep, after the grace period')
})

void t.test('a failing store is reported by the loop, not thrown out of it', async (t) => {
  const database = await openMigratedDatabase(t)
  const secrets = new LocalSecretStore(database.db, randomBytes(32))
  const { logger, lines } = captureLogger()
  const text = (): string => JSON.stringify(lines())
  const clock = new FakeClock()
  const sweep = new SecretOrphanSweep({ db: database.db, secrets, logger }, { intervalMs: 20, graceMs: GRACE, clock })
  await database.close()
  sweep.start()
  await clock.asleep()
  clock.advance(clock.sleeps[0] ?? 0)
  await clock.asleep()
  await sweep.stop()
  t.match(text(), /secret orphan sweep failed/)
  t.same(
    lines()
      .filter((l) => l.msg === 'secret orphan sweep failed')
      .map((l) => l.failures),
    [1, 2],
    'the loop went on, counting failures'
  )
})
