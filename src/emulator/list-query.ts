// Parses GET /connections query parameters (property filters, limit, count, orderby, continuationToken) the way
// Flow Service reads them, into a plan the store can run, or the catalogue error Flow Service would answer.
export const FILTER_FIELDS = ['id', 'name', 'description', 'connectionSpec.id', 'state'] as const
export type FilterField = typeof FILTER_FIELDS[number]

export const ORDER_FIELDS = ['createdAt', 'updatedAt', 'name', 'id', 'state'] as const
export type OrderField = typeof ORDER_FIELDS[number]

/** One `property=` parameter: values are OR-ed; several clauses are AND-ed. */
export interface FilterClause {
  field: FilterField
  op: '==' | '!='
  values: readonly string[]
}

export interface OrderBy {
  field: OrderField
  descending: boolean
}

/** Where the next page starts: after a creation sequence (default order) or at an offset (explicit orderby). */
export type Cursor = { after: number } | { offset: number }

export type ListPlan =
  | { kind: 'count', clauses: FilterClause[] }
  | { kind: 'page', clauses: FilterClause[], limit: number, orderBy?: OrderBy, cursor?: Cursor }

export interface ListQueryError { code: string, message: string }

export const MAX_LIMIT = 100
/** Flow Service pages even without `limit`; the emulator uses the maximum so one call sees as much as allowed. */
export const DEFAULT_LIMIT = 100

const CLAUSE = /^([A-Za-z.]+)(==|!=)(.*)$/s

export function parseListQuery (query: URLSearchParams): ListPlan | ListQueryError {
  const clauses: FilterClause[] = []
  for (const raw of query.getAll('property')) {
    const m = CLAUSE.exec(raw)
    if (m === null) return { code: '1100-400', message: `Invalid property filter '${raw}': expected field==value or field!=value.` }
    const field = m[1] as string
    if (!(FILTER_FIELDS as readonly string[]).includes(field)) {
      return { code: '1100-400', message: `Filtering on property '${field}' is not supported. Supported: ${FILTER_FIELDS.join(', ')}.` }
    }
    clauses.push({ field: field as FilterField, op: m[2] as '==' | '!=', values: (m[3] as string).split(',') })
  }

  const count = query.get('count')
  const limitRaw = query.get('limit')
  if (count !== null && count.toLowerCase() === 'true') {
    if (limitRaw !== null) {
      return { code: '1401-400', message: 'The limit and count parameters cannot be given together in the same request. Please provide either only the limit or the count parameter and try again.' }
    }
    return { kind: 'count', clauses }
  }

  let limit = DEFAULT_LIMIT
  if (limitRaw !== null) {
    if (!/^[0-9]+$/.test(limitRaw) || Number(limitRaw) < 1 || Number(limitRaw) > MAX_LIMIT) {
      return { code: '1100-400', message: `Invalid limit '${limitRaw}': it must be an integer between 1 and ${MAX_LIMIT}.` }
    }
    limit = Number(limitRaw)
  }

  let orderBy: OrderBy | undefined
  const orderRaw = query.get('orderby')
  if (orderRaw !== null && orderRaw !== '') {
    // An unencoded '+' arrives as a space: `orderby=+name` means ascending, like `orderby=name`.
    const trimmed = orderRaw.trim()
    const descending = trimmed.startsWith('-')
    const field = trimmed.replace(/^[-+]/, '')
    if (!(ORDER_FIELDS as readonly string[]).includes(field)) {
      return { code: '1100-400', message: `Invalid orderby '${orderRaw}'. Supported fields: ${ORDER_FIELDS.join(', ')}.` }
    }
    orderBy = { field: field as OrderField, descending }
  }

  let cursor: Cursor | undefined
  const token = query.get('continuationToken')
  if (token !== null) {
    const decoded = decodeCursor(token)
    if (decoded === undefined || ('offset' in decoded) !== (orderBy !== undefined)) {
      return { code: '1100-400', message: `Invalid continuationToken '${token}'.` }
    }
    cursor = decoded
  }

  return {
    kind: 'page',
    clauses,
    limit,
    ...(orderBy === undefined ? {} : { orderBy }),
    ...(cursor === undefined ? {} : { cursor })
  }
}

export function encodeCursor (cursor: Cursor): string {
  const raw = 'after' in cursor ? `a${cursor.after}` : `o${cursor.offset}`
  return Buffer.from(raw).toString('base64url')
}

export function decodeCursor (token: string): Cursor | undefined {
  const raw = Buffer.from(token, 'base64url').toString('utf8')
  const m = /^([ao])([0-9]{1,15})$/.exec(raw)
  if (m === null) return undefined
  const n = Number(m[2])
  return m[1] === 'a' ? { after: n } : { offset: n }
}

/** `_links.next.href` as Adobe writes it: relative to the service root, the same query with the new token. */
export function nextHref (query: URLSearchParams, cursor: Cursor): string {
  const next = new URLSearchParams()
  for (const [k, v] of query) if (k !== 'continuationToken') next.append(k, v)
  next.append('continuationToken', encodeCursor(cursor))
  return `/connections?${next.toString()}`
}
