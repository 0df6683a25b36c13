// The filters a list request was asked for, as its audit row records them: paging says nothing about intent.
export function listFilters (query: Record<string, unknown>): Record<string, unknown> {
  const { limit: _limit, cursor: _cursor, ...filters } = query
  return filters
}
