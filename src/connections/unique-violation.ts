// Recognises PostgreSQL's unique violations (23505) by constraint, as both drivers report them.

export function isUniqueViolation(err: unknown, constraint: string): boolean {
  const e = err as { code?: unknown; constraint?: unknown; message?: unknown }
  if (e.code !== '23505') return false
  return e.constraint === constraint || (typeof e.message === 'string' && e.message.includes(constraint))
}

/** Another broker connection already records this Flow Service id. */
export const isDownstreamIdClash = (err: unknown): boolean =>
  isUniqueViolation(err, 'connections_flow_connection_id_key')
