// A cursor this API did not issue is the caller's mistake (400), said the same way by every paged read.
import { decodeCursor } from '../shared/cursor.js'
import { AppError } from './app-error.js'

/** The position `cursor` names (undefined without one); validation_failed for a cursor not issued here. */
export function cursorPosition(cursor: string | undefined, pattern?: RegExp): string | undefined {
  if (cursor === undefined) return undefined
  const position = decodeCursor(cursor, pattern)
  if (position === undefined) {
    throw new AppError(
      'validation_failed',
      'The cursor is not one this API issued. Pass nextCursor from the previous page unchanged, or omit it for the first page.',
      {
        errors: [{ path: 'query.cursor', message: 'not a cursor issued by this API' }]
      }
    )
  }
  return position
}
