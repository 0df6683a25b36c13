// The marker the broker puts in each downstream description, and the look-up that finds a broker connection's
// downstream connections by it. The look-up never filters on the name: Flow Service's filter syntax splits values
// on ',' (after decoding), so a name such as "ACME, Inc." can never be matched exactly; it lists the connection
// spec's connections newest first instead, back to shortly before the broker row was created.
import type { FlowServiceClient } from '../../flow-service/flow-service-client.js'
import type { FlowConnection } from '../../flow-service/types.js'

const MARKER = /\[credential-broker:([0-9a-f-]{36})\]$/

const markerOf = (brokerId: string): string => `[credential-broker:${brokerId}]`

/** The description Flow Service receives: the caller's text, then our marker on its own. */
export function downstreamMarker(description: string | undefined, brokerId: string): string {
  return description === undefined || description === '' ? markerOf(brokerId) : `${description} ${markerOf(brokerId)}`
}

/** Strips the marker back off a downstream description. */
export function stripMarker(description: string | undefined, brokerId: string): string | undefined {
  if (description === undefined) return undefined
  const marker = markerOf(brokerId)
  if (description === marker) return ''
  return description.endsWith(` ${marker}`) ? description.slice(0, -marker.length - 1) : description
}

/** The broker connection id a downstream description is marked with, if any. */
export function markedBrokerId(description: string | undefined): string | undefined {
  return description === undefined ? undefined : MARKER.exec(description)?.[1]
}

/** One downstream connection carrying a broker connection's marker. */
export interface MarkedConnection {
  id: string
  /** Absent while the connection is initializing (it cannot be changed or deleted before it has one). */
  etag: string | null
  state: string
  createdAt: number
}

/** Which broker connection to look for, and since when its downstream connections can exist. */
export interface MarkerSearch {
  brokerId: string
  sandbox: string
  connectionSpecId: string
  /** When the broker row was created: no POST of it was sent before. */
  createdAt: Date
}

/**
 * Flow Service's clock and ours may disagree; a connection created this long before our row cannot be ours, and
 * the look-up stops there. Generous, because stopping too early would miss the connection and POST again.
 */
const CLOCK_SKEW_MS = 15 * 60 * 1000
const PAGE = 100

/**
 * Every downstream connection marked with `search.brokerId`, oldest first. Lists the connection spec's connections
 * newest first and stops at the first page that reaches back before the row was created; if Flow Service does
 * not honour the order, it reads every page rather than conclude "not there" from a partial answer.
 */
export async function findMarkedConnections(
  flow: FlowServiceClient,
  search: MarkerSearch
): Promise<MarkedConnection[]> {
  const marker = markerOf(search.brokerId)
  const oldest = search.createdAt.getTime() - CLOCK_SKEW_MS
  const found = new Map<string, MarkedConnection>()
  let ordered = true
  let previous = Number.POSITIVE_INFINITY
  let continuationToken: string | undefined
  do {
    const page = await flow.listConnections(search.sandbox, {
      connectionSpecId: search.connectionSpecId,
      orderBy: { field: 'createdAt', descending: true },
      limit: PAGE,
      ...(continuationToken !== undefined ? { continuationToken } : {})
    })
    let reachedBack = false
    for (const item of page.items) {
      const createdAt =
        typeof item.createdAt === 'number' && Number.isFinite(item.createdAt) ? item.createdAt : Number.NaN
      if (Number.isNaN(createdAt) || createdAt > previous) ordered = false
      else previous = createdAt
      if (createdAt < oldest) reachedBack = true
      if (item.description?.endsWith(marker) === true && !found.has(item.id))
        found.set(item.id, marked(item, createdAt))
    }
    continuationToken = page.continuationToken
    if (ordered && reachedBack) break
  } while (continuationToken !== undefined)
  return [...found.values()].sort((a, b) => a.createdAt - b.createdAt)
}

function marked(item: FlowConnection, createdAt: number): MarkedConnection {
  return {
    id: item.id,
    etag: item.etag !== undefined && item.etag !== '' ? item.etag : null,
    state: item.state,
    createdAt
  }
}
