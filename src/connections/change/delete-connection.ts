// Delete: Flow Service first (a 404 there counts as done), then the secret, then the row becomes `deleted`; the row
// and its history stay. Deleting a deleted (or failed) connection succeeds with nothing left to do.
import { keyActor } from '../../audit/audit-log.js'
import type { ConnectionRow } from '../../db/schema.js'
import { transaction } from '../../db/transaction.js'
import { AppError } from '../../errors/app-error.js'
import { FlowServiceError } from '../../flow-service/flow-service-error.js'
import { changeDownstream } from './change-downstream.js'
import { withChangeLease } from './change-lease.js'
import { changeProblem } from './change-problem.js'
import type { ConnectionDeps, RequestContext } from '../connection-deps.js'
import { lockConnection } from '../connection-repository.js'
import { destroyRecordedSecret } from '../destroy-secret.js'
import { recordObservation } from '../state/record-observation.js'
import { afterCommit } from '../state/transitions.js'
import { findVisibleConnection } from '../visible-connections.js'
import { assertIfMatch, type IfMatch } from '../connection-etag.js'

export interface DeleteResult {
  row: ConnectionRow
  /** False when there was nothing left to delete (already deleted, or failed before Flow Service had it). */
  deleted: boolean
}

/** With `ifMatch`, deletes only while the connection's ETag is one of those (checked when the change lease is taken). */
export async function deleteConnection(
  deps: ConnectionDeps,
  ctx: RequestContext,
  id: string,
  ifMatch?: IfMatch
): Promise<DeleteResult> {
  const { requestId } = ctx
  const actor = keyActor(ctx.caller)
  const visible = await findVisibleConnection(deps, ctx.caller, id)
  const nothingLeft = async (row: ConnectionRow): Promise<DeleteResult> => {
    await deps.audit.append({
      actor,
      action: 'connection.delete',
      connectionId: row.id,
      requestId,
      outcome: 'success',
      changedFields: [],
      detail: { alreadyGone: row.state }
    })
    return { row, deleted: false }
  }
  if (visible.state === 'deleted' || visible.state === 'failed') {
    // Nothing of the connection is written here (only the audit row), so there is no write for the check to race.
    assertIfMatch(ifMatch, visible, deps.secrets)
    return await nothingLeft(visible)
  }
  if (visible.state === 'pending') {
    throw new AppError(
      'connection_busy',
      'The connection is still being created; it can be deleted once Flow Service confirmed it (or the create was rolled back). Retry after Retry-After seconds.',
      {
        retryAfterSeconds: 5,
        extensions: { connectionId: visible.id }
      }
    )
  }

  return await withChangeLease(
    deps,
    visible.id,
    requestId,
    async (row) => {
      if (row.state === 'deleted' || row.state === 'failed') return await nothingLeft(row)
      let outcome: 'deleted' | 'not_found' = 'not_found'
      if (row.flow_connection_id !== null) {
        const flowId = row.flow_connection_id
        try {
          outcome = await changeDownstream(
            deps,
            row,
            {
              operation: 'deleteConnection',
              send: async (etag) => await deps.flow.deleteConnection(row.sandbox_name, flowId, etag)
            },
            deps.settings.changeDeadlineMs
          )
        } catch (err) {
          // A 404 while re-reading the etag: gone already, which is what was asked.
          if (!(err instanceof FlowServiceError && err.kind === 'not_found')) {
            await deps.audit.append({
              actor,
              action: 'connection.delete',
              connectionId: row.id,
              requestId,
              outcome: 'failure',
              changedFields: [],
              detail: {
                reason: err instanceof FlowServiceError ? err.kind : err instanceof Error ? err.name : 'error',
                code: err instanceof FlowServiceError ? (err.code ?? null) : null
              }
            })
            throw changeProblem(err, row.id)
          }
        }
      }
      // Recorded before the secret is destroyed: a crash in between leaves a deleted row holding a secret, which the
      // reconciler destroys; the reverse order could leave a live row whose secret is gone.
      const updated = await transaction(
        deps.db,
        async (tx, onCommit) => {
          const locked = await lockConnection(tx, row.id)
          if (locked === undefined) throw new AppError('not_found', `No connection ${row.id}.`)
          // Flow Service's 204 confirms the delete. A 404 is what was asked for too, but one answer proves little: the
          // row is watched, and any connection still carrying its marker is deleted by the reconciler.
          const watch =
            outcome === 'not_found' && row.flow_connection_id !== null
              ? { duplicate_watch_until: new Date(Date.now() + deps.settings.duplicateWatchMs) }
              : {}
          const stored = await recordObservation(
            tx,
            locked,
            { kind: 'deleted_by_request' },
            {
              observedBy: 'request',
              actor,
              requestId,
              onTransition: afterCommit(onCommit, deps.onTransition),
              patch: { next_poll_at: null, pending_change: null, gone_suspected_at: null, ...watch }
            }
          )
          await deps.audit.appendIn(tx, {
            actor,
            action: 'connection.delete',
            connectionId: row.id,
            requestId,
            outcome: 'success',
            changedFields: ['state'],
            detail: { downstream: outcome }
          })
          return stored
        },
        deps.logger
      )
      if (await destroyRecordedSecret(deps, row.id)) updated.secret_version = null
      return { row: updated, deleted: true }
    },
    ifMatch
  )
}
