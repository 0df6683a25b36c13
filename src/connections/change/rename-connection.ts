// Rename: a new name and/or description, in Flow Service first (the broker's marker stays on the downstream
// description, so the connection can always be found again), then in the row.
import { keyActor } from '../../audit/audit-log.js'
import type { ConnectionRow } from '../../db/schema.js'
import { FlowServiceError } from '../../flow-service/flow-service-error.js'
import type { JsonPatchOp } from '../../flow-service/types.js'
import { ChangeOutcomeUnknown, changeDownstream } from './change-downstream.js'
import { AppError } from '../../errors/app-error.js'
import { withChangeLease } from './change-lease.js'
import { changeProblem } from './change-problem.js'
import { assertChangeable, suspectGoneDownstream } from './changeable-connection.js'
import type { ConnectionDeps, RequestContext } from '../connection-deps.js'
import { updateConnection } from '../connection-repository.js'
import { downstreamMarker } from '../create/downstream-marker.js'
import { findVisibleConnection } from '../visible-connections.js'
import type { IfMatch } from '../connection-etag.js'

export interface RenameInput {
  id: string
  name?: string | undefined
  /** null or '': no description. */
  description?: string | null | undefined
  /** Change only while the connection's ETag is one of these (checked when the change lease is taken). */
  ifMatch?: IfMatch | undefined
}

export async function renameConnection(
  deps: ConnectionDeps,
  ctx: RequestContext,
  input: RenameInput
): Promise<ConnectionRow> {
  const audit = { actor: keyActor(ctx.caller), action: 'connection.rename', requestId: ctx.requestId }
  assertChangeable(await findVisibleConnection(deps, ctx.caller, input.id), 'renamed')

  return await withChangeLease(
    deps,
    input.id,
    ctx.requestId,
    async (row) => {
      const flowId = assertChangeable(row, 'renamed')
      const name = input.name ?? row.name
      const description =
        input.description === undefined ? row.description : input.description === '' ? null : input.description
      const changed = [
        ...(name !== row.name ? ['name'] : []),
        ...(description !== row.description ? ['description'] : [])
      ]
      if (changed.length === 0) {
        await deps.audit.append({
          ...audit,
          connectionId: row.id,
          outcome: 'success',
          changedFields: [],
          detail: { unchanged: true }
        })
        return row
      }
      const downstreamDescription = downstreamMarker(description ?? undefined, row.id)
      const ops: JsonPatchOp[] = [
        ...(changed.includes('name') ? [{ op: 'replace' as const, path: '/name' as const, value: name }] : []),
        ...(changed.includes('description')
          ? [{ op: 'replace' as const, path: '/description' as const, value: downstreamDescription }]
          : [])
      ]
      let etag: string
      try {
        etag = (
          await changeDownstream(
            deps,
            row,
            {
              operation: 'updateConnection',
              send: async (ifMatch) => await deps.flow.updateConnection(row.sandbox_name, flowId, ifMatch, ops),
              // Exact evidence: the name and description Flow Service holds are the ones sent.
              applied: (current) =>
                current.name === name && current.description === downstreamDescription && current.etag !== undefined
                  ? { id: current.id, etag: current.etag }
                  : undefined
            },
            deps.settings.changeDeadlineMs
          )
        ).etag
      } catch (err) {
        if (err instanceof FlowServiceError && err.kind === 'not_found') await suspectGoneDownstream(deps, row.id)
        await deps.audit.append({
          ...audit,
          connectionId: row.id,
          outcome: 'failure',
          changedFields: changed,
          detail: { reason: err instanceof FlowServiceError ? err.kind : err instanceof Error ? err.name : 'error' }
        })
        if (err instanceof ChangeOutcomeUnknown) {
          // Nothing settles a rename later (no pending change is kept): the caller is told to repeat it, which is safe.
          throw new AppError(
            'downstream_unavailable',
            'Flow Service did not confirm the rename, and it may or may not have been applied there. The connection keeps its previous name here; repeating the same rename is safe.',
            {
              retryAfterSeconds: 30,
              extensions: { connectionId: row.id },
              cause: err
            }
          )
        }
        throw changeProblem(err, row.id)
      }
      return await deps.db.transaction().execute(async (tx) => {
        const stored = await updateConnection(tx, row.id, { name, description, etag })
        await deps.audit.appendIn(tx, { ...audit, connectionId: row.id, outcome: 'success', changedFields: changed })
        return stored
      })
    },
    input.ifMatch
  )
}
