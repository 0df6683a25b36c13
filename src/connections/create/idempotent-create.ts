// Idempotency-Key for creates: the same team, key and body get the original answer; another body gets 422.
// The stored fingerprint covers only non-secret parts (a bare hash of a weak password could be brute-forced);
// secret values are compared by reading them back from the secret store, in constant time.
import { createHash, timingSafeEqual } from 'node:crypto'
import type { CredentialsCheck } from '../../catalog/validate-credentials.js'
import type { ConnectionRow } from '../../db/schema.js'
import { AppError } from '../../errors/app-error.js'
import { SecretStoreError, type SecretData } from '../../secrets/secret-store.js'
import type { ConnectionDeps } from '../connection-deps.js'
import { findByIdempotencyKey, forgetIdempotencyKey } from '../connection-repository.js'

/** How long a key names its request. The reconciler clears older keys; a lookup never honours one past it. */
export const IDEMPOTENCY_KEY_TTL_MS = 24 * 60 * 60 * 1000

/** The secret store version a create writes (cas 0): what a replay compares against. */
const CREATE_SECRET_VERSION = 1

type CheckedCredentials = Extract<CredentialsCheck, { ok: true }>

/**
 * sha256 over the normalised, non-secret request: two bodies that differ only in a safe normalisation (the Service
 * Cloud id typo, a Marketing Cloud host) are the same request; secret values are left out on purpose.
 */
export function requestFingerprint(
  check: CheckedCredentials,
  request: { name: string; description?: string | undefined; sandboxName: string }
): string {
  const canonical = {
    v: 1,
    sandboxName: request.sandboxName,
    name: request.name,
    description: request.description ?? null,
    connectionSpec: { id: check.spec.id, version: check.version },
    authSpec: check.authSpec.name,
    publicParams: sortedEntries(check.publicParams),
    secretFields: Object.keys(check.secretParams).sort()
  }
  return createHash('sha256').update(JSON.stringify(canonical)).digest('hex')
}

/**
 * The connection a previous request with this key created, when this request repeats it; undefined when the key
 * names nothing (or only an expired request). Throws the problem the original request answered when it did not
 * end with a connection, 409 while it still runs, and 422 when the body differs.
 */
export async function findOriginalCreate(
  deps: ConnectionDeps,
  team: string,
  key: string,
  fingerprint: string,
  check: CheckedCredentials,
  now = new Date()
): Promise<ConnectionRow | undefined> {
  const row = await findByIdempotencyKey(deps.db, team, key)
  if (row === undefined) return undefined
  if (row.created_at.getTime() < now.getTime() - IDEMPOTENCY_KEY_TTL_MS) {
    // Expired (the reconciler's sweep has not got to it yet): the key now names this new request.
    await forgetIdempotencyKey(deps.db, row.id)
    return undefined
  }
  if (row.request_fingerprint !== fingerprint || !(await sameSecrets(deps, row.id, check.secretParams))) {
    throw new AppError(
      'idempotency_key_reused',
      `Idempotency-Key "${key}" was used within the last 24 h for a different request (connection ${row.id}). Send a new key for a new request, or the identical body to get the original answer.`,
      {
        extensions: { connectionId: row.id }
      }
    )
  }
  if (row.state === 'pending') {
    const leaseLeftMs = row.lease_until === null ? 0 : row.lease_until.getTime() - now.getTime()
    if (row.lease_owner !== null && leaseLeftMs > 0) {
      throw new AppError(
        'idempotency_key_in_use',
        `The request with Idempotency-Key "${key}" is still running. Retry after the time given in Retry-After to get its answer.`,
        {
          retryAfterSeconds: Math.min(60, Math.max(1, Math.ceil(leaseLeftMs / 1000))),
          extensions: { connectionId: row.id }
        }
      )
    }
    // The original request answered 503 and left the row to the reconciler: the same answer, until it settles.
    throw new AppError(
      'downstream_unavailable',
      'Flow Service has not confirmed this connection yet. It stays pending and is completed or rolled back automatically; retry with the same Idempotency-Key to learn the outcome.',
      {
        retryAfterSeconds: 30,
        extensions: { connectionId: row.id }
      }
    )
  }
  if (row.state === 'failed') {
    // Only refusals keep their key (transient failures free it, so a retry creates anew): answer the refusal again.
    const refusal = row.failure_detail
    throw new AppError('downstream_rejected', row.state_reason ?? 'Flow Service rejected the connection.', {
      extensions: {
        connectionId: row.id,
        downstream: { status: refusal?.status ?? null, code: refusal?.code ?? null, message: refusal?.message ?? null }
      }
    })
  }
  return row
}

/**
 * Compares the request's secret values with those the original create stored, in constant time. When they can no
 * longer be read (destroyed with a failed or deleted connection), the non-secret fingerprint has to do.
 */
async function sameSecrets(deps: ConnectionDeps, id: string, given: SecretData): Promise<boolean> {
  let stored: SecretData
  try {
    stored = await deps.secrets.read(id, CREATE_SECRET_VERSION)
  } catch (err) {
    if (err instanceof SecretStoreError && err.code === 'not_found') return true
    throw err
  }
  const names = new Set([...Object.keys(stored), ...Object.keys(given)])
  let same = true
  for (const name of names) {
    // Digests have equal lengths, so timingSafeEqual never leaks a length; every field is compared either way.
    const a = createHash('sha256')
      .update(stored[name] ?? '\u0000absent')
      .digest()
    const b = createHash('sha256')
      .update(given[name] ?? '\u0000absent')
      .digest()
    same = timingSafeEqual(a, b) && same
  }
  return same
}

function sortedEntries(params: Record<string, string | number | boolean>): Array<[string, string | number | boolean]> {
  return Object.entries(params).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
}
