// Rotation: new credentials become a new secret version (check-and-set), then Flow Service takes them (PATCH with
// If-Match), and only then does the row name the new version as live. If Flow Service does not take them, the
// previous version stays live: the new one is left in the store's history, never referenced.
import { createHash, timingSafeEqual } from 'node:crypto'
import { keyActor } from '../../audit/audit-log.js'
import { validateCredentials, type CredentialsCheck } from '../../catalog/validate-credentials.js'
import type { ConnectionRow, PendingRotation } from '../../db/schema.js'
import { AppError } from '../../errors/app-error.js'
import { FlowServiceError } from '../../flow-service/flow-service-error.js'
import { SecretStoreError, type SecretData } from '../../secrets/secret-store.js'
import { ChangeOutcomeUnknown, changeDownstream } from './change-downstream.js'
import { withChangeLease } from './change-lease.js'
import { changeProblem } from './change-problem.js'
import { assertChangeable, suspectGoneDownstream } from './changeable-connection.js'
import type { ConnectionDeps, RequestContext } from '../connection-deps.js'
import { updateConnection } from '../connection-repository.js'
import { credentialsProblem } from '../credentials-problem.js'
import { settlePendingRotation } from './settle-pending-rotation.js'
import { findVisibleConnection } from '../visible-connections.js'
import type { IfMatch } from '../connection-etag.js'

export interface RotateInput {
  id: string
  /** The full params of the connection's auth spec, as in a create. */
  params: Record<string, unknown>
  /** Rotate only while the connection's ETag is one of these (checked when the change lease is taken). */
  ifMatch?: IfMatch | undefined
}

export interface RotateResult {
  row: ConnectionRow
  notices: Array<{ path: string; message: string }>
}

type CheckedCredentials = Extract<CredentialsCheck, { ok: true }>

export async function rotateCredentials(
  deps: ConnectionDeps,
  ctx: RequestContext,
  input: RotateInput
): Promise<RotateResult> {
  const actor = keyActor(ctx.caller)
  const audit = { actor, action: 'connection.rotate', requestId: ctx.requestId }
  const visible = await findVisibleConnection(deps, ctx.caller, input.id)
  assertChangeable(visible, 'rotated')
  const check = checkParams(visible, input.params)

  return await withChangeLease(
    deps,
    visible.id,
    ctx.requestId,
    async (leased, owner) => {
      let row = leased
      const flowId = assertChangeable(row, 'rotated')
      if (row.pending_change !== null) {
        // An earlier rotation never learned its outcome: settle it first, so versions stay in order.
        try {
          await settlePendingRotation(deps, row, owner, actor, ctx.requestId)
        } catch (err) {
          throw changeProblem(err, row.id)
        }
        row = await findVisibleConnection(deps, ctx.caller, row.id)
      }
      const changed = await changedParams(deps, row, check)
      const fail = async (err: unknown, detail: Record<string, unknown>): Promise<never> => {
        await deps.audit.append({ ...audit, connectionId: row.id, outcome: 'failure', changedFields: changed, detail })
        throw changeProblem(err, row.id)
      }

      // 1. The new version, on top of whatever is newest (a refused rotation may have left a newer, unused one).
      let version: number
      try {
        version = await deps.secrets.write(row.id, check.secretParams, {
          cas: await deps.secrets.currentVersion(row.id)
        })
      } catch (err) {
        if (err instanceof SecretStoreError && err.code === 'cas_mismatch')
          return await fail(err, { step: 'secret', reason: 'cas_mismatch' })
        await deps.audit.append({
          ...audit,
          connectionId: row.id,
          outcome: 'failure',
          changedFields: changed,
          detail: { step: 'secret', reason: err instanceof SecretStoreError ? err.code : 'error' }
        })
        throw err
      }

      // 2. Flow Service, with the whole params object. What is about to be sent is recorded first, so that a crash
      //    after the PATCH left the reconciler enough to tell which version Flow Service holds.
      const pending: PendingRotation = {
        kind: 'rotate',
        secretVersion: version,
        ifMatch: row.etag ?? '',
        publicParams: check.publicParams,
        secretFields: Object.keys(check.secretParams)
      }
      let recorded: string | undefined
      let result: { etag: string }
      try {
        result = await changeDownstream(
          deps,
          row,
          {
            operation: 'updateConnection',
            beforeSend: async (etag) => {
              if (etag === recorded) return
              await updateConnection(deps.db, row.id, { pending_change: JSON.stringify({ ...pending, ifMatch: etag }) })
              recorded = etag
            },
            // No `applied` check: a read-back cannot show which password Flow Service holds (secrets come back as
            // references). After an ambiguous attempt the same values are sent again; only a 200 counts as applied.
            send: async (etag) =>
              await deps.flow.updateConnection(
                row.sandbox_name,
                flowId,
                etag,
                [{ op: 'replace', path: '/auth/params', value: check.params }],
                { secrets: Object.values(check.secretParams) }
              )
          },
          deps.settings.changeDeadlineMs
        )
      } catch (err) {
        if (err instanceof ChangeOutcomeUnknown) {
          // pending_change stays: the reconciler reads the connection back later and records which version is live.
          return await fail(err, {
            step: 'downstream',
            reason: 'outcome unknown; settled later',
            secretVersion: version
          })
        }
        await updateConnection(deps.db, row.id, { pending_change: null })
        if (err instanceof FlowServiceError && err.kind === 'not_found') await suspectGoneDownstream(deps, row.id)
        return await fail(err, {
          step: 'downstream',
          reason: err instanceof FlowServiceError ? err.kind : 'error',
          code: err instanceof FlowServiceError ? (err.code ?? null) : null,
          liveSecretVersion: row.secret_version
        })
      }

      // 3. Flow Service holds the new credentials: so does the row, with the new etag, in one transaction with its audit.
      const updated = await deps.db.transaction().execute(async (tx) => {
        const stored = await updateConnection(tx, row.id, {
          secret_version: version,
          public_params: JSON.stringify(check.publicParams),
          secret_fields: JSON.stringify(Object.keys(check.secretParams)),
          etag: result.etag,
          pending_change: null
        })
        await deps.audit.appendIn(tx, {
          ...audit,
          connectionId: row.id,
          outcome: 'success',
          changedFields: changed,
          detail: { secretVersion: version, previousSecretVersion: row.secret_version }
        })
        return stored
      })
      return { row: updated, notices: check.notices }
    },
    input.ifMatch
  )
}

/** The params checked like a create's, against the connection's own spec; paths name the rotation body. */
function checkParams(row: ConnectionRow, params: Record<string, unknown>): CheckedCredentials {
  const check = validateCredentials({
    connectionSpec: { id: row.connection_spec_id, version: row.connection_spec_version },
    auth: { specName: row.auth_spec_name, params }
  })
  if (!check.ok) {
    const problem = credentialsProblem(check)
    throw new AppError(problem.code, problem.detail, {
      errors: (problem.errors ?? []).map((e) => ({ ...e, path: e.path.replace(/^\/auth\/params/, '/params') }))
    })
  }
  return { ...check, notices: check.notices.map((n) => ({ ...n, path: n.path.replace(/^\/auth\/params/, '/params') })) }
}

/** Names of the params whose value changes (never the values). Secrets are compared with the live version. */
async function changedParams(deps: ConnectionDeps, row: ConnectionRow, check: CheckedCredentials): Promise<string[]> {
  let live: SecretData | undefined
  try {
    live = row.secret_version === null ? undefined : await deps.secrets.read(row.id, row.secret_version)
  } catch {
    live = undefined
  }
  const names = new Set([...Object.keys(row.public_params), ...row.secret_fields, ...Object.keys(check.params)])
  const changed: string[] = []
  for (const name of [...names].sort()) {
    const secret = Object.hasOwn(check.secretParams, name) || row.secret_fields.includes(name)
    const same = secret
      ? live !== undefined && equalSecret(live[name], check.secretParams[name])
      : row.public_params[name] === check.publicParams[name]
    if (!same) changed.push(`auth.params.${name}`)
  }
  return changed
}

function equalSecret(a: string | undefined, b: string | undefined): boolean {
  if (a === undefined || b === undefined) return a === b
  return timingSafeEqual(createHash('sha256').update(a).digest(), createHash('sha256').update(b).digest())
}
