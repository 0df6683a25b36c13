// The embedded secret store: AES-256-GCM with a random IV per value, ciphertext kept in PostgreSQL.
import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto'
import { sql, type Kysely } from 'kysely'
import type { Database } from '../../db/schema.js'
import { SecretStoreError, type SecretData, type SecretStore } from '../secret-store.js'

const IV_BYTES = 12
const TAG_BYTES = 16

export class LocalSecretStore implements SecretStore {
  readonly kind = 'local' as const

  constructor(
    private readonly db: Kysely<Database>,
    private readonly key: Buffer
  ) {
    if (key.length !== 32) throw new Error('the local secret store needs a 32-byte key')
  }

  /**
   * Check-and-set in one statement: the row goes in only when the newest version is `cas`. Two writers racing for
   * the same version both pass the check; the primary key lets one in and the other gets a unique violation.
   */
  async write(key: string, data: SecretData, options: { cas: number }): Promise<number> {
    const version = options.cas + 1
    const sealed = this.seal(key, version, data)
    return await this.guard(async () => {
      const inserted = await sql<{ version: number }>`
        insert into local_secrets (key, version, sealed)
        select ${key}, ${version}, ${sealed}
        where (select coalesce(max(version), 0) from local_secrets where key = ${key}) = ${options.cas}
        returning version`.execute(this.db)
      if (inserted.rows.length === 0) {
        throw new SecretStoreError(
          'cas_mismatch',
          `check-and-set failed for ${key}: expected version ${options.cas}, current is ${await this.currentVersion(key)}`
        )
      }
      return version
    })
  }

  async read(key: string, version?: number): Promise<SecretData> {
    const row = await this.guard(async () => {
      let query = this.db.selectFrom('local_secrets').select(['version', 'sealed']).where('key', '=', key)
      query = version === undefined ? query.orderBy('version', 'desc').limit(1) : query.where('version', '=', version)
      return await query.executeTakeFirst()
    })
    if (row === undefined)
      throw new SecretStoreError('not_found', `no secret ${key}${version === undefined ? '' : ` version ${version}`}`)
    return this.open(key, row.version, row.sealed)
  }

  async currentVersion(key: string): Promise<number> {
    const row = await this.guard(
      async () =>
        await this.db
          .selectFrom('local_secrets')
          .where('key', '=', key)
          .select((eb) => eb.fn.max('version').as('version'))
          .executeTakeFirst()
    )
    return row?.version ?? 0
  }

  async destroy(key: string): Promise<void> {
    await this.guard(async () => {
      await this.db.deleteFrom('local_secrets').where('key', '=', key).execute()
    })
  }

  async listKeys(): Promise<string[]> {
    const rows = await this.guard(
      async () => await this.db.selectFrom('local_secrets').select('key').distinct().execute()
    )
    return rows.map((r) => r.key)
  }

  reference(key: string, field: string, version: number): string {
    return `local:connections/${key}#${field}@v${version}`
  }

  async ping(): Promise<void> {
    await this.guard(async () => {
      await this.db.selectFrom('local_secrets').select('key').limit(1).execute()
    })
  }

  async close(): Promise<void> {}

  /** The key and version are authenticated data: a ciphertext moved to another row fails to open. */
  private seal(key: string, version: number, data: SecretData): string {
    const iv = randomBytes(IV_BYTES)
    const cipher = createCipheriv('aes-256-gcm', this.key, iv)
    cipher.setAAD(Buffer.from(`${key}@${version}`))
    const body = Buffer.concat([cipher.update(JSON.stringify(data), 'utf8'), cipher.final()])
    return Buffer.concat([iv, cipher.getAuthTag(), body]).toString('base64')
  }

  private open(key: string, version: number, sealed: string): SecretData {
    const raw = Buffer.from(sealed, 'base64')
    try {
      const decipher = createDecipheriv('aes-256-gcm', this.key, raw.subarray(0, IV_BYTES))
      decipher.setAAD(Buffer.from(`${key}@${version}`))
      decipher.setAuthTag(raw.subarray(IV_BYTES, IV_BYTES + TAG_BYTES))
      const plain = Buffer.concat([decipher.update(raw.subarray(IV_BYTES + TAG_BYTES)), decipher.final()])
      return JSON.parse(plain.toString('utf8')) as SecretData
    } catch (err) {
      // Wrong key or tampered row: say which, never what.
      throw new SecretStoreError(
        'denied',
        `secret ${key} version ${version} cannot be decrypted with this key (wrong BROKER_SECRET_KEY or altered row)`,
        { cause: err }
      )
    }
  }

  /** Database faults become `unavailable`; our own errors pass through. A unique violation is a lost CAS race. */
  private async guard<T>(work: () => Promise<T>): Promise<T> {
    try {
      return await work()
    } catch (err) {
      if (err instanceof SecretStoreError) throw err
      if ((err as { code?: string }).code === '23505')
        throw new SecretStoreError('cas_mismatch', 'check-and-set failed: a concurrent write took this version', {
          cause: err
        })
      throw new SecretStoreError('unavailable', 'the local secret store (database) is unavailable', { cause: err })
    }
  }
}
