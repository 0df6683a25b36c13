// Opaque pagination cursors: base64url of a versioned position, checked on the way back in.

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/

export const encodeCursor = (position: string): string => Buffer.from(`c1:${position}`).toString('base64url')

/** The position a cursor names, or undefined when this API did not issue it (positions match `pattern`). */
export function decodeCursor(cursor: string, pattern: RegExp = UUID): string | undefined {
  const text = Buffer.from(cursor, 'base64url').toString('utf8')
  const position = text.startsWith('c1:') ? text.slice(3) : ''
  return pattern.test(position) ? position : undefined
}
