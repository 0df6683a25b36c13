// The marker the broker puts in each downstream description, so an ambiguous create can be found again.
import type { FlowServiceClient } from '../flow-service/flow-service-client.js'
import type { FlowConnection } from '../flow-service/types.js'

const markerOf = (brokerId: string): string => `[credential-broker:${brokerId}]`

/** The description Flow Service receives: the caller's text, then our marker on its own. */
export function downstreamMarker (description: string | undefined, brokerId: string): string {
  return description === undefined || description === '' ? markerOf(brokerId) : `${description} ${markerOf(brokerId)}`
}

/** Strips the marker back off a downstream description. */
export function stripMarker (description: string | undefined, brokerId: string): string | undefined {
  if (description === undefined) return undefined
  const marker = markerOf(brokerId)
  if (description === marker) return ''
  return description.endsWith(` ${marker}`) ? description.slice(0, -marker.length - 1) : description
}

/** A downstream connection carrying a broker connection's marker. */
export interface MarkedDownstream {
  id: string
  /** Absent while the connection is initializing. */
  etag: string | null
  state: string
  /** Further connections with the same marker: duplicates that must not exist (oldest first is adopted). */
  duplicates: string[]
}

/** After an ambiguous POST: the downstream connection carrying our marker, if the POST did land. */
export async function findAdoptableDownstream (flow: FlowServiceClient, sandbox: string, name: string, brokerId: string): Promise<MarkedDownstream | undefined> {
  const marker = markerOf(brokerId)
  const mine: FlowConnection[] = []
  let continuationToken: string | undefined
  do {
    const page = await flow.listConnections(sandbox, { name, limit: 100, ...(continuationToken !== undefined ? { continuationToken } : {}) })
    mine.push(...page.items.filter((c) => c.description?.endsWith(marker) === true))
    continuationToken = page.continuationToken
  } while (continuationToken !== undefined)
  // Flow Service lists in creation order: the first one is the one every earlier look would have found.
  const [first, ...rest] = [...mine].sort((a, b) => a.createdAt - b.createdAt)
  if (first === undefined) return undefined
  return { id: first.id, etag: first.etag ?? null, state: first.state, duplicates: rest.map((c) => c.id) }
}
