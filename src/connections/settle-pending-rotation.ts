// Settles a rotation whose PATCH may or may not have reached Flow Service (the request died or could not tell):
// Flow Service's etag says whether it took the new credentials, and the row then names the version it holds.
import { appendAudit, type Actor } from '../audit/audit-log.js'
import type { ConnectionRow, PendingRotation } from '../db/schema.js'
import type { FlowConnection } from '../flow-service/types.js'
import type { ConnectionDeps } from './connection-deps.js'
import { lockConnection, updateConnection } from './connection-repository.js'

export type RotationOutcome = 'applied' | 'discarded' | 'skipped'

/**
 * `claimed` holds a pending_change and is leased to `owner` (or the caller otherwise owns it). Throws when Flow
 * Service cannot be asked; the change stays pending and is settled later.
 */
export async function settlePendingRotation (deps: ConnectionDeps, claimed: ConnectionRow, owner: string, actor: Actor, requestId: string | null): Promise<RotationOutcome> {
  const change = claimed.pending_change
  if (change === null) return 'skipped'
  const current = claimed.flow_connection_id === null ? null : await deps.flow.getConnection(claimed.sandbox_name, claimed.flow_connection_id)
  // Gone downstream: nothing holds either version; the poller records the deletion.
  const applied = current !== null && tookRotation(current, change)
  const outcome = await deps.db.transaction().execute(async (tx) => {
    const row = await lockConnection(tx, claimed.id)
    if (row?.lease_owner !== owner || row.pending_change === null || row.pending_change.secretVersion !== change.secretVersion) return 'skipped'
    await updateConnection(tx, row.id, applied && current !== null
      ? {
          secret_version: change.secretVersion,
          public_params: JSON.stringify(change.publicParams),
          secret_fields: JSON.stringify(change.secretFields),
          etag: current.etag ?? row.etag,
          pending_change: null
        }
      : { pending_change: null })
    await appendAudit(tx, {
      actor,
      action: 'connection.rotate',
      connectionId: row.id,
      requestId,
      outcome: applied ? 'success' : 'failure',
      changedFields: applied ? ['auth.params'] : [],
      detail: { settled: applied ? 'Flow Service took the new credentials' : 'Flow Service kept the previous credentials', secretVersion: applied ? change.secretVersion : row.secret_version }
    })
    return applied ? 'applied' : 'discarded'
  })
  return outcome
}

/**
 * The PATCH landed when the etag moved past the one it was sent with and the non-secret params are the new ones.
 * (Secret params come back as references, so they cannot be compared; the etag is the evidence.)
 */
function tookRotation (current: FlowConnection, change: PendingRotation): boolean {
  if (current.etag === undefined || current.etag === change.ifMatch) return false
  return Object.entries(change.publicParams).every(([name, value]) => current.auth.params[name] === value)
}
