// BROKER_ADMIN_KEY across boots (issue 11, item 7): a revoked value is never re-enabled by a later boot, and a
// changed value revokes the key the previous one made, audited as the boot. Each boot is a whole broker on one
// database, as restarts and replicas share it.
import { randomBytes } from 'node:crypto'
import { mkdtemp, rm } from 'node:fs/promises'
import os from 'node:os'
import path from 'node:path'
import { Writable } from 'node:stream'
import t from 'tap'
import { insertApiKey } from '../../src/auth/api-key-repository.js'
import { bootstrapAdminKey } from '../../src/auth/bootstrap-key.js'
import { createBroker, type Broker } from '../../src/broker.js'
import { loadConfig } from '../../src/config.js'
import type { DatabaseConfig } from '../../src/db/database.js'
import { createLogger } from '../../src/logging/logger.js'
import { openMigratedDatabase } from '../support/migrated-database.js'
import { createTestDatabase } from '../support/test-database.js'

const newKey = (): string => `cbk_${randomBytes(24).toString('base64url')}`

interface Boot {
  broker: Broker
  /** Status of GET /v1/api-keys with this key: 200 for a working admin key, 401 for a revoked one. */
  status: (key: string) => Promise<number>
  keys: () => Promise<Array<{ id: string; revoked: boolean; bootstrap: string | null; team: string }>>
}

void t.test('BROKER_ADMIN_KEY across boots', async (t) => {
  const dataDir = await mkdtemp(path.join(os.tmpdir(), 'broker-boot-'))
  const test = await createTestDatabase()
  t.teardown(async () => {
    await test.drop()
    await rm(dataDir, { recursive: true, force: true })
  })
  // PGlite in memory would not outlive a boot: on it, the boots share a data dir instead.
  const database: DatabaseConfig =
    test.config.kind === 'postgres' ? test.config : { kind: 'pglite', dataDir: path.join(dataDir, 'pglite') }
  const secretKey = randomBytes(32).toString('base64')

  /** Boots a broker with this BROKER_ADMIN_KEY, runs `use` against it, closes it; returns what it logged. */
  async function boot(adminKey: string, use: (b: Boot) => Promise<void>): Promise<string> {
    const lines: string[] = []
    const logger = createLogger(
      'info',
      new Writable({
        write(chunk: Buffer, _enc, done) {
          lines.push(chunk.toString('utf8'))
          done()
        }
      })
    )
    const config = loadConfig({
      BROKER_DATA_DIR: dataDir,
      BROKER_SECRET_KEY: secretKey,
      BROKER_ADMIN_KEY: adminKey,
      POLLER_ENABLED: 'false',
      RECONCILER_ENABLED: 'false',
      API_KEY_CACHE_TTL_MS: '0'
    })
    const broker = await createBroker(config, logger, { database, devKeyDir: null })
    try {
      await use({
        broker,
        status: async (key) =>
          (await broker.app.inject({ method: 'GET', url: '/v1/api-keys', headers: { authorization: `Bearer ${key}` } }))
            .statusCode,
        keys: async () =>
          (
            await broker.database.db
              .selectFrom('api_keys')
              .select(['id', 'revoked_at', 'bootstrap', 'team'])
              .orderBy('id')
              .execute()
          ).map((r) => ({ id: r.id, revoked: r.revoked_at !== null, bootstrap: r.bootstrap, team: r.team }))
      })
    } finally {
      await broker.app.close()
    }
    return lines.join('')
  }

  const first = newKey()
  let firstId = ''
  await boot(first, async (b) => {
    t.equal(await b.status(first), 200, 'the value is a working admin key')
    const keys = await b.keys()
    t.match(
      keys,
      [{ bootstrap: 'BROKER_ADMIN_KEY', revoked: false, team: '*admin*' }],
      'marked as the boot’s, in the admins’ team'
    )
    firstId = keys[0]?.id ?? ''
  })
  await boot(first, async (b) => {
    t.equal((await b.keys()).length, 1, 'booting again with the same value makes no second key')
    const revoke = await b.broker.app.inject({
      method: 'DELETE',
      url: `/v1/api-keys/${firstId}`,
      headers: { authorization: `Bearer ${first}` }
    })
    t.equal(revoke.statusCode, 204, 'an operator revokes it')
    t.equal(await b.status(first), 401)
  })

  const revokedBoot = await boot(first, async (b) => {
    t.equal(await b.status(first), 401, 'the next boot does not re-enable the revoked value')
    t.match(await b.keys(), [{ id: firstId, revoked: true }])
  })
  t.match(revokedBoot, /BROKER_ADMIN_KEY was revoked and stays revoked/, 'and says so')

  const second = newKey()
  let secondId = ''
  await boot(second, async (b) => {
    t.equal(await b.status(second), 200, 'a new value works')
    t.equal(await b.status(first), 401, 'the revoked one still does not')
    secondId = (await b.keys()).find((k) => !k.revoked)?.id ?? ''
  })

  const third = newKey()
  const changedBoot = await boot(third, async (b) => {
    t.equal(await b.status(third), 200, 'the changed value works')
    t.equal(await b.status(second), 401, 'the previous value is revoked')
    const audit = await b.broker.database.db
      .selectFrom('audit_events')
      .selectAll()
      .where('action', '=', 'api_key.revoke')
      .where('actor', '=', 'boot')
      .execute()
    t.match(
      audit,
      [
        {
          outcome: 'success',
          actor_key_id: null,
          detail: { apiKeyId: secondId, team: '*admin*', reason: 'BROKER_ADMIN_KEY changed' }
        }
      ],
      'audited as the boot'
    )
  })
  t.match(changedBoot, /BROKER_ADMIN_KEY changed: the keys earlier values made are revoked/)

  // An old replica restarting during a rolling update still has the previous value: it must not take over.
  await boot(second, async (b) => {
    t.equal(await b.status(second), 401, 'the previous value stays revoked')
    t.equal(await b.status(third), 200, 'and the current one keeps working')
  })
})

void t.test('bootstrapAdminKey', async (t) => {
  const { db } = await openMigratedDatabase(t)

  void t.test('two replicas booting with one new value make one key', async (t) => {
    const key = newKey()
    const outcomes = await Promise.all([
      bootstrapAdminKey(db, key, 'BROKER_ADMIN_KEY', 'BROKER_ADMIN_KEY'),
      bootstrapAdminKey(db, key, 'BROKER_ADMIN_KEY', 'BROKER_ADMIN_KEY')
    ])
    t.same(outcomes.map((o) => o.kind).sort(), ['created', 'kept'])
    t.equal(outcomes[0]?.row.id, outcomes[1]?.row.id)
    const created = await db
      .selectFrom('audit_events')
      .select('id')
      .where('action', '=', 'api_key.create')
      .where('actor', '=', 'boot')
      .execute()
    t.equal(created.length, 1, 'one creation audited')
  })

  void t.test('a value that is a key issued otherwise is left exactly as it is', async (t) => {
    const { row, key } = await insertApiKey(db, { team: 'crm', name: 'crm sync', scopes: ['connections:read'] })
    const outcome = await bootstrapAdminKey(db, key, 'BROKER_ADMIN_KEY', 'BROKER_ADMIN_KEY')
    t.equal(outcome.kind, 'foreign')
    t.match(await db.selectFrom('api_keys').selectAll().where('id', '=', row.id).executeTakeFirst(), {
      team: 'crm',
      scopes: ['connections:read'],
      bootstrap: null,
      revoked_at: null
    })
    const live = await db
      .selectFrom('api_keys')
      .select('id')
      .where('bootstrap', '=', 'BROKER_ADMIN_KEY')
      .where('revoked_at', 'is', null)
      .execute()
    t.equal(live.length, 1, 'nor does it revoke the boot key')
  })

  void t.test('the dev key is its own setting: making one does not touch BROKER_ADMIN_KEY', async (t) => {
    const outcome = await bootstrapAdminKey(db, newKey(), 'dev', 'dev admin key')
    t.match(outcome, { kind: 'created', revoked: [] })
  })
})
