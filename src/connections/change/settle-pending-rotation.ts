// Settles a rotation whose PATCH may or may not have reached Flow Service (the request died, or could not tell).
// Secret params come back from Flow Service as references, so reading the connection cannot prove which password it
// holds; a changed etag proves only that something changed it. The only evidence is a 200 to a PATCH that carried
// the values: the new version is sent again (a PATCH that already landed changes nothing by landing twice), and if
// Flow Service refuses it, the version the row names as live is sent again, so the row names what Flow Service holds.
import type { Actor } from '../../audit/audit-log.js'
import type { ConnectionRow, PendingRotation } from '../../db/schema.js'
import { FlowServiceError } from '../../flow-service/flow-service-error.js'
import type { ParamValue } from '../../flow-service/types.js'
import { changeDownstream } from './change-downstream.js'
import type { ConnectionDeps } from '../connection-deps.js'
import { lockConnection, updateConnection } from '../connection-repository.js'
import { isTerminal } from '../state/states.js'
import { suspectGoneDownstream } from './changeable-connection.js'

export type RotationOutcome = 'applied' | 'discarded' | 'skipped'

interface ParamsVersion {
  secretVersion: number
  publicParams: Record<string, string | boolean>
  secretFields: string[]
}

/**
 * `claimed` holds a pending_change and is leased to `owner` (or the caller otherwise owns it). Throws when Flow
 * Service or the secret store cannot be asked; the change stays pending and is settled later.
 */
export async function settlePendingRotation(
  deps: ConnectionDeps,
  claimed: ConnectionRow,
  owner: string,
  actor: Actor,
  requestId: string | null
): Promise<RotationOutcome> {
  const change = claimed.pending_change
  if (change === null) return 'skipped'
  if (claimed.flow_connection_id === null || isTerminal(claimed.state)) {
    // Nothing downstream holds either version any more.
    return await record(deps, claimed, owner, actor, requestId, change, {
      applied: false,
      etag: claimed.etag,
      why: `the connection is ${claimed.state}`
    })
  }
  try {
    const etag = await push(deps, claimed, change)
    return await record(deps, claimed, owner, actor, requestId, change, {
      applied: true,
      etag,
      why: 'Flow Service took the new credentials (200 to a PATCH carrying them)'
    })
  } catch (err) {
    // Flow Service says it has no such connection: the poller confirms that; once the row is deleted, discarded.
    if (err instanceof FlowServiceError && err.kind === 'not_found') await suspectGoneDownstream(deps, claimed.id)
    if (!(err instanceof FlowServiceError && err.kind === 'rejected') || claimed.secret_version === null) throw err
    // Flow Service refuses the new values: send the live ones again, so that they are what it holds for sure.
    const live: ParamsVersion = {
      secretVersion: claimed.secret_version,
      publicParams: claimed.public_params,
      secretFields: claimed.secret_fields
    }
    const etag = await push(deps, claimed, live)
    return await record(deps, claimed, owner, actor, requestId, change, {
      applied: false,
      etag,
      why: `Flow Service refused the new credentials (${err.code ?? 'no code'}); the previous ones were sent again and are live`
    })
  }
}

/** PATCHes the params of `version` and resolves to the etag of Flow Service's 200. */
async function push(deps: ConnectionDeps, row: ConnectionRow, version: ParamsVersion): Promise<string> {
  const secrets = await deps.secrets.read(row.id, version.secretVersion)
  const params: Record<string, ParamValue> = { ...version.publicParams }
  for (const field of version.secretFields) {
    const value = secrets[field]
    if (value !== undefined) params[field] = value
  }
  const flowId = row.flow_connection_id ?? ''
  const ref = await changeDownstream(
    deps,
    row,
    {
      operation: 'updateConnection',
      send: async (etag) =>
        await deps.flow.updateConnection(
          row.sandbox_name,
          flowId,
          etag,
          [{ op: 'replace', path: '/auth/params', value: params }],
          { secrets: Object.values(secrets) }
        )
    },
    deps.settings.changeDeadlineMs
  )
  return ref.etag
}

async function record(
  deps: ConnectionDeps,
  claimed: ConnectionRow,
  owner: string,
  actor: Actor,
  requestId: string | null,
  change: PendingRotation,
  outcome: { applied: boolean; etag: string | null; why: string }
): Promise<RotationOutcome> {
  return await deps.db.transaction().execute(async (tx) => {
    const row = await lockConnection(tx, claimed.id)
    if (
      row?.lease_owner !== owner ||
      row.pending_change === null ||
      row.pending_change.secretVersion !== change.secretVersion
    )
      return 'skipped'
    const etag = outcome.etag !== null && outcome.etag !== '' ? outcome.etag : row.etag
    await updateConnection(
      tx,
      row.id,
      outcome.applied
        ? {
            secret_version: change.secretVersion,
            public_params: JSON.stringify(change.publicParams),
            secret_fields: JSON.stringify(change.secretFields),
            etag,
            pending_change: null
          }
        : { etag, pending_change: null }
    )
    await deps.audit.appendIn(tx, {
      actor,
      action: 'connection.rotate',
      connectionId: row.id,
      requestId,
      outcome: outcome.applied ? 'success' : 'failure',
      changedFields: outcome.applied ? ['auth.params'] : [],
      detail: { settled: outcome.why, secretVersion: outcome.applied ? change.secretVersion : row.secret_version }
    })
    return outcome.applied ? 'applied' : 'discarded'
  })
}
