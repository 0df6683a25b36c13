// Opens VaultSecretStores for tests against a VaultTarget, each with its own pino logger whose lines are captured
// (to count lifecycle events and to search them for secret values).
import { pino, type Logger } from 'pino'
import type { VaultAuth } from '../../src/config.js'
import {
  createVaultSecretStore,
  type VaultSecretStore,
  type VaultStoreConfig
} from '../../src/secrets/vault/vault-secret-store.js'
import { uniqueName, type VaultTarget } from './vault-setup.js'

export interface CapturedLogs {
  readonly lines: string[]
  /** Parsed lines whose `event` is `name`. */
  events(name: string): Array<Record<string, unknown>>
  text(): string
}

export function captureLogger(): { logger: Logger; logs: CapturedLogs } {
  const lines: string[] = []
  const logger = pino(
    { level: 'trace' },
    {
      write: (line: string) => {
        lines.push(line)
      }
    }
  )
  const logs: CapturedLogs = {
    lines,
    events: (name) => lines.map((l) => JSON.parse(l) as Record<string, unknown>).filter((l) => l.event === name),
    text: () => lines.join('')
  }
  return { logger, logs }
}

export interface StoreOptions {
  auth?: VaultAuth
  /** Default: a fresh prefix, so each test sees an empty folder even on a shared Vault. */
  prefix?: string
  mount?: string
  timeoutMs?: number
}

export function storeConfig(target: VaultTarget, options: StoreOptions = {}): VaultStoreConfig {
  return {
    kind: 'vault',
    addr: target.addr,
    mount: options.mount ?? 'secret',
    prefix: options.prefix ?? uniqueName('broker-test'),
    timeoutMs: options.timeoutMs ?? 2000,
    auth: options.auth ?? { method: 'token', token: target.rootToken }
  }
}

export interface OpenedStore {
  store: VaultSecretStore
  logs: CapturedLogs
  config: VaultStoreConfig
}

/** A store closed at the end of the test `t`. */
export function openStore(
  t: { teardown: (fn: () => Promise<void>) => void },
  target: VaultTarget,
  options: StoreOptions = {}
): OpenedStore {
  const { logger, logs } = captureLogger()
  const config = storeConfig(target, options)
  const store = createVaultSecretStore(config, logger)
  t.teardown(async () => {
    await store.close()
  })
  return { store, logs, config }
}
