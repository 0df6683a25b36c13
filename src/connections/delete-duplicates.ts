// Deletes downstream connections carrying a broker connection's marker that must not exist: every one but the
// connection the row records (or all of them when the row is no longer live). Each delete carries the duplicate's
// etag, as Flow Service requires; one that cannot be deleted yet (initializing, stale etag, Flow Service down) is
// reported as remaining, for the reconciler's next look.
import type { Logger } from 'pino'
import type { FlowServiceClient } from '../flow-service/flow-service-client.js'
import { FlowServiceError } from '../flow-service/flow-service-error.js'
import type { MarkedConnection } from './create/downstream-marker.js'

export interface DuplicateCleanup {
  deleted: string[]
  /** Duplicates still there: no etag yet, or the delete failed this time. */
  remaining: string[]
}

export async function deleteDuplicates(
  deps: { flow: FlowServiceClient; logger: Pick<Logger, 'warn'> },
  brokerId: string,
  sandbox: string,
  marked: readonly MarkedConnection[],
  keep: string | null
): Promise<DuplicateCleanup> {
  const result: DuplicateCleanup = { deleted: [], remaining: [] }
  for (const duplicate of marked) {
    if (duplicate.id === keep) continue
    if (duplicate.etag === null) {
      result.remaining.push(duplicate.id)
      continue
    }
    try {
      await deps.flow.deleteConnection(sandbox, duplicate.id, duplicate.etag)
      result.deleted.push(duplicate.id)
      deps.logger.warn(
        { connectionId: brokerId, flowConnectionId: keep, duplicate: duplicate.id },
        'deleted a duplicate downstream connection'
      )
    } catch (err) {
      if (!(err instanceof FlowServiceError)) throw err
      result.remaining.push(duplicate.id)
      deps.logger.warn(
        { err, connectionId: brokerId, duplicate: duplicate.id },
        'could not delete a duplicate downstream connection yet; the reconciler tries again'
      )
    }
  }
  return result
}
