// Settles a create that never finished (crash, outage, retries exhausted, an answer not trusted): completed when
// Flow Service has a connection carrying the broker's marker, rolled back only when it has none. Either way the row
// is then watched for a while, since a POST of it may still land late. Called by the reconciler on a claimed row.
import type { Actor } from '../../audit/audit-log.js'
import type { ConnectionRow } from '../../db/schema.js'
import { transaction } from '../../db/transaction.js'
import type { ConnectionDeps } from '../connection-deps.js'
import { forgetIdempotencyKey, lockConnection } from '../connection-repository.js'
import { deleteDuplicates } from '../delete-duplicates.js'
import { destroyRecordedSecret } from '../destroy-secret.js'
import { findMarkedConnections, type MarkedConnection } from './downstream-marker.js'
import { recordObservation } from '../state/record-observation.js'
import { afterCommit } from '../state/transitions.js'
import { isDownstreamIdClash } from '../unique-violation.js'

const RECONCILER: Actor = { kind: 'system', name: 'reconciler' }

export type PendingOutcome = 'completed' | 'rolled_back' | 'skipped'

/**
 * `claimed` is a pending row old enough that no create can still be running for it, leased to `owner`.
 * A failure to reach Flow Service throws (the row stays pending and is tried again on the next sweep).
 */
export async function settlePendingCreate(
  deps: ConnectionDeps,
  claimed: ConnectionRow,
  owner: string
): Promise<PendingOutcome> {
  if (claimed.secret_version === null) {
    // The POST is sent only after the secret version is recorded: this create never reached Flow Service.
    return await rollBack(
      deps,
      claimed,
      owner,
      'rolled back by the reconciler: the create stopped before reaching Flow Service',
      false
    )
  }
  const marked = await findMarkedConnections(deps.flow, {
    brokerId: claimed.id,
    sandbox: claimed.sandbox_name,
    connectionSpecId: claimed.connection_spec_id,
    createdAt: claimed.created_at
  })
  const first = marked[0]
  if (first === undefined) {
    const ageSeconds = Math.round((Date.now() - claimed.created_at.getTime()) / 1000)
    return await rollBack(
      deps,
      claimed,
      owner,
      `rolled back by the reconciler: Flow Service has no connection carrying its marker ${ageSeconds} s after the create`,
      true
    )
  }
  // Duplicates that cannot be deleted yet are left to the duplicate watch recorded with the outcome.
  await deleteDuplicates(deps, claimed.id, claimed.sandbox_name, marked, first.id)
  const completed = await complete(deps, claimed, owner, first)
  if (completed)
    deps.logger.info({ connectionId: claimed.id, flowConnectionId: first.id }, 'reconciler completed a pending create')
  return completed ? 'completed' : 'skipped'
}

async function complete(
  deps: ConnectionDeps,
  claimed: ConnectionRow,
  owner: string,
  found: MarkedConnection
): Promise<boolean> {
  try {
    return await transaction(
      deps.db,
      async (tx, onCommit) => {
        const row = await lockConnection(tx, claimed.id)
        if (row?.state !== 'pending' || row.lease_owner !== owner) return false
        await recordObservation(
          tx,
          row,
          { kind: 'downstream_state', state: found.state },
          {
            observedBy: 'reconciler',
            actor: RECONCILER,
            requestId: null,
            onTransition: afterCommit(onCommit, deps.onTransition),
            patch: {
              flow_connection_id: found.id,
              etag: found.etag,
              next_poll_at: new Date(Date.now() + deps.settings.fastPollIntervalMs),
              poll_failures: 0,
              lease_owner: null,
              lease_until: null,
              duplicate_watch_until: new Date(Date.now() + deps.settings.duplicateWatchMs)
            }
          }
        )
        return true
      },
      deps.logger
    )
  } catch (err) {
    if (!isDownstreamIdClash(err)) throw err
    // The marked connection is recorded for another broker connection, which must have trusted an answer about
    // ours. Neither is settled on conflicting evidence: this one stays pending and an operator is told.
    throw new Error(
      `the downstream connection ${found.id} carrying the marker of ${claimed.id} is recorded for another broker connection`,
      { cause: err }
    )
  }
}

/**
 * Failed, Idempotency-Key freed (the cause was not the request), secret destroyed. When a POST may have been sent,
 * the row is watched: a POST landing after this look is deleted by the reconciler.
 */
async function rollBack(
  deps: ConnectionDeps,
  claimed: ConnectionRow,
  owner: string,
  reason: string,
  postMayHaveLeft: boolean
): Promise<PendingOutcome> {
  const rolledBack = await transaction(
    deps.db,
    async (tx, onCommit) => {
      const row = await lockConnection(tx, claimed.id)
      if (row?.state !== 'pending' || row.lease_owner !== owner) return false
      await recordObservation(
        tx,
        row,
        { kind: 'abandoned', reason },
        {
          observedBy: 'reconciler',
          actor: RECONCILER,
          requestId: null,
          onTransition: afterCommit(onCommit, deps.onTransition),
          patch: {
            lease_owner: null,
            lease_until: null,
            ...(postMayHaveLeft ? { duplicate_watch_until: new Date(Date.now() + deps.settings.duplicateWatchMs) } : {})
          }
        }
      )
      await forgetIdempotencyKey(tx, row.id)
      return true
    },
    deps.logger
  )
  if (!rolledBack) return 'skipped'
  // Also when secret_version is null: the write may have happened without being recorded.
  await destroyRecordedSecret(deps, claimed.id)
  deps.logger.info({ connectionId: claimed.id, reason }, 'reconciler rolled back a pending create')
  return 'rolled_back'
}
