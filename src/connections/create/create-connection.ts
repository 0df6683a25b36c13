// Create, as a recorded saga: row first (pending), then the secret, then Flow Service; every outcome recorded.
import { v7 as uuidv7 } from 'uuid'
import { keyActor, type AuditContext } from '../../audit/audit-log.js'
import { validateCredentials, type CredentialsCheck } from '../../catalog/validate-credentials.js'
import type { Kysely } from 'kysely'
import type { ConnectionRow, ConnectionUpdate, Database, DownstreamRefusal } from '../../db/schema.js'
import { transaction } from '../../db/transaction.js'
import { AppError } from '../../errors/app-error.js'
import type { CreateConnectionBody } from '../../flow-service/types.js'
import { SecretStoreError } from '../../secrets/secret-store.js'
import type { ConnectionDeps, RequestContext } from '../connection-deps.js'
import {
  forgetIdempotencyKey,
  insertConnection,
  insertConnectionEvent,
  releaseLease,
  updateConnection
} from '../connection-repository.js'
import type { CreateConnectionRequest } from './create-connection-request.js'
import { createDownstream, DownstreamCreateFailed, type DownstreamCreated } from './create-downstream.js'
import { isDownstreamIdClash, isUniqueViolation } from '../unique-violation.js'
import { credentialsProblem } from '../credentials-problem.js'
import { destroyRecordedSecret } from '../destroy-secret.js'
import { downstreamMarker } from './downstream-marker.js'
import { findOriginalCreate, requestFingerprint } from './idempotent-create.js'
import { assertMayCreate } from '../key-limits.js'
import { recordObservation } from '../state/record-observation.js'
import type { Observation } from '../state/states.js'
import { afterCommit } from '../state/transitions.js'
import { workLeaseMs } from '../work-lease.js'

export { destroySecretQuietly } from '../destroy-secret.js'

export interface CreateInput {
  body: CreateConnectionRequest
  sandboxName: string
  /** Same team + key + body within 24 h: the original answer. */
  idempotencyKey?: string | undefined
}

export interface CreateResult {
  row: ConnectionRow
  notices: Array<{ path: string; message: string }>
  /** True when this is the answer of an earlier request with the same Idempotency-Key. */
  replayed: boolean
}

export async function createConnection(
  deps: ConnectionDeps,
  ctx: RequestContext,
  input: CreateInput
): Promise<CreateResult> {
  const create = await validate(deps, ctx, input)
  const original = await originalCreate(create)
  if (original !== undefined) return original
  const reserved = await reserve(create)
  if ('replay' in reserved) return reserved.replay
  const kept = await storeSecret(create, reserved.row)
  const created = await createInFlowService(create, kept)
  const recorded = await recordCreated(create, kept, created)
  return { row: recorded, notices: create.check.notices, replayed: false }
}

type CheckedCredentials = Extract<CredentialsCheck, { ok: true }>

/** One create under way: what every step needs. */
interface Create {
  deps: ConnectionDeps
  audit: AuditContext
  /** The caller's team: the connection's owner. */
  team: string
  input: CreateInput
  check: CheckedCredentials
  /** The request's Idempotency-Key and the fingerprint it is stored with; undefined without a key. */
  idempotency: { key: string; fingerprint: string } | undefined
  /** The new connection's id, chosen before anything is written. */
  id: string
  /**
   * The create owns its row until its deadline has surely passed; a replay meanwhile answers 409, and the
   * reconciler leaves the row alone.
   */
  leaseOwner: string
}

/** The body checked against the catalogue, and the key allowed to act in the sandbox and on the spec. */
async function validate(deps: ConnectionDeps, ctx: RequestContext, input: CreateInput): Promise<Create> {
  const check = validateCredentials(input.body)
  if (!check.ok) throw credentialsProblem(check)
  await assertMayCreate(deps, ctx, { sandboxName: input.sandboxName, connectionSpecId: check.spec.id })
  const key = input.idempotencyKey
  return {
    deps,
    audit: { actor: keyActor(ctx.caller), requestId: ctx.requestId },
    team: ctx.caller.team,
    input,
    check,
    idempotency:
      key === undefined
        ? undefined
        : { key, fingerprint: requestFingerprint(check, { ...input.body, sandboxName: input.sandboxName }) },
    id: uuidv7(),
    leaseOwner: `create:${ctx.requestId}`
  }
}

/** The answer of an earlier request with the same Idempotency-Key, when this one repeats it. */
async function originalCreate(c: Create): Promise<CreateResult | undefined> {
  if (c.idempotency === undefined) return undefined
  const original = await findOriginalCreate(c.deps, c.team, c.idempotency.key, c.idempotency.fingerprint, c.check)
  return original === undefined ? undefined : { row: original, notices: c.check.notices, replayed: true }
}

/** 1. The row exists before any side effect, so a crash anywhere after leaves a trace the reconciler finds. */
async function reserve(c: Create): Promise<{ row: ConnectionRow } | { replay: CreateResult }> {
  const { deps, check, input, id } = c
  try {
    const row = await transaction(
      deps.db,
      async (tx, onCommit) => {
        const inserted = await insertConnection(tx, {
          id,
          team: c.team,
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
          lease_owner: c.leaseOwner,
          lease_until: new Date(Date.now() + workLeaseMs(deps.settings.createDeadlineMs, deps.settings.flowTimeoutMs)),
          idempotency_key: c.idempotency?.key ?? null,
          request_fingerprint: c.idempotency?.fingerprint ?? null
        })
        await insertConnectionEvent(tx, {
          connectionId: id,
          fromState: null,
          toState: 'pending',
          reason: null,
          downstreamState: null,
          observedBy: 'request',
          requestId: c.audit.requestId
        })
        afterCommit(onCommit, deps.onTransition)?.({ from: null, to: 'pending', observedBy: 'request' })
        await deps.audit.appendIn(tx, {
          ...c.audit,
          action: 'connection.create',
          connectionId: id,
          outcome: 'success',
          changedFields: [
            'name',
            'description',
            'sandboxName',
            'connectionSpec',
            'auth.specName',
            ...Object.keys(check.params).map((p) => `auth.params.${p}`)
          ],
          detail: {
            state: 'pending',
            connectionSpecId: check.spec.id,
            authSpec: check.authSpec.name,
            ...(c.idempotency !== undefined ? { idempotencyKey: true } : {})
          }
        })
        return inserted
      },
      deps.logger
    )
    return { row }
  } catch (err) {
    // Another request with the same key got in first (between our lookup and insert): answer as its replay.
    if (c.idempotency !== undefined && isUniqueViolation(err, 'connections_idempotency_key')) {
      const replay = await originalCreate(c)
      if (replay !== undefined) return { replay }
    }
    throw err
  }
}

/**
 * 2. The secret, create-only (cas 0). The POST comes only after its version is recorded, which is how the
 *    reconciler knows that a pending row without a version never reached Flow Service.
 */
async function storeSecret(c: Create, row: ConnectionRow): Promise<ConnectionRow> {
  try {
    const version = await c.deps.secrets.write(c.id, c.check.secretParams, { cas: 0 })
    return await updateConnection(c.deps.db, c.id, { secret_version: version })
  } catch (err) {
    await rollBack(c, row, 'the secret store was unavailable; nothing was created in Flow Service')
    if (err instanceof SecretStoreError && err.code !== 'cas_mismatch') {
      throw new AppError(
        'secret_store_unavailable',
        'The secret store could not keep the credentials; nothing was created. Retry later (the same Idempotency-Key may be reused).',
        { retryAfterSeconds: 5, cause: err }
      )
    }
    throw err
  }
}

/**
 * 3. Flow Service, with every param, within the deadline; at most one downstream connection (see createDownstream).
 *    When it does not end with a connection, the row records why (or stays pending for the reconciler) and the
 *    caller gets the matching problem.
 */
async function createInFlowService(c: Create, row: ConnectionRow): Promise<DownstreamCreated> {
  const { deps, check, input, id } = c
  const body: CreateConnectionBody = {
    name: input.body.name,
    description: downstreamMarker(input.body.description, id),
    auth: { specName: check.authSpec.name, params: check.params },
    connectionSpec: { id: check.spec.id, version: check.version }
  }
  try {
    return await createDownstream(deps, {
      search: { brokerId: id, sandbox: input.sandboxName, connectionSpecId: check.spec.id, createdAt: row.created_at },
      body,
      deadlineMs: deps.settings.createDeadlineMs,
      secrets: Object.values(check.secretParams)
    })
  } catch (err) {
    if (!(err instanceof DownstreamCreateFailed)) {
      await releaseLease(deps.db, id, c.leaseOwner).catch(() => {})
      throw err
    }
    throw await settleFailedDownstream(c, row, err)
  }
}

/** What a create Flow Service did not complete leaves behind, and the problem the caller is answered with. */
async function settleFailedDownstream(c: Create, row: ConnectionRow, err: DownstreamCreateFailed): Promise<AppError> {
  const { deps, id } = c
  const error = err.error
  if (err.outcome === 'rejected' && error !== undefined) {
    // The client already removed any echo of the request's secrets from Flow Service's words.
    const message = error.downstreamMessage ?? null
    const refusal: DownstreamRefusal = { status: error.status ?? null, code: error.code ?? null, message }
    const reason = `Flow Service rejected the connection${refusal.code !== null ? ` (${refusal.code})` : ''}: ${message ?? 'no reason given'}`
    await reject(c, row, reason, refusal)
    return new AppError('downstream_rejected', reason, {
      extensions: { connectionId: id, downstream: refusal },
      cause: err
    })
  }
  if (err.outcome === 'unauthorised') {
    // The gateway refused the broker itself: nothing exists downstream, and the caller cannot fix it.
    await rollBack(c, row, "Flow Service refused the broker's own credentials; nothing was created")
    deps.logger.error({ err: error, connectionId: id }, "Flow Service or IMS refused the broker's credentials")
    return new AppError(
      'downstream_unavailable',
      'The broker cannot authenticate to Flow Service; nothing was created. Operators have been alerted; retry later (the same Idempotency-Key may be reused).',
      {
        retryAfterSeconds: 60,
        extensions: { connectionId: id },
        cause: err
      }
    )
  }
  // Still pending: the reconciler finishes or rolls it back once the grace period has passed.
  await releaseLease(deps.db, id, c.leaseOwner).catch((e: unknown) => {
    deps.logger.warn({ err: e, connectionId: id }, 'could not release the create lease; it expires by itself')
  })
  deps.logger.error(
    { err: error ?? err, connectionId: id },
    'Flow Service create did not complete; left pending for the reconciler'
  )
  return new AppError(
    'downstream_unavailable',
    'Flow Service did not confirm the connection in time. It stays pending and is completed or rolled back automatically; retry with the same Idempotency-Key to learn the outcome.',
    {
      retryAfterSeconds: Math.max(30, Math.ceil((err.retryAfterMs ?? 0) / 1000)),
      extensions: { connectionId: id },
      cause: err
    }
  )
}

/** 4. Record what Flow Service gave us and hand the row over to the poller. */
async function recordCreated(c: Create, row: ConnectionRow, created: DownstreamCreated): Promise<ConnectionRow> {
  const { deps, id } = c
  try {
    return await observe(
      c,
      row,
      { kind: 'downstream_state', state: created.state },
      {
        flow_connection_id: created.id,
        etag: created.etag,
        next_poll_at: new Date(Date.now() + deps.settings.fastPollIntervalMs),
        poll_failures: 0,
        lease_owner: null,
        lease_until: null,
        ...(created.mayHaveDuplicates
          ? { duplicate_watch_until: new Date(Date.now() + deps.settings.duplicateWatchMs) }
          : {})
      }
    )
  } catch (err) {
    if (!isDownstreamIdClash(err)) throw err
    // Flow Service answered with an id another broker connection already holds: the answer is about another
    // connection, so this POST's outcome is unknown. Pending, watched, and settled from Flow Service's own records.
    await updateConnection(deps.db, id, {
      lease_owner: null,
      lease_until: null,
      duplicate_watch_until: new Date(Date.now() + deps.settings.duplicateWatchMs)
    })
    deps.logger.error(
      { connectionId: id, flowConnectionId: created.id },
      'Flow Service answered a create with the id of a connection another broker connection holds; not trusted, left pending for the reconciler'
    )
    throw new AppError(
      'downstream_unavailable',
      "Flow Service answered with the id of a connection that belongs to another broker connection, so the broker does not trust that answer. This connection stays pending and is completed (found by the broker's marker) or rolled back automatically; retry with the same Idempotency-Key to learn the outcome.",
      {
        retryAfterSeconds: 30,
        extensions: { connectionId: id }
      }
    )
  }
}

/**
 * Nothing exists downstream and the cause was ours, not the request's: failed, secret destroyed, and the
 * Idempotency-Key freed so that a retry with it creates anew.
 */
async function rollBack(c: Create, row: ConnectionRow, reason: string): Promise<void> {
  await observe(c, row, { kind: 'abandoned', reason }, { lease_owner: null, lease_until: null }, async (tx) => {
    await forgetIdempotencyKey(tx, row.id)
  })
  // The write may have succeeded without being recorded: destroy whatever is there (if this fails too, the
  // reconciler's scan of the store finds a key whose connection failed, and destroys it).
  await destroyRecordedSecret(c.deps, row.id)
}

/** Flow Service said no: failed with its reason (kept for replays), then the secret destroyed. */
async function reject(c: Create, row: ConnectionRow, reason: string, refusal: DownstreamRefusal): Promise<void> {
  await observe(
    c,
    row,
    { kind: 'rejected', reason },
    { failure_detail: JSON.stringify(refusal), lease_owner: null, lease_until: null }
  )
  await destroyRecordedSecret(c.deps, row.id)
}

/** Records an observation of the request on the row in a transaction of its own, with `also` in the same one. */
async function observe(
  c: Create,
  row: ConnectionRow,
  observation: Observation,
  patch: ConnectionUpdate,
  also?: (tx: Kysely<Database>) => Promise<void>
): Promise<ConnectionRow> {
  return await transaction(
    c.deps.db,
    async (tx, onCommit) => {
      const stored = await recordObservation(tx, row, observation, {
        observedBy: 'request',
        ...c.audit,
        patch,
        onTransition: afterCommit(onCommit, c.deps.onTransition)
      })
      await also?.(tx)
      return stored
    },
    c.deps.logger
  )
}
