// Pages of a list read in key order: one row more than the page is fetched, which tells whether another page
// exists without a count query.
import { encodeCursor } from './cursor.js'

export interface Page<T> {
  items: T[]
  /** The cursor of the next page; null on the last one. */
  nextCursor: string | null
}

/** How many rows to fetch for a page of `limit`. */
export const rowsForPage = (limit: number): number => limit + 1

/** The page in `rows` (fetched with rowsForPage), its next cursor at the position of its last row. */
export function pageOf<T>(rows: T[], limit: number, positionOf: (row: T) => string): Page<T> {
  const items = rows.slice(0, limit)
  const last = items.at(-1)
  return { items, nextCursor: rows.length > limit && last !== undefined ? encodeCursor(positionOf(last)) : null }
}

/** The filters a list read was asked for, as its audit row records them: paging says nothing about intent. */
export function listFilters(query: object): Record<string, unknown> {
  const { limit: _limit, cursor: _cursor, ...filters } = query as Record<string, unknown>
  return filters
}
