// Settles a create that never finished (crash, outage, retries exhausted): completed when Flow Service has the
// connection (found by the broker's marker), rolled back otherwise. Called by the reconciler on a claimed row.
import type { Actor } from '../audit/audit-log.js'
import type { ConnectionRow } from '../db/schema.js'
import type { ConnectionDeps } from './connection-deps.js'
import { forgetIdempotencyKey, lockConnection } from './connection-repository.js'
import { destroyRecordedSecret } from './destroy-secret.js'
import { findAdoptableDownstream } from './downstream-marker.js'
import { recordObservation } from './record-observation.js'

const RECONCILER: Actor = { kind: 'system', name: 'reconciler' }

export type PendingOutcome = 'completed' | 'rolled_back' | 'skipped'

/**
 * `claimed` is a pending row old enough that no create can still be running for it, leased to `owner`.
 * A failure to reach Flow Service throws (the row stays pending and is tried again on the next sweep).
 */
export async function settlePendingCreate (deps: ConnectionDeps, claimed: ConnectionRow, owner: string): Promise<PendingOutcome> {
  if (claimed.secret_version === null) {
    // The POST is sent only after the secret version is recorded: this create never reached Flow Service.
    return await rollBack(deps, claimed, owner, 'rolled back by the reconciler: the create stopped before reaching Flow Service')
  }
  const found = await findAdoptableDownstream(deps.flow, claimed.sandbox_name, claimed.name, claimed.id)
  if (found === undefined) {
    const ageSeconds = Math.round((Date.now() - claimed.created_at.getTime()) / 1000)
    return await rollBack(deps, claimed, owner, `rolled back by the reconciler: Flow Service has no connection for it ${ageSeconds} s after the create`)
  }
  // Duplicates first: once the row is completed nothing would look for them again. One that cannot be deleted yet
  // (still initializing, Flow Service down) keeps the row pending, and the next sweep tries again.
  for (const duplicate of found.duplicates) {
    await deps.flow.deleteConnection(claimed.sandbox_name, duplicate)
    deps.logger.warn({ connectionId: claimed.id, flowConnectionId: found.id, duplicate }, 'deleted a duplicate downstream connection')
  }
  const completed = await deps.db.transaction().execute(async (tx) => {
    const row = await lockConnection(tx, claimed.id)
    if (row?.state !== 'pending' || row.lease_owner !== owner) return false
    await recordObservation(tx, row, { kind: 'downstream_state', state: found.state }, {
      observedBy: 'reconciler',
      actor: RECONCILER,
      requestId: null,
      patch: {
        flow_connection_id: found.id,
        etag: found.etag,
        next_poll_at: new Date(Date.now() + deps.settings.fastPollIntervalMs),
        poll_failures: 0,
        lease_owner: null,
        lease_until: null
      }
    })
    return true
  })
  if (completed) deps.logger.info({ connectionId: claimed.id, flowConnectionId: found.id }, 'reconciler completed a pending create')
  return completed ? 'completed' : 'skipped'
}

/** Failed, Idempotency-Key freed (the cause was not the request), secret destroyed. */
async function rollBack (deps: ConnectionDeps, claimed: ConnectionRow, owner: string, reason: string): Promise<PendingOutcome> {
  const rolledBack = await deps.db.transaction().execute(async (tx) => {
    const row = await lockConnection(tx, claimed.id)
    if (row?.state !== 'pending' || row.lease_owner !== owner) return false
    await recordObservation(tx, row, { kind: 'abandoned', reason }, { observedBy: 'reconciler', actor: RECONCILER, requestId: null, patch: { lease_owner: null, lease_until: null } })
    await forgetIdempotencyKey(tx, row.id)
    return true
  })
  if (!rolledBack) return 'skipped'
  // Also when secret_version is null: the write may have happened without being recorded.
  await destroyRecordedSecret(deps, claimed.id)
  deps.logger.info({ connectionId: claimed.id, reason }, 'reconciler rolled back a pending create')
  return 'rolled_back'
}
