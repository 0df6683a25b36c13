// Create, as a recorded saga: row first (pending), then the secret, then Flow Service; every outcome recorded.
import { v7 as uuidv7 } from 'uuid'
import { appendAudit, type Actor } from '../audit/audit-log.js'
import type { Caller } from '../auth/scopes.js'
import { validateCredentials } from '../catalog/validate-credentials.js'
import type { ConnectionRow } from '../db/schema.js'
import { AppError } from '../errors/app-error.js'
import { FlowServiceError } from '../flow-service/flow-service-error.js'
import { retryWithBackoff } from '../flow-service/retry.js'
import type { CreateConnectionBody } from '../flow-service/types.js'
import { SecretStoreError } from '../secrets/secret-store.js'
import type { ConnectionDeps, RequestContext } from './connection-deps.js'
import type { CreateConnectionRequest } from './create-connection-request.js'
import { insertConnection, insertConnectionEvent, updateConnection } from './connection-repository.js'
import { credentialsProblem } from './credentials-problem.js'
import { downstreamMarker, findAdoptableDownstream } from './downstream-marker.js'
import { recordObservation } from './record-observation.js'
import { scrubSecrets } from './scrub-secrets.js'

export interface CreateInput {
  body: CreateConnectionRequest
  sandboxName: string
  requestId: string
}

export interface CreateResult {
  row: ConnectionRow
  notices: Array<{ path: string, message: string }>
}

export async function createConnection (deps: ConnectionDeps, caller: Caller, input: CreateInput): Promise<CreateResult> {
  const check = validateCredentials(input.body)
  if (!check.ok) throw credentialsProblem(check)
  const actor: Actor = { kind: 'key', team: caller.team, keyId: caller.keyId }
  const ctx: RequestContext = { requestId: input.requestId }
  const id = uuidv7()

  // 1. The row exists before any side effect, so a crash anywhere after leaves a trace the reconciler finds.
  let row = await deps.db.transaction().execute(async (tx) => {
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
      lease_owner: null,
      lease_until: null,
      idempotency_key: null,
      request_fingerprint: null
    })
    await insertConnectionEvent(tx, { connectionId: id, fromState: null, toState: 'pending', reason: null, downstreamState: null, observedBy: 'request', requestId: ctx.requestId })
    await appendAudit(tx, {
      actor,
      action: 'connection.create',
      connectionId: id,
      requestId: ctx.requestId,
      outcome: 'success',
      changedFields: ['name', 'description', 'sandboxName', 'connectionSpec', 'auth.specName', ...Object.keys(check.params).map((p) => `auth.params.${p}`)],
      detail: { state: 'pending', connectionSpecId: check.spec.id, authSpec: check.authSpec.name }
    })
    return inserted
  })

  // 2. The secret, create-only (cas 0).
  try {
    const version = await deps.secrets.write(id, check.secretParams, { cas: 0 })
    row = await updateConnection(deps.db, id, { secret_version: version })
  } catch (err) {
    await abandon(deps, row, actor, ctx, 'the secret store was unavailable; nothing was created in Flow Service')
    if (err instanceof SecretStoreError && err.code !== 'cas_mismatch') {
      throw new AppError('secret_store_unavailable', 'The secret store could not keep the credentials; nothing was created. Retry later.', { retryAfterSeconds: 5, cause: err })
    }
    throw err
  }

  // 3. Flow Service, with every param, retried within a deadline. An ambiguous failure (the POST may have
  //    landed) is resolved by looking for our marker before posting again: at most one downstream connection.
  const downstreamBody: CreateConnectionBody = {
    name: input.body.name,
    description: downstreamMarker(input.body.description, id),
    auth: { specName: check.authSpec.name, params: check.params },
    connectionSpec: { id: check.spec.id, version: check.version }
  }
  let created: { id: string, etag: string | null }
  try {
    created = await retryWithBackoff(async () => {
      try {
        return await deps.flow.createConnection(input.sandboxName, downstreamBody)
      } catch (err) {
        if (err instanceof FlowServiceError && err.kind === 'ambiguous') {
          const adopted = await findAdoptableDownstream(deps.flow, input.sandboxName, input.body.name, id)
          if (adopted !== undefined) return adopted
          // Not there: the POST never landed, so posting again cannot duplicate it.
          throw new FlowServiceError({ kind: 'retryable', operation: 'createConnection', cause: err })
        }
        throw err
      }
    }, {
      deadlineMs: deps.settings.createDeadlineMs,
      baseDelayMs: 200,
      maxDelayMs: 2000,
      isRetryable: (err) => err instanceof FlowServiceError && err.kind === 'retryable',
      onRetry: ({ error, attempt, delayMs }) => { deps.logger.warn({ err: error, attempt, delayMs, connectionId: id }, 'Flow Service create failed; retrying') }
    })
  } catch (err) {
    if (err instanceof FlowServiceError && (err.kind === 'rejected' || err.kind === 'not_found' || err.kind === 'auth')) {
      // Flow Service may quote what it was sent: never let a secret value through in its words.
      const downstreamMessage = err.downstreamMessage === undefined ? null : scrubSecrets(err.downstreamMessage, Object.values(check.secretParams))
      const reason = `Flow Service rejected the connection${err.code !== undefined ? ` (${err.code})` : ''}: ${downstreamMessage ?? 'no reason given'}`
      await reject(deps, row, actor, ctx, reason)
      throw new AppError('downstream_rejected', reason, {
        extensions: { connectionId: id, downstream: { status: err.status ?? null, code: err.code ?? null, message: downstreamMessage } },
        cause: err
      })
    }
    // Still pending: the reconciler finishes or rolls it back. The caller learns it may retry.
    deps.logger.error({ err, connectionId: id }, 'Flow Service create did not complete; left pending for the reconciler')
    throw new AppError('downstream_unavailable', 'Flow Service did not confirm the connection in time. It stays pending and is completed or rolled back automatically; retry with the same Idempotency-Key to learn the outcome.', {
      retryAfterSeconds: 30,
      extensions: { connectionId: id },
      cause: err
    })
  }

  // 4. Record what Flow Service gave us; the poller follows it from here.
  row = await deps.db.transaction().execute(async (tx) => await recordObservation(tx, row, { kind: 'downstream_state', state: 'initializing' }, {
    observedBy: 'request',
    actor,
    requestId: ctx.requestId,
    patch: { flow_connection_id: created.id, etag: created.etag, next_poll_at: new Date(Date.now() + deps.settings.fastPollIntervalMs), poll_failures: 0 }
  }))
  return { row, notices: check.notices }
}

async function abandon (deps: ConnectionDeps, row: ConnectionRow, actor: Actor, ctx: RequestContext, reason: string): Promise<void> {
  await deps.db.transaction().execute(async (tx) => {
    await recordObservation(tx, row, { kind: 'abandoned', reason }, { observedBy: 'request', actor, requestId: ctx.requestId, patch: { secret_version: null } })
  })
  await destroySecretQuietly(deps, row.id)
}

async function reject (deps: ConnectionDeps, row: ConnectionRow, actor: Actor, ctx: RequestContext, reason: string): Promise<void> {
  await destroySecretQuietly(deps, row.id)
  await deps.db.transaction().execute(async (tx) => {
    await recordObservation(tx, row, { kind: 'rejected', reason }, { observedBy: 'request', actor, requestId: ctx.requestId, patch: { secret_version: null } })
  })
}

/** A failed destroy leaves an orphan the sweep removes later; it must not hide the original outcome. */
export async function destroySecretQuietly (deps: Pick<ConnectionDeps, 'secrets' | 'logger'>, id: string): Promise<void> {
  try {
    await deps.secrets.destroy(id)
  } catch (err) {
    deps.logger.warn({ err, connectionId: id }, 'could not destroy the secret now; the orphan sweep will')
  }
}
