// The migration that takes admin keys out of ordinary teams and marks boot keys, on a database as the previous
// release left it: admin keys of `platform` and `dev` (and the connections they made) move to the reserved team,
// boot keys are recognised, plain keys and their connections stay where they were, and the old admin teams
// cannot be handed to a new key (their audit history holds the admins' rows).
import { readdir } from 'node:fs/promises'
import path from 'node:path'
import { pathToFileURL } from 'node:url'
import { Migrator, type Migration } from 'kysely/migration'
import { pino } from 'pino'
import t from 'tap'
import { AuditLog } from '../../src/audit/audit-log.js'
import { issueApiKey } from '../../src/auth/api-key-admin.js'
import { generateApiKey, hashApiKey } from '../../src/auth/api-key-repository.js'
import { v7 as uuidv7 } from 'uuid'
import { openDatabase } from '../../src/db/database.js'
import { migrateToLatest, MIGRATIONS_DIR } from '../../src/db/migrator.js'
import { insertTestConnection } from '../support/connection-rows.js'
import { createTestDatabase } from '../support/test-database.js'

const THIS_MIGRATION = '2026-12-03T0002_key_limits'

async function migration(name: string): Promise<Migration> {
  // .ts in the sources, .js where a bundle runs compiled copies of the migrations.
  const file = (await readdir(MIGRATIONS_DIR)).find((f) => f === `${name}.ts` || f === `${name}.js`)
  if (file === undefined) throw new Error(`no migration ${name} in ${MIGRATIONS_DIR}`)
  return (await import(pathToFileURL(path.join(MIGRATIONS_DIR, file)).href)) as Migration
}

void t.test('key limits migration', async (t) => {
  const test = await createTestDatabase({ empty: true })
  const database = await openDatabase(test.config, pino({ level: 'silent' }))
  t.teardown(async () => {
    await database.close()
    await test.drop()
  })
  const { db } = database
  const audit = new AuditLog(db)
  const earlier = [
    '2026-11-22T0001_initial',
    '2026-11-23T0001_audit_actor_team_index',
    '2026-11-24T0001_connection_lifecycle',
    '2026-11-25T0001_audit_append_function',
    '2026-12-03T0001_downstream_evidence'
  ]
  const previous = Object.fromEntries(
    await Promise.all(earlier.map(async (name) => [name, await migration(name)] as const))
  )
  const { error } = await new Migrator({ db, provider: { getMigrations: async () => previous } }).migrateToLatest()
  if (error !== undefined) throw error as Error

  // As the previous release left things: boot keys in `platform` and `dev`, a plain key in `platform`.
  // Only the columns that release had.
  const legacyKey = async (
    team: string,
    name: string,
    scopes: string[],
    createdBy: string
  ): Promise<{ id: string; team: string }> =>
    await db
      .insertInto('api_keys')
      .values({
        id: uuidv7(),
        team,
        name,
        scopes: JSON.stringify(scopes),
        key_hash: hashApiKey(generateApiKey()),
        created_by: createdBy
      })
      .returning(['id', 'team'])
      .executeTakeFirstOrThrow()
  const bootAdmin = await legacyKey('platform', 'BROKER_ADMIN_KEY', ['admin'], 'boot')
  const oldBootAdmin = await legacyKey('platform', 'BROKER_ADMIN_KEY', ['admin'], 'boot')
  const devAdmin = await legacyKey('dev', 'dev admin key', ['admin'], 'boot')
  const plain = await legacyKey('platform', 'platform sync', ['connections:read', 'connections:write'], 'cli:ops')
  const made = async (key: { id: string; team: string }, idempotencyKey: string | null): Promise<string> => {
    const connection = await insertTestConnection(db, { team: key.team, idempotency_key: idempotencyKey })
    await audit.append({
      actor: { kind: 'key', team: key.team, keyId: key.id },
      action: 'connection.create',
      connectionId: connection.id,
      outcome: 'success'
    })
    return connection.id
  }
  const byAdmin = await made(bootAdmin, 'retry-1')
  const byDevAdmin = await made(devAdmin, 'retry-1')
  const byPlain = await made(plain, 'retry-2')

  await migrateToLatest(db)

  const keys = Object.fromEntries((await db.selectFrom('api_keys').selectAll().execute()).map((k) => [k.id, k]))
  t.match(keys[bootAdmin.id], {
    team: '*admin*',
    former_team: 'platform',
    bootstrap: 'BROKER_ADMIN_KEY',
    sandboxes: null,
    connection_specs: null
  })
  t.match(
    keys[oldBootAdmin.id],
    { team: '*admin*', bootstrap: 'BROKER_ADMIN_KEY', revoked_at: null },
    'an earlier value’s key is marked too (the next boot revokes it)'
  )
  t.match(keys[devAdmin.id], { team: '*admin*', former_team: 'dev', bootstrap: 'dev' })
  t.match(keys[plain.id], { team: 'platform', former_team: null, bootstrap: null }, 'a plain key stays in its team')

  const teams = Object.fromEntries(
    (await db.selectFrom('connections').select(['id', 'team', 'idempotency_key']).execute()).map((c) => [c.id, c])
  )
  t.match(teams[byAdmin], { team: '*admin*' }, 'connections made by admin keys move with them')
  t.match(teams[byDevAdmin], { team: '*admin*' })
  t.same(
    [teams[byAdmin]?.idempotency_key, teams[byDevAdmin]?.idempotency_key],
    [null, 'retry-1'],
    'two admins’ same idempotency key: the newest connection keeps it'
  )
  t.match(teams[byPlain], { team: 'platform', idempotency_key: 'retry-2' }, 'the plain key’s connection stays')

  for (const team of ['platform', 'Platform', 'dev']) {
    await t.rejects(
      issueApiKey(
        { db, audit },
        { actor: { kind: 'cli', user: 'ops' }, requestId: null },
        { team, name: 'new', scopes: ['audit:read'] }
      ),
      { code: 'conflict', detail: /Admin keys used to belong to team/ },
      `a new key for ${team} is refused`
    )
  }

  await (await migration(THIS_MIGRATION)).down?.(db)
  const back = await db
    .selectFrom('api_keys')
    .select(['id', 'team'])
    .where('id', 'in', [bootAdmin.id, devAdmin.id])
    .orderBy('id')
    .execute()
  t.same(
    back.map((k) => k.team),
    ['platform', 'dev'],
    'down puts admin keys back in their teams'
  )
  const connectionsBack = await db
    .selectFrom('connections')
    .select(['id', 'team'])
    .where('id', 'in', [byAdmin, byDevAdmin])
    .execute()
  t.same(connectionsBack.map((c) => c.team).sort(), ['dev', 'platform'], 'and their connections')
})
