// The one place where a Vault failure becomes a SecretStoreError code: retryable (unavailable) or permanent.
import { SecretStoreError } from '../secret-store.js'
import { VaultRequestError, toVaultRequestError } from './vault-request-error.js'

export function toSecretStoreError(operation: string, err: unknown): SecretStoreError {
  if (err instanceof SecretStoreError) return err
  // The cause kept is the reduced VaultRequestError: node-vault's own error holds the request body and the token.
  const e = err instanceof VaultRequestError ? err : toVaultRequestError(operation, err)
  const cause = { cause: e }
  const status = e.status
  if (status === undefined) return new SecretStoreError('unavailable', e.message, cause)
  if (status === 400 && e.mentions('check-and-set parameter did not match'))
    return new SecretStoreError('cas_mismatch', e.message, cause)
  if (status === 404) return new SecretStoreError('not_found', e.message, cause)
  // 429: standby or rate limited; 412: a performance standby has not caught up yet; 5xx: sealed, down, behind a proxy.
  if (status >= 500 || status === 429 || status === 412) return new SecretStoreError('unavailable', e.message, cause)
  // 403 once we have logged in again, bad AppRole or Kubernetes credentials (400), or any other refusal:
  // retrying the same request cannot help.
  return new SecretStoreError('denied', e.message, cause)
}
