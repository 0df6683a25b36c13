// A failed Vault call, reduced to what is safe to keep: the HTTP status and Vault's messages, or the transport failure.
// node-vault and axios errors carry the request (body with secret values, X-Vault-Token header): never keep them.

export type VaultFailure =
  | { kind: 'response'; status: number; errors: string[] }
  | { kind: 'transport'; code: string }
  | { kind: 'timeout'; timeoutMs: number }

export class VaultRequestError extends Error {
  override readonly name = 'VaultRequestError'

  constructor(
    readonly operation: string,
    readonly failure: VaultFailure
  ) {
    super(`${operation}: ${describe(failure)}`)
  }

  get status(): number | undefined {
    return this.failure.kind === 'response' ? this.failure.status : undefined
  }

  /** True when one of Vault's messages contains `fragment` (Vault wraps messages in multierror text: never compare whole strings). */
  mentions(fragment: string): boolean {
    return this.failure.kind === 'response' && this.failure.errors.some((e) => e.includes(fragment))
  }

  /** Our token is refused (expired, revoked, lacking a policy): worth one new login. */
  get isAuthFailure(): boolean {
    return this.status === 403 || this.mentions('permission denied') || this.mentions('invalid token')
  }
}

/** Converts whatever node-vault threw into a VaultRequestError, dropping request details on the way. */
export function toVaultRequestError(operation: string, err: unknown, timeoutMs = 0): VaultRequestError {
  if (err instanceof VaultRequestError) return err
  const e = err as
    { response?: { statusCode?: unknown; body?: unknown }; code?: unknown; message?: unknown } | null | undefined
  const status = e?.response?.statusCode
  if (typeof status === 'number') {
    return new VaultRequestError(operation, { kind: 'response', status, errors: errorsOf(e?.response?.body) })
  }
  const code = typeof e?.code === 'string' ? e.code : 'EUNKNOWN'
  if (
    (code === 'ECONNABORTED' || code === 'ETIMEDOUT') &&
    typeof e?.message === 'string' &&
    /timeout/i.test(e.message)
  ) {
    return new VaultRequestError(operation, { kind: 'timeout', timeoutMs })
  }
  return new VaultRequestError(operation, { kind: 'transport', code })
}

function errorsOf(body: unknown): string[] {
  const errors = (body as { errors?: unknown } | null | undefined)?.errors
  if (!Array.isArray(errors)) return []
  return errors.filter((m): m is string => typeof m === 'string').map(flattenMultiError)
}

/** Vault's multierror text ("1 error occurred:\n\t* permission denied\n\n") as one line: "permission denied". */
function flattenMultiError(message: string): string {
  const items = [...message.matchAll(/^\t\* (.*)$/gm)].map((m) => m[1] ?? '')
  return items.length > 0 ? items.join('; ') : message.trim()
}

function describe(failure: VaultFailure): string {
  switch (failure.kind) {
    case 'response':
      return `Vault answered ${failure.status}${failure.errors.length > 0 ? `: ${failure.errors.join('; ')}` : ''}`
    case 'timeout':
      return `Vault did not answer within ${failure.timeoutMs} ms`
    case 'transport':
      return `Vault unreachable (${failure.code})`
  }
}
