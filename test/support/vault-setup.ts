// Test set-up through Vault's own HTTP API, so the same steps work on the emulator and on a real `vault server -dev`:
// choosing the target (VAULT_ADDR + VAULT_TOKEN, else an emulator), mounts, policies, tokens, AppRole roles.
import { randomUUID } from 'node:crypto'
import { startVaultEmulator, type VaultEmulator, type VaultEmulatorOptions } from './vault-emulator.js'

export interface VaultTarget {
  addr: string
  /** A root (or sudo) token, for set-up only. */
  rootToken: string
  /** The emulator and its switches; undefined against a real Vault. */
  emulator: VaultEmulator | undefined
  close(): Promise<void>
}

export interface VaultAnswer {
  status: number
  headers: Headers
  /** Parsed JSON, or undefined for an empty body. */
  body: unknown
}

/** True when the tests are pointed at a real Vault. */
export function usingRealVault(): boolean {
  return (process.env.VAULT_ADDR ?? '') !== '' && (process.env.VAULT_TOKEN ?? '') !== ''
}

/** The Vault to test against: a real one from VAULT_ADDR/VAULT_TOKEN, else a fresh emulator. */
export async function startVaultTarget(options: VaultEmulatorOptions = {}): Promise<VaultTarget> {
  if (usingRealVault()) {
    return {
      addr: (process.env.VAULT_ADDR ?? '').replace(/\/+$/, ''),
      rootToken: process.env.VAULT_TOKEN ?? '',
      emulator: undefined,
      close: async () => {}
    }
  }
  const emulator = await startVaultEmulator(options)
  return {
    addr: emulator.addr,
    rootToken: emulator.rootToken,
    emulator,
    close: async () => {
      await emulator.close()
    }
  }
}

/** A name no other test run uses (Vault paths, mounts, roles). */
export function uniqueName(prefix: string): string {
  return `${prefix}-${randomUUID().slice(0, 8)}`
}

/** One raw Vault API call (path after /v1/). Uses the root token unless `token` is given ('' = no token). */
export async function vaultApi(
  target: VaultTarget,
  method: string,
  path: string,
  body?: unknown,
  token?: string
): Promise<VaultAnswer> {
  const headers: Record<string, string> = {}
  const useToken = token ?? target.rootToken
  if (useToken !== '') headers['X-Vault-Token'] = useToken
  if (body !== undefined) headers['Content-Type'] = 'application/json'
  const res = await fetch(`${target.addr}/v1/${path}`, {
    method,
    headers,
    ...(body !== undefined ? { body: JSON.stringify(body) } : {})
  })
  const text = await res.text()
  return { status: res.status, headers: res.headers, body: text === '' ? undefined : (JSON.parse(text) as unknown) }
}

/** Like vaultApi, but fails unless Vault answered 2xx; resolves to the `data` of the answer (or its `auth`). */
export async function vaultApiOk(
  target: VaultTarget,
  method: string,
  path: string,
  body?: unknown,
  token?: string
): Promise<Record<string, unknown>> {
  const answer = await vaultApi(target, method, path, body, token)
  if (answer.status < 200 || answer.status > 299)
    throw new Error(`${method} ${path}: Vault answered ${answer.status} ${JSON.stringify(answer.body)}`)
  const envelope = (answer.body ?? {}) as { data?: unknown; auth?: unknown }
  return (envelope.data ?? envelope.auth ?? {}) as Record<string, unknown>
}

/** Enables an auth method; an existing mount of the same path is fine. */
export async function enableAuth(target: VaultTarget, mount: string, type: 'approle' | 'kubernetes'): Promise<void> {
  const answer = await vaultApi(target, 'POST', `sys/auth/${mount}`, { type })
  if (answer.status !== 204 && !JSON.stringify(answer.body).includes('path is already in use')) {
    throw new Error(`enabling ${type} at ${mount}: Vault answered ${answer.status} ${JSON.stringify(answer.body)}`)
  }
}

/** Mounts a fresh KV v2 engine (for tests that change mount-wide settings); returns an unmount function. */
export async function enableKvV2(target: VaultTarget, mount: string): Promise<() => Promise<void>> {
  await vaultApiOk(target, 'POST', `sys/mounts/${mount}`, { type: 'kv', options: { version: '2' } })
  // A real Vault needs a moment after mounting KV v2 before it serves it ("Upgrading from non versioned to versioned data").
  for (let i = 0; i < 50; i++) {
    const probe = await vaultApi(target, 'GET', `${mount}/config`)
    if (probe.status === 200) break
    await new Promise((resolve) => setTimeout(resolve, 100))
  }
  return async () => {
    await vaultApi(target, 'DELETE', `sys/mounts/${mount}`)
  }
}

export async function putPolicy(target: VaultTarget, name: string, policy: string): Promise<void> {
  await vaultApiOk(target, 'PUT', `sys/policies/acl/${name}`, { policy })
}

/** What the broker needs on its KV folder, and nothing else. */
export function brokerPolicy(kvMount: string, prefix: string): string {
  return [
    `path "${kvMount}/data/${prefix}/connections/*" { capabilities = ["create", "read", "update", "delete"] }`,
    `path "${kvMount}/metadata/${prefix}/connections/*" { capabilities = ["read", "delete", "list"] }`
  ].join('\n')
}

export interface TokenSpec {
  policies: string[]
  /** Seconds. */
  ttl: number
  explicitMaxTtl?: number
  renewable?: boolean
}

/** Creates a token through auth/token/create (a separate client from any store: creating never touches its token). */
export async function createToken(target: VaultTarget, spec: TokenSpec): Promise<string> {
  const auth = await vaultApiOk(target, 'POST', 'auth/token/create', {
    policies: spec.policies,
    ttl: `${spec.ttl}s`,
    ...(spec.explicitMaxTtl !== undefined ? { explicit_max_ttl: `${spec.explicitMaxTtl}s` } : {}),
    renewable: spec.renewable ?? true
  })
  return String(auth.client_token)
}

/** auth/token/lookup with the root token: TTL, last renewal, ... of any token. */
export async function lookupToken(target: VaultTarget, token: string): Promise<Record<string, unknown>> {
  return await vaultApiOk(target, 'POST', 'auth/token/lookup', { token })
}

export interface AppRoleSpec {
  /** Auth mount; default: a fresh one, so runs against a shared Vault do not collide. */
  mount?: string
  role?: string
  policies: string[]
  /** Seconds. */
  tokenTtl?: number
  tokenMaxTtl?: number
}

export interface AppRoleCredentials {
  mount: string
  role: string
  roleId: string
  secretId: string
}

/** Enables AppRole, writes a role, reads its role id and generates a secret id: all through the Vault API. */
export async function setupAppRole(target: VaultTarget, spec: AppRoleSpec): Promise<AppRoleCredentials> {
  const mount = spec.mount ?? uniqueName('approle')
  const role = spec.role ?? 'broker'
  await enableAuth(target, mount, 'approle')
  await vaultApiOk(target, 'POST', `auth/${mount}/role/${role}`, {
    token_policies: spec.policies,
    ...(spec.tokenTtl !== undefined ? { token_ttl: `${spec.tokenTtl}s` } : {}),
    ...(spec.tokenMaxTtl !== undefined ? { token_max_ttl: `${spec.tokenMaxTtl}s` } : {})
  })
  const roleId = String((await vaultApiOk(target, 'GET', `auth/${mount}/role/${role}/role-id`)).role_id)
  const secretId = String((await vaultApiOk(target, 'POST', `auth/${mount}/role/${role}/secret-id`, {})).secret_id)
  return { mount, role, roleId, secretId }
}

/** Revokes every token issued by logins at an auth mount (Vault: sys/leases/revoke-prefix/auth/<mount>/login). */
export async function revokeLogins(target: VaultTarget, authMount: string): Promise<void> {
  await vaultApiOk(target, 'PUT', `sys/leases/revoke-prefix/auth/${authMount}/login`, {})
}
