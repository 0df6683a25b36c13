// Create, as a recorded saga: row first (pending), then the secret, then Flow Service; every outcome recorded.
import { v7 as uuidv7 } from 'uuid'
import { appendAudit, type Actor } from '../audit/audit-log.js'
import type { Caller } from '../auth/scopes.js'
import { validateCredentials } from '../catalog/validate-credentials.js'
import type { ConnectionRow, DownstreamRefusal } from '../db/schema.js'
import { AppError } from '../errors/app-error.js'
import type { CreateConnectionBody } from '../flow-service/types.js'
import { SecretStoreError } from '../secrets/secret-store.js'
import type { ConnectionDeps, RequestContext } from './connection-deps.js'
import { forgetIdempotencyKey, insertConnection, insertConnectionEvent, releaseLease, updateConnection } from './connection-repository.js'
import type { CreateConnectionRequest } from './create-connection-request.js'
import { createDownstream, DownstreamCreateFailed, type DownstreamCreated } from './create-downstream.js'
import { isDownstreamIdClash, isUniqueViolation } from './unique-violation.js'
import { credentialsProblem } from './credentials-problem.js'
import { destroyRecordedSecret } from './destroy-secret.js'
import { downstreamMarker } from './downstream-marker.js'
import { findOriginalCreate, requestFingerprint } from './idempotent-create.js'
import { assertMayCreate } from './key-limits.js'
import { recordObservation } from './record-observation.js'
import { workLeaseMs } from './work-lease.js'

export { destroySecretQuietly } from './destroy-secret.js'

export interface CreateInput {
  body: CreateConnectionRequest
  sandboxName: string
  requestId: string
  /** Same team + key + body within 24 h: the original answer. */
  idempotencyKey?: string | undefined
}

export interface CreateResult {
  row: ConnectionRow
  notices: Array<{ path: string, message: string }>
  /** True when this is the answer of an earlier request with the same Idempotency-Key. */
  replayed: boolean
}

export async function createConnection (deps: ConnectionDeps, caller: Caller, input: CreateInput): Promise<CreateResult> {
  const check = validateCredentials(input.body)
  if (!check.ok) throw credentialsProblem(check)
  await assertMayCreate(deps, caller, { sandboxName: input.sandboxName, connectionSpecId: check.spec.id }, input.requestId)
  const actor: Actor = { kind: 'key', team: caller.team, keyId: caller.keyId }
  const ctx: RequestContext = { requestId: input.requestId }
  const key = input.idempotencyKey
  const fingerprint = key === undefined ? null : requestFingerprint(check, { ...input.body, sandboxName: input.sandboxName })
  if (key !== undefined && fingerprint !== null) {
    const original = await findOriginalCreate(deps, caller.team, key, fingerprint, check)
    if (original !== undefined) return { row: original, notices: check.notices, replayed: true }
  }
  const id = uuidv7()
  // The create owns its row until its deadline has surely passed; a replay meanwhile answers 409, and the
  // reconciler leaves the row alone.
  const leaseOwner = `create:${input.requestId}`
  const leaseMs = workLeaseMs(deps.settings.createDeadlineMs, deps.settings.flowTimeoutMs)

  // 1. The row exists before any side effect, so a crash anywhere after leaves a trace the reconciler finds.
  let row: ConnectionRow
  try {
    row = await deps.db.transaction().execute(async (tx) => {
      const inserted = await insertConnection(tx, {
        id,
        team: caller.team,
        name: input.body.name,
        description: input.body.description ?? null,
        sandbox_name: input.sandboxName,
        connection_spec_id: check.spec.id,
        connection_spec_version: check.version,
        auth_spec_name: check.authSpec.name,
        public_params: JSON.stringify(check.publicParams),
        secret_fields: JSON.stringify(Object.keys(check.secretParams)),
        secret_version: null,
        flow_connection_id: null,
        etag: null,
        state: 'pending',
        state_reason: null,
        downstream_state: null,
        next_poll_at: null,
        lease_owner: leaseOwner,
        lease_until: new Date(Date.now() + leaseMs),
        idempotency_key: key ?? null,
        request_fingerprint: fingerprint
      })
      await insertConnectionEvent(tx, { connectionId: id, fromState: null, toState: 'pending', reason: null, downstreamState: null, observedBy: 'request', requestId: ctx.requestId })
      await appendAudit(tx, {
        actor,
        action: 'connection.create',
        connectionId: id,
        requestId: ctx.requestId,
        outcome: 'success',
        changedFields: ['name', 'description', 'sandboxName', 'connectionSpec', 'auth.specName', ...Object.keys(check.params).map((p) => `auth.params.${p}`)],
        detail: { state: 'pending', connectionSpecId: check.spec.id, authSpec: check.authSpec.name, ...(key !== undefined ? { idempotencyKey: true } : {}) }
      })
      return inserted
    })
  } catch (err) {
    // Another request with the same key got in first (between our lookup and insert): answer as its replay.
    if (key !== undefined && fingerprint !== null && isIdempotencyKeyConflict(err)) {
      const original = await findOriginalCreate(deps, caller.team, key, fingerprint, check)
      if (original !== undefined) return { row: original, notices: check.notices, replayed: true }
    }
    throw err
  }

  // 2. The secret, create-only (cas 0). The POST comes only after its version is recorded, which is how the
  //    reconciler knows that a pending row without a version never reached Flow Service.
  try {
    const version = await deps.secrets.write(id, check.secretParams, { cas: 0 })
    row = await updateConnection(deps.db, id, { secret_version: version })
  } catch (err) {
    await rollBack(deps, row, actor, ctx, 'the secret store was unavailable; nothing was created in Flow Service')
    if (err instanceof SecretStoreError && err.code !== 'cas_mismatch') {
      throw new AppError('secret_store_unavailable', 'The secret store could not keep the credentials; nothing was created. Retry later (the same Idempotency-Key may be reused).', { retryAfterSeconds: 5, cause: err })
    }
    throw err
  }

  // 3. Flow Service, with every param, within the deadline; at most one downstream connection (see createDownstream).
  const downstreamBody: CreateConnectionBody = {
    name: input.body.name,
    description: downstreamMarker(input.body.description, id),
    auth: { specName: check.authSpec.name, params: check.params },
    connectionSpec: { id: check.spec.id, version: check.version }
  }
  let created: DownstreamCreated
  try {
    created = await createDownstream(deps, {
      search: { brokerId: id, sandbox: input.sandboxName, connectionSpecId: check.spec.id, createdAt: row.created_at },
      body: downstreamBody,
      deadlineMs: deps.settings.createDeadlineMs,
      secrets: Object.values(check.secretParams)
    })
  } catch (err) {
    if (!(err instanceof DownstreamCreateFailed)) {
      await releaseLease(deps.db, id, leaseOwner).catch(() => {})
      throw err
    }
    const error = err.error
    if (err.outcome === 'rejected' && error !== undefined) {
      // The client already removed any echo of the request's secrets from Flow Service's words.
      const message = error.downstreamMessage ?? null
      const refusal: DownstreamRefusal = { status: error.status ?? null, code: error.code ?? null, message }
      const reason = `Flow Service rejected the connection${refusal.code !== null ? ` (${refusal.code})` : ''}: ${message ?? 'no reason given'}`
      await reject(deps, row, actor, ctx, reason, refusal)
      throw new AppError('downstream_rejected', reason, { extensions: { connectionId: id, downstream: refusal }, cause: err })
    }
    if (err.outcome === 'unauthorised') {
      // The gateway refused the broker itself: nothing exists downstream, and the caller cannot fix it.
      await rollBack(deps, row, actor, ctx, 'Flow Service refused the broker\'s own credentials; nothing was created')
      deps.logger.error({ err: error, connectionId: id }, 'Flow Service or IMS refused the broker\'s credentials')
      throw new AppError('downstream_unavailable', 'The broker cannot authenticate to Flow Service; nothing was created. Operators have been alerted; retry later (the same Idempotency-Key may be reused).', {
        retryAfterSeconds: 60,
        extensions: { connectionId: id },
        cause: err
      })
    }
    // Still pending: the reconciler finishes or rolls it back once the grace period has passed.
    await releaseLease(deps.db, id, leaseOwner).catch((e: unknown) => { deps.logger.warn({ err: e, connectionId: id }, 'could not release the create lease; it expires by itself') })
    deps.logger.error({ err: error ?? err, connectionId: id }, 'Flow Service create did not complete; left pending for the reconciler')
    throw new AppError('downstream_unavailable', 'Flow Service did not confirm the connection in time. It stays pending and is completed or rolled back automatically; retry with the same Idempotency-Key to learn the outcome.', {
      retryAfterSeconds: Math.max(30, Math.ceil((err.retryAfterMs ?? 0) / 1000)),
      extensions: { connectionId: id },
      cause: err
    })
  }

  // 4. Record what Flow Service gave us and hand the row over to the poller.
  try {
    row = await deps.db.transaction().execute(async (tx) => await recordObservation(tx, row, { kind: 'downstream_state', state: created.state }, {
      observedBy: 'request',
      actor,
      requestId: ctx.requestId,
      patch: {
        flow_connection_id: created.id,
        etag: created.etag,
        next_poll_at: new Date(Date.now() + deps.settings.fastPollIntervalMs),
        poll_failures: 0,
        lease_owner: null,
        lease_until: null,
        ...(created.mayHaveDuplicates ? { duplicate_watch_until: new Date(Date.now() + deps.settings.duplicateWatchMs) } : {})
      }
    }))
  } catch (err) {
    if (!isDownstreamIdClash(err)) throw err
    // Flow Service answered with an id another broker connection already holds: the answer is about another
    // connection, so this POST's outcome is unknown. Pending, watched, and settled from Flow Service's own records.
    await updateConnection(deps.db, id, { lease_owner: null, lease_until: null, duplicate_watch_until: new Date(Date.now() + deps.settings.duplicateWatchMs) })
    deps.logger.error({ connectionId: id, flowConnectionId: created.id }, 'Flow Service answered a create with the id of a connection another broker connection holds; not trusted, left pending for the reconciler')
    throw new AppError('downstream_unavailable', 'Flow Service answered with the id of a connection that belongs to another broker connection, so the broker does not trust that answer. This connection stays pending and is completed (found by the broker\'s marker) or rolled back automatically; retry with the same Idempotency-Key to learn the outcome.', {
      retryAfterSeconds: 30,
      extensions: { connectionId: id }
    })
  }
  return { row, notices: check.notices, replayed: false }
}

/**
 * Nothing exists downstream and the cause was ours, not the request's: failed, secret destroyed, and the
 * Idempotency-Key freed so that a retry with it creates anew.
 */
async function rollBack (deps: ConnectionDeps, row: ConnectionRow, actor: Actor, ctx: RequestContext, reason: string): Promise<void> {
  await deps.db.transaction().execute(async (tx) => {
    await recordObservation(tx, row, { kind: 'abandoned', reason }, { observedBy: 'request', actor, requestId: ctx.requestId, patch: { lease_owner: null, lease_until: null } })
    await forgetIdempotencyKey(tx, row.id)
  })
  // The write may have succeeded without being recorded: destroy whatever is there (if this fails too, the
  // reconciler's scan of the store finds a key whose connection failed, and destroys it).
  await destroyRecordedSecret(deps, row.id)
}

/** Flow Service said no: failed with its reason (kept for replays), then the secret destroyed. */
async function reject (deps: ConnectionDeps, row: ConnectionRow, actor: Actor, ctx: RequestContext, reason: string, refusal: DownstreamRefusal): Promise<void> {
  await deps.db.transaction().execute(async (tx) => {
    await recordObservation(tx, row, { kind: 'rejected', reason }, {
      observedBy: 'request',
      actor,
      requestId: ctx.requestId,
      patch: { failure_detail: JSON.stringify(refusal), lease_owner: null, lease_until: null }
    })
  })
  await destroyRecordedSecret(deps, row.id)
}

function isIdempotencyKeyConflict (err: unknown): boolean {
  return isUniqueViolation(err, 'connections_idempotency_key')
}
