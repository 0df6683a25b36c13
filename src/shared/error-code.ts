// The one way to read the `code` a driver or Node put on an error (PostgreSQL SQLSTATE, errno name), without casts.
// A leaf module: it imports nothing from the app.

/** The error's own string `code`, if it has one. */
export function errorCode(error: unknown): string | undefined {
  if (typeof error !== 'object' || error === null || !('code' in error)) return undefined
  return typeof error.code === 'string' ? error.code : undefined
}

/**
 * The first string `code` on the error or down its causes; a failed connect under happy eyeballs (autoSelectFamily)
 * is an AggregateError of per-address errors, read through its first.
 */
export function deepErrorCode(error: unknown, depth = 0): string | undefined {
  if (typeof error !== 'object' || error === null || depth > 8) return undefined
  const own = errorCode(error)
  if (own !== undefined) return own
  if (error instanceof AggregateError) return deepErrorCode(error.errors[0], depth + 1)
  return 'cause' in error ? deepErrorCode(error.cause, depth + 1) : undefined
}
