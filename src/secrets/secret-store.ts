// The SecretStore contract: where the secret params of a connection live.
// One key per broker connection; every change is a new version written with check-and-set.

/** The secret params of one connection, by param name. Values are never logged. */
export type SecretData = Record<string, string>

export type SecretStoreKind = 'local' | 'vault'

export interface SecretStore {
  readonly kind: SecretStoreKind
  /**
   * Writes a new version of `key`. `cas` is the version the caller believes is current
   * (0 = the key must not exist yet). Resolves to the new version number (1, 2, ...).
   * Rejects with SecretStoreError code `cas_mismatch` when `cas` is not the current version.
   */
  write(key: string, data: SecretData, options: { cas: number }): Promise<number>
  /** Reads one version (default: the latest). Rejects with code `not_found` when absent or destroyed. */
  read(key: string, version?: number): Promise<SecretData>
  /**
   * The latest version written for `key` (0 when none): the `cas` for the next write. It may be newer than the
   * version a connection row names as live (a rotation Flow Service refused leaves its version behind).
   */
  currentVersion(key: string): Promise<number>
  /** Removes the key and every version of it. Succeeds when the key does not exist. */
  destroy(key: string): Promise<void>
  /** Every key the store holds for the broker (used by the orphan sweep). */
  listKeys(): Promise<string[]>
  /**
   * The reference shown in place of a secret param, e.g.
   * `vault:secret/credential-broker/connections/<id>#password@v2` or `local:connections/<id>#password@v2`.
   */
  reference(key: string, field: string, version: number): string
  /** Throws SecretStoreError when the store cannot serve requests (readiness). */
  ping(): Promise<void>
  close(): Promise<void>
}

export type SecretStoreErrorCode =
  | 'cas_mismatch' // someone else wrote a version in between
  | 'not_found' // no such key or version (or it was destroyed)
  | 'unavailable' // unreachable, sealed, timed out: worth retrying later
  | 'denied' // the store refused our credentials even after re-authenticating

export class SecretStoreError extends Error {
  override readonly name = 'SecretStoreError'
  constructor(
    readonly code: SecretStoreErrorCode,
    message: string,
    options?: { cause?: unknown }
  ) {
    super(message, options)
  }

  get retryable(): boolean {
    return this.code === 'unavailable'
  }
}
