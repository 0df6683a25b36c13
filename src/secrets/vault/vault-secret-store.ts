// The production SecretStore: one Vault KV v2 key per connection at <mount>/data/<prefix>/connections/<key>,
// every write with check-and-set, destroy = metadata delete (all versions). A call refused for its token logs in once
// more and retries once; never twice, so a token that lacks a policy cannot make a login loop.
import type { Logger } from 'pino'
import type { Config } from '../../config.js'
import { SecretStoreError, type SecretData, type SecretStore } from '../secret-store.js'
import { KvV2, type KvPath } from './kv-v2.js'
import { VaultClient } from './vault-client.js'
import { VaultRequestError } from './vault-request-error.js'
import { VaultTokenSession } from './vault-token-session.js'
import { toSecretStoreError } from './to-secret-store-error.js'

export type VaultStoreConfig = Extract<Config['secretStore'], { kind: 'vault' }>

/** Keys are broker ids (uuids); anything outside this alphabet is a caller bug, not a Vault path to build. */
const KEY_PATTERN = /^[A-Za-z0-9_-][A-Za-z0-9_.-]*$/

export function createVaultSecretStore(config: VaultStoreConfig, logger: Logger): VaultSecretStore {
  return new VaultSecretStore(config, logger)
}

export class VaultSecretStore implements SecretStore {
  readonly kind = 'vault' as const
  private readonly client: VaultClient
  private readonly kv: KvV2
  private readonly session: VaultTokenSession
  private readonly folder: KvPath
  private readonly logger: Logger
  private closed = false

  constructor(
    private readonly config: VaultStoreConfig,
    logger: Logger
  ) {
    // The caller names the component (the broker binds component: 'vault'); a second binding would repeat the key.
    this.logger = logger
    this.client = new VaultClient({
      addr: config.addr,
      timeoutMs: config.timeoutMs,
      ...(config.namespace !== undefined ? { namespace: config.namespace } : {})
    })
    this.kv = new KvV2(this.client, config.mount)
    this.session = new VaultTokenSession(this.client, config.auth, this.logger)
    this.folder = [...config.prefix.split('/').filter((s) => s !== ''), 'connections']
  }

  async write(key: string, data: SecretData, options: { cas: number }): Promise<number> {
    if (!Number.isInteger(options.cas) || options.cas < 0)
      throw new RangeError(`cas must be a non-negative integer, got ${options.cas}`)
    const path = this.pathOf(key)
    const written = await this.call(
      `write of ${this.show(key)}`,
      async () => await this.kv.write(path, data, { cas: options.cas })
    )
    return written.version
  }

  async read(key: string, version?: number): Promise<SecretData> {
    if (version !== undefined && (!Number.isInteger(version) || version < 1))
      throw new RangeError(`version must be a positive integer, got ${version}`)
    const path = this.pathOf(key)
    const what = `${this.show(key)}${version !== undefined ? ` version ${version}` : ''}`
    const secret = await this.call(`read of ${what}`, async () => await this.kv.read(path, version))
    // Vault never falls back to an older version: a deleted or destroyed one is simply not there.
    if (secret === undefined) throw new SecretStoreError('not_found', `no secret at ${what}`)
    return toSecretData(secret.data)
  }

  async currentVersion(key: string): Promise<number> {
    const path = this.pathOf(key)
    return await this.call(`metadata read of ${this.show(key)}`, async () => await this.kv.currentVersion(path))
  }

  async destroy(key: string): Promise<void> {
    const path = this.pathOf(key)
    await this.call(`destroy of ${this.show(key)}`, async () => {
      await this.kv.deleteMetadata(path)
    })
  }

  async listKeys(): Promise<string[]> {
    const names = await this.call(
      `list of ${[this.config.mount, ...this.folder].join('/')}/`,
      async () => await this.kv.list(this.folder)
    )
    // Sub-folders ("x/") are nobody's connection: the broker writes one flat key per connection.
    return names.filter((name) => !name.endsWith('/'))
  }

  reference(key: string, field: string, version: number): string {
    return `vault:${this.config.mount}/${this.folder.join('/')}/${key}#${field}@v${version}`
  }

  async ping(): Promise<void> {
    if (this.closed) throw new SecretStoreError('unavailable', 'the Vault secret store is closed')
    let health
    try {
      health = await this.client.health()
    } catch (err) {
      throw toSecretStoreError('Vault health check', err)
    }
    if (!health.initialized) throw new SecretStoreError('unavailable', 'Vault is not initialised')
    if (health.sealed) throw new SecretStoreError('unavailable', 'Vault is sealed')
    if (health.standby) throw new SecretStoreError('unavailable', 'Vault answered from a standby node')
    await this.call('Vault token check', async () => await this.client.lookupSelf())
  }

  async close(): Promise<void> {
    if (this.closed) return
    this.closed = true
    await this.session.close()
    this.client.close()
  }

  /** Runs `op` with a live token; when Vault refuses the token, logs in again (once) and retries (once). */
  private async call<T>(operation: string, op: () => Promise<T>): Promise<T> {
    if (this.closed) throw new SecretStoreError('unavailable', 'the Vault secret store is closed')
    const generation = await this.session.ready()
    try {
      return await op()
    } catch (err) {
      if (!(err instanceof VaultRequestError)) throw err
      if (!err.isAuthFailure || !this.session.canLogin) throw toSecretStoreError(operation, err)
      this.logger.info(
        { event: 'vault_relogin', operation, status: err.status },
        'Vault refused the token; logging in again'
      )
      await this.session.reloginAfter(generation, `refused during ${operation}`)
    }
    try {
      return await op()
    } catch (err) {
      if (!(err instanceof VaultRequestError)) throw err
      throw toSecretStoreError(operation, err)
    }
  }

  private pathOf(key: string): KvPath {
    if (!KEY_PATTERN.test(key)) throw new RangeError(`invalid secret key "${key}": use letters, digits, '_', '-', '.'`)
    return [...this.folder, key]
  }

  private show(key: string): string {
    return `${this.config.mount}/${this.folder.join('/')}/${key}`
  }
}

/** Vault keeps whatever JSON was written; the broker only ever writes strings, so anything else is shown as JSON. */
function toSecretData(data: Record<string, unknown>): SecretData {
  const out: SecretData = {}
  for (const [name, value] of Object.entries(data))
    out[name] = typeof value === 'string' ? value : JSON.stringify(value)
  return out
}
