// Vault's KV v2 engine over the typed client: builds <mount>/data|metadata/<path>, encodes each segment,
// unwraps the envelope. node-vault knows nothing of KV v2 and does not URL-encode paths.
import { VaultRequestError } from './vault-request-error.js'
import type { VaultBody, VaultClient } from './vault-client.js'

/** A path under the mount, one string per segment (e.g. ['credential-broker', 'connections', id]). */
export type KvPath = readonly string[]

export interface KvVersionMetadata {
  version: number
  createdTime: string
  /** '' while the version is live. */
  deletionTime: string
  destroyed: boolean
}

export interface KvSecret {
  data: Record<string, unknown>
  metadata: KvVersionMetadata
}

/** Encodes one segment; '', '.' and '..' would change which path is meant once a URL parser normalises it. */
export function encodeSegment(segment: string): string {
  if (segment === '' || segment === '.' || segment === '..')
    throw new RangeError(`invalid Vault path segment "${segment}"`)
  return encodeURIComponent(segment)
}

export class KvV2 {
  constructor(
    private readonly client: VaultClient,
    readonly mount: string
  ) {}

  /** Writes a new version; `cas` 0 = only when the key does not exist, N = only when N is the current version. */
  async write(path: KvPath, data: Record<string, string>, options: { cas?: number } = {}): Promise<KvVersionMetadata> {
    const body = { ...(options.cas !== undefined ? { options: { cas: options.cas } } : {}), data }
    const answer = await this.client.write(`KV write ${this.show(path)}`, this.url('data', path), body)
    return versionMetadataOf(`KV write ${this.show(path)}`, answer?.data)
  }

  /**
   * Reads the latest version (or `version`). Resolves to undefined when the key, the version, or its data is gone:
   * Vault answers 404 for all three (a soft-deleted or destroyed version comes back as a 404 with data.data = null).
   */
  async read(path: KvPath, version?: number): Promise<KvSecret | undefined> {
    const query = version !== undefined ? `?version=${encodeURIComponent(String(version))}` : ''
    let answer: VaultBody
    try {
      answer = await this.client.read(`KV read ${this.show(path)}`, this.url('data', path) + query)
    } catch (err) {
      if (err instanceof VaultRequestError && err.status === 404) return undefined
      throw err
    }
    const payload = answer.data as { data?: unknown; metadata?: unknown } | null | undefined
    if (payload?.data === null || typeof payload?.data !== 'object') return undefined
    return {
      data: payload.data as Record<string, unknown>,
      metadata: versionMetadataOf(`KV read ${this.show(path)}`, payload.metadata)
    }
  }

  /** The key's current_version from its metadata; 0 when the key does not exist (Vault answers 404). */
  async currentVersion(path: KvPath): Promise<number> {
    let answer: VaultBody
    try {
      answer = await this.client.read(`KV metadata ${this.show(path)}`, this.url('metadata', path))
    } catch (err) {
      if (err instanceof VaultRequestError && err.status === 404) return 0
      throw err
    }
    const current = (answer.data as { current_version?: unknown } | null | undefined)?.current_version
    if (typeof current !== 'number' || !Number.isInteger(current) || current < 0) {
      throw new VaultRequestError(`KV metadata ${this.show(path)}`, { kind: 'transport', code: 'EBADBODY' })
    }
    return current
  }

  /** Deletes the key with every version and its metadata. Vault answers 204 whether or not it existed. */
  async deleteMetadata(path: KvPath): Promise<void> {
    await this.client.delete(`KV delete ${this.show(path)}`, this.url('metadata', path))
  }

  /** Names directly under `folder` (sub-folders end with '/'). Vault answers 404 for an empty or missing folder. */
  async list(folder: KvPath): Promise<string[]> {
    let answer: VaultBody
    try {
      answer = await this.client.list(`KV list ${this.show(folder)}/`, `${this.url('metadata', folder)}/`)
    } catch (err) {
      if (err instanceof VaultRequestError && err.status === 404) return []
      throw err
    }
    const keys = (answer.data as { keys?: unknown } | null | undefined)?.keys
    return Array.isArray(keys) ? keys.filter((k): k is string => typeof k === 'string') : []
  }

  private url(kind: 'data' | 'metadata', path: KvPath): string {
    return [encodeSegment(this.mount), kind, ...path.map(encodeSegment)].join('/')
  }

  /** The path as written in error messages (a path is never secret; values are). */
  private show(path: KvPath): string {
    return [this.mount, ...path].join('/')
  }
}

function versionMetadataOf(operation: string, value: unknown): KvVersionMetadata {
  const m = value as Record<string, unknown> | null | undefined
  if (typeof m?.version !== 'number') throw new VaultRequestError(operation, { kind: 'transport', code: 'EBADBODY' })
  return {
    version: m.version,
    createdTime: typeof m.created_time === 'string' ? m.created_time : '',
    deletionTime: typeof m.deletion_time === 'string' ? m.deletion_time : '',
    destroyed: m.destroyed === true
  }
}
