// The marker the broker puts in each downstream description, so an ambiguous create can be found again.
import type { FlowServiceClient } from '../flow-service/flow-service-client.js'

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

/** After an ambiguous POST: the downstream connection carrying our marker, if the POST did land. */
export async function findAdoptableDownstream (flow: FlowServiceClient, sandbox: string, name: string, brokerId: string): Promise<{ id: string, etag: string | null } | undefined> {
  const marker = markerOf(brokerId)
  let continuationToken: string | undefined
  do {
    const page = await flow.listConnections(sandbox, { name, limit: 100, ...(continuationToken !== undefined ? { continuationToken } : {}) })
    const mine = page.items.find((c) => c.description?.endsWith(marker) === true)
    if (mine !== undefined) return { id: mine.id, etag: mine.etag ?? null }
    continuationToken = page.continuationToken
  } while (continuationToken !== undefined)
  return undefined
}
