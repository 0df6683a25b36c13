// Parses GET /connections query parameters (property filters, limit, count, orderby, continuationToken) the way
// Flow Service reads them, into a plan the store can run, or the catalogue error Flow Service would answer.
export const FILTER_FIELDS = ['id', 'name', 'description', 'connectionSpec.id', 'state'] as const
export type FilterField = (typeof FILTER_FIELDS)[number]

export const ORDER_FIELDS = ['createdAt', 'updatedAt', 'name', 'id', 'state'] as const
export type OrderField = (typeof ORDER_FIELDS)[number]

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

/**
 * Where the next page starts: after a creation sequence (default order), or after the last item's sort key (explicit
 * orderby). Keys, not offsets, so connections created or deleted between page reads neither repeat nor skip items.
 */
export type Cursor = { after: number } | { field: OrderField; descending: boolean; key: string | number; seq: number }

export type ListPlan =
  | { kind: 'count'; clauses: FilterClause[] }
  | { kind: 'page'; clauses: FilterClause[]; limit: number; orderBy?: OrderBy; cursor?: Cursor }

export interface ListQueryError {
  code: string
  message: string
}

export const MAX_LIMIT = 100
/** Flow Service pages even without `limit`; the emulator uses the maximum so one call sees as much as allowed. */
export const DEFAULT_LIMIT = 100

const CLAUSE = /^([A-Za-z.]+)(==|!=)(.*)$/s

export function parseListQuery(query: URLSearchParams): ListPlan | ListQueryError {
  const clauses: FilterClause[] = []
  for (const raw of query.getAll('property')) {
    const m = CLAUSE.exec(raw)
    if (m === null)
      return { code: '1100-400', message: `Invalid property filter '${raw}': expected field==value or field!=value.` }
    const field = m[1] as string
    if (!(FILTER_FIELDS as readonly string[]).includes(field)) {
      return {
        code: '1100-400',
        message: `Filtering on property '${field}' is not supported. Supported: ${FILTER_FIELDS.join(', ')}.`
      }
    }
    clauses.push({ field: field as FilterField, op: m[2] as '==' | '!=', values: (m[3] as string).split(',') })
  }

  const count = query.get('count')
  const limitRaw = query.get('limit')
  if (count !== null && count.toLowerCase() === 'true') {
    if (limitRaw !== null) {
      return {
        code: '1401-400',
        message:
          'The limit and count parameters cannot be given together in the same request. Please provide either only the limit or the count parameter and try again.'
      }
    }
    return { kind: 'count', clauses }
  }

  let limit = DEFAULT_LIMIT
  if (limitRaw !== null) {
    if (!/^[0-9]+$/.test(limitRaw) || Number(limitRaw) < 1 || Number(limitRaw) > MAX_LIMIT) {
      return {
        code: '1100-400',
        message: `Invalid limit '${limitRaw}': it must be an integer between 1 and ${MAX_LIMIT}.`
      }
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
      return {
        code: '1100-400',
        message: `Invalid orderby '${orderRaw}'. Supported fields: ${ORDER_FIELDS.join(', ')}.`
      }
    }
    orderBy = { field: field as OrderField, descending }
  }

  let cursor: Cursor | undefined
  const token = query.get('continuationToken')
  if (token !== null) {
    const decoded = decodeCursor(token)
    const fits =
      decoded !== undefined &&
      ('after' in decoded
        ? orderBy === undefined
        : orderBy !== undefined && decoded.field === orderBy.field && decoded.descending === orderBy.descending)
    if (!fits) {
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

export function encodeCursor(cursor: Cursor): string {
  const raw =
    'after' in cursor
      ? `a${cursor.after}`
      : `k${JSON.stringify([cursor.field, cursor.descending ? 1 : 0, cursor.key, cursor.seq])}`
  return Buffer.from(raw).toString('base64url')
}

export function decodeCursor(token: string): Cursor | undefined {
  const raw = Buffer.from(token, 'base64url').toString('utf8')
  const after = /^a([0-9]{1,15})$/.exec(raw)
  if (after !== null) return { after: Number(after[1]) }
  if (!raw.startsWith('k')) return undefined
  let parsed: unknown
  try {
    parsed = JSON.parse(raw.slice(1))
  } catch {
    return undefined
  }
  if (!Array.isArray(parsed) || parsed.length !== 4) return undefined
  const [field, descending, key, seq] = parsed as unknown[]
  if (typeof field !== 'string' || !(ORDER_FIELDS as readonly string[]).includes(field)) return undefined
  if ((descending !== 0 && descending !== 1) || (typeof key !== 'string' && typeof key !== 'number')) return undefined
  if (typeof seq !== 'number' || !Number.isSafeInteger(seq)) return undefined
  return { field: field as OrderField, descending: descending === 1, key, seq }
}

/** `_links.next.href` as Adobe writes it: relative to the service root, the same query with the new token. */
export function nextHref(query: URLSearchParams, cursor: Cursor): string {
  const next = new URLSearchParams()
  for (const [k, v] of query) if (k !== 'continuationToken') next.append(k, v)
  next.append('continuationToken', encodeCursor(cursor))
  return `/connections?${next.toString()}`
}
