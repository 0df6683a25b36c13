// Opaque pagination cursors: base64url of a versioned position, validated on the way back in.
import { AppError } from '../errors/app-error.js'

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/

export const encodeCursor = (afterId: string): string => Buffer.from(`c1:${afterId}`).toString('base64url')

export function decodeCursor (cursor: string, pattern: RegExp = UUID): string {
  const text = Buffer.from(cursor, 'base64url').toString('utf8')
  const id = text.startsWith('c1:') ? text.slice(3) : ''
  if (!pattern.test(id)) {
    throw new AppError('validation_failed', 'The cursor is not one this API issued. Pass nextCursor from the previous page unchanged, or omit it for the first page.', {
      errors: [{ path: 'query.cursor', message: 'not a cursor issued by this API' }]
    })
  }
  return id
}
