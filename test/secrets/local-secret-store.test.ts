// The embedded secret store: AES-256-GCM ciphertext in the database, versioned with check-and-set,
// and the key it uses, from BROKER_SECRET_KEY or a key file made once with mode 0600.
import { randomBytes } from 'node:crypto'
import { chmod, mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises'
import os from 'node:os'
import path from 'node:path'
import t from 'tap'
import { v7 as uuidv7 } from 'uuid'
import { KEY_FILE_NAME, loadLocalKey } from '../../src/secrets/local/local-key.js'
import { LocalSecretStore } from '../../src/secrets/local/local-secret-store.js'
import { SecretStoreError, type SecretStoreErrorCode } from '../../src/secrets/secret-store.js'
import { captureLogger } from '../support/captured-logger.js'
import { openMigratedDatabase } from '../support/migrated-database.js'

/** The code a store call fails with, or 'resolved'. */
async function failureCode(promise: Promise<unknown>): Promise<SecretStoreErrorCode | 'resolved'> {
  try {
    await promise
    return 'resolved'
  } catch (err) {
    if (err instanceof SecretStoreError) return err.code
    throw err
  }
}

const PASSWORD = 'correct-horse-battery-staple-9'
const secret = (n = 1): Record<string, string> => ({ password: `${PASSWORD}-${n}`, securityToken: `tok-${n}` })

void t.test('LocalSecretStore', async (t) => {
  const database = await openMigratedDatabase(t)
  const { db } = database
  const store = new LocalSecretStore(db, randomBytes(32))
  const newKey = (): string => uuidv7()

  void t.test('currentVersion: 0 before the first write, then the newest version, whichever is read', async (t) => {
    const key = newKey()
    t.equal(await store.currentVersion(key), 0)
    await store.write(key, secret(1), { cas: 0 })
    await store.write(key, secret(2), { cas: 1 })
    t.equal(await store.currentVersion(key), 2)
    t.same(await store.read(key, 1), secret(1), 'older versions stay readable')
    await store.destroy(key)
    t.equal(await store.currentVersion(key), 0, 'destroyed: nothing left')
  })

  void t.test('the first write (cas 0) makes version 1, which reads back', async (t) => {
    const key = newKey()
    t.equal(await store.write(key, secret(1), { cas: 0 }), 1)
    t.same(await store.read(key), secret(1))
  })

  void t.test('each write with the current version as cas adds the next version; read gives the latest', async (t) => {
    const key = newKey()
    t.equal(await store.write(key, secret(1), { cas: 0 }), 1)
    t.equal(await store.write(key, secret(2), { cas: 1 }), 2)
    t.equal(await store.write(key, secret(3), { cas: 2 }), 3)
    t.same(await store.read(key), secret(3))
  })

  void t.test('an older version stays readable by number', async (t) => {
    const key = newKey()
    await store.write(key, secret(1), { cas: 0 })
    await store.write(key, secret(2), { cas: 1 })
    t.same(await store.read(key, 1), secret(1))
    t.same(await store.read(key, 2), secret(2))
  })

  void t.test('a write whose cas is not the current version fails with cas_mismatch and writes nothing', async (t) => {
    const key = newKey()
    await store.write(key, secret(1), { cas: 0 })
    t.equal(await failureCode(store.write(key, secret(9), { cas: 0 })), 'cas_mismatch', 'cas 0 on an existing key')
    t.equal(
      await failureCode(store.write(key, secret(9), { cas: 2 })),
      'cas_mismatch',
      'a version that does not exist yet'
    )
    t.equal(await failureCode(store.write(newKey(), secret(9), { cas: 1 })), 'cas_mismatch', 'cas 1 on a missing key')
    t.same(await store.read(key), secret(1))
    t.equal(await failureCode(store.read(key, 2)), 'not_found')
  })

  void t.test('of two concurrent writes with the same cas, exactly one wins', async (t) => {
    const key = newKey()
    const outcomes = await Promise.all([
      failureCode(store.write(key, secret(1), { cas: 0 })),
      failureCode(store.write(key, secret(2), { cas: 0 }))
    ])
    t.same(outcomes.sort(), ['cas_mismatch', 'resolved'])
    t.equal(await failureCode(store.read(key, 2)), 'not_found', 'one version only')
  })

  void t.test('reading a key or a version that does not exist fails with not_found', async (t) => {
    t.equal(await failureCode(store.read(newKey())), 'not_found')
    const key = newKey()
    await store.write(key, secret(1), { cas: 0 })
    t.equal(await failureCode(store.read(key, 7)), 'not_found')
  })

  void t.test('destroy removes every version; destroying again, or a missing key, succeeds', async (t) => {
    const key = newKey()
    await store.write(key, secret(1), { cas: 0 })
    await store.write(key, secret(2), { cas: 1 })

    await store.destroy(key)
    t.equal(await failureCode(store.read(key)), 'not_found')
    t.equal(await failureCode(store.read(key, 1)), 'not_found')
    t.equal(await failureCode(store.destroy(key)), 'resolved', 'again')
    t.equal(await failureCode(store.destroy(newKey())), 'resolved', 'never written')
    t.equal(await store.write(key, secret(3), { cas: 0 }), 1, 'the key can be made again from version 1')
  })

  void t.test('listKeys lists every key once, however many versions, and not destroyed ones', async (t) => {
    const [a, b, gone] = [newKey(), newKey(), newKey()]
    await store.write(a, secret(1), { cas: 0 })
    await store.write(a, secret(2), { cas: 1 })
    await store.write(b, secret(1), { cas: 0 })
    await store.write(gone, secret(1), { cas: 0 })
    await store.destroy(gone)

    const keys = await store.listKeys()
    t.equal(keys.filter((k) => k === a).length, 1)
    t.equal(keys.filter((k) => k === b).length, 1)
    t.notOk(keys.includes(gone))
  })

  void t.test(
    'the stored ciphertext never contains the plaintext, and equal plaintexts seal differently',
    async (t) => {
      const [a, b] = [newKey(), newKey()]
      await store.write(a, secret(1), { cas: 0 })
      await store.write(b, secret(1), { cas: 0 })
      await store.write(a, secret(1), { cas: 1 })
      const rows = await db
        .selectFrom('local_secrets')
        .select(['key', 'version', 'sealed'])
        .where('key', 'in', [a, b])
        .execute()
      t.equal(rows.length, 3)

      const plaintexts = [PASSWORD, 'tok-1', JSON.stringify(secret(1))]
      for (const row of rows) {
        const bytes = Buffer.from(row.sealed, 'base64')
        for (const plain of plaintexts) {
          t.notOk(
            row.sealed.includes(plain) || bytes.includes(Buffer.from(plain)),
            `${row.key}@${row.version} holds no "${plain}"`
          )
        }
      }
      t.equal(new Set(rows.map((r) => r.sealed)).size, 3, 'three different ciphertexts')
      t.equal(
        new Set(rows.map((r) => Buffer.from(r.sealed, 'base64').subarray(0, 12).toString('hex'))).size,
        3,
        'three different IVs'
      )
    }
  )

  void t.test('a ciphertext moved to another key fails to open (denied)', async (t) => {
    const [from, to] = [newKey(), newKey()]
    await store.write(from, secret(1), { cas: 0 })
    const { sealed } = await db
      .selectFrom('local_secrets')
      .select('sealed')
      .where('key', '=', from)
      .executeTakeFirstOrThrow()
    await db.insertInto('local_secrets').values({ key: to, version: 1, sealed }).execute()

    t.equal(await failureCode(store.read(to)), 'denied')
  })

  void t.test('a ciphertext moved to another version fails to open (denied)', async (t) => {
    const key = newKey()
    await store.write(key, secret(1), { cas: 0 })
    const { sealed } = await db
      .selectFrom('local_secrets')
      .select('sealed')
      .where('key', '=', key)
      .executeTakeFirstOrThrow()
    await db.insertInto('local_secrets').values({ key, version: 2, sealed }).execute()

    t.equal(await failureCode(store.read(key, 2)), 'denied')
    t.same(await store.read(key, 1), secret(1), 'the original still opens')
  })

  void t.test(
    'a store with another key cannot open what this one sealed (denied), and says nothing of it',
    async (t) => {
      const key = newKey()
      await store.write(key, secret(1), { cas: 0 })
      const other = new LocalSecretStore(db, randomBytes(32))
      try {
        await other.read(key)
        t.fail('read with the wrong key')
      } catch (err) {
        t.match(err, { code: 'denied', retryable: false })
        t.notMatch((err as Error).message, PASSWORD)
      }
    }
  )

  void t.test('references name the key, field and version, never the value', async (t) => {
    t.equal(store.reference('abc', 'password', 2), 'local:connections/abc#password@v2')
  })

  void t.test('the store refuses a key that is not 32 bytes', async (t) => {
    t.throws(() => new LocalSecretStore(db, randomBytes(16)), /32-byte key/)
  })

  void t.test('ping resolves while the database answers', async (t) => {
    await t.resolves(store.ping())
  })

  // Last: it closes the file's database.
  void t.test('a database that is down makes every call fail with unavailable (retryable)', async (t) => {
    const key = newKey()
    await store.write(key, secret(1), { cas: 0 })
    await database.close()

    t.equal(await failureCode(store.write(newKey(), secret(1), { cas: 0 })), 'unavailable', 'write')
    t.equal(await failureCode(store.read(key)), 'unavailable', 'read')
    t.equal(await failureCode(store.destroy(key)), 'unavailable', 'destroy')
    t.equal(await failureCode(store.listKeys()), 'unavailable', 'listKeys')
    t.equal(await failureCode(store.ping()), 'unavailable', 'ping')
    t.ok(new SecretStoreError('unavailable', 'x').retryable)
  })
})

void t.test('loadLocalKey', async (t) => {
  const dataDir = await mkdtemp(path.join(os.tmpdir(), 'broker-key-test-'))
  t.teardown(async () => {
    await rm(dataDir, { recursive: true, force: true })
  })
  let n = 0
  const freshDir = (): string => path.join(dataDir, `case-${++n}`, 'data')

  void t.test(
    'without a configured key, a key file is created with mode 0600 and reused on the next load',
    async (t) => {
      const dir = freshDir()
      const log = captureLogger()
      const first = await loadLocalKey({ dataDir: dir }, log.logger)
      const file = path.join(dir, KEY_FILE_NAME)

      t.equal(first.length, 32)
      t.equal((await stat(file)).mode & 0o777, 0o600)
      t.ok(
        log
          .lines()
          .some(
            (l) =>
              l.level === 40 && typeof l.msg === 'string' && l.msg.includes('created a new local secret-store key file')
          ),
        'says a key was made'
      )

      const second = await loadLocalKey({ dataDir: dir }, captureLogger().logger)
      t.ok(second.equals(first), 'the same key next time')
      t.equal(
        Buffer.from((await readFile(file, 'utf8')).trim(), 'base64').toString('hex'),
        first.toString('hex'),
        'the file holds it as base64'
      )
    }
  )

  void t.test('two loads at once agree on one key', async (t) => {
    const dir = freshDir()
    const [a, b] = await Promise.all([
      loadLocalKey({ dataDir: dir }, captureLogger().logger),
      loadLocalKey({ dataDir: dir }, captureLogger().logger)
    ])
    t.ok(a.equals(b))
  })

  void t.test('a configured key is used as given, and no file is made', async (t) => {
    const dir = freshDir()
    const key = randomBytes(32)
    t.ok((await loadLocalKey({ key, dataDir: dir }, captureLogger().logger)).equals(key))
    await t.rejects(stat(path.join(dir, KEY_FILE_NAME)), { code: 'ENOENT' })
  })

  void t.test('a key file that does not hold 32 bytes stops the load', async (t) => {
    const dir = freshDir()
    await loadLocalKey({ dataDir: dir }, captureLogger().logger)
    await writeFile(path.join(dir, KEY_FILE_NAME), randomBytes(16).toString('base64'), { mode: 0o600 })
    await t.rejects(loadLocalKey({ dataDir: dir }, captureLogger().logger), /does not hold a base64 32-byte key/)
  })

  void t.test('a key file readable by others is used, with a warning', async (t) => {
    const dir = freshDir()
    const key = await loadLocalKey({ dataDir: dir }, captureLogger().logger)
    await chmod(path.join(dir, KEY_FILE_NAME), 0o644)
    const log = captureLogger()

    t.ok((await loadLocalKey({ dataDir: dir }, log.logger)).equals(key))
    t.ok(log.lines().some((l) => l.level === 40 && typeof l.msg === 'string' && l.msg.includes('readable by others')))
  })
})
