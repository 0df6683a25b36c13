// Applies an observation to a connection inside the caller's transaction: state, history row and audit row together.
import type { Kysely } from 'kysely'
import { appendAuditIn, type Actor } from '../../audit/audit-log.js'
import type { ConnectionRow, ConnectionUpdate, Database } from '../../db/schema.js'
import { insertConnectionEvent, updateConnection, type NewConnectionEvent } from '../connection-repository.js'
import { isTerminal, nextState, type Observation } from './states.js'
import type { TransitionListener } from './transitions.js'

export interface ObservationContext {
  observedBy: NewConnectionEvent['observedBy']
  actor: Actor
  requestId: string | null
  /** Other columns to set in the same update (etag, schedule, ...). */
  patch?: ConnectionUpdate
  /**
   * Told of the transition written. The caller owns the transaction, so it binds the listener to the commit
   * (afterCommit in transitions.ts): a transition rolled back must not be counted.
   */
  onTransition?: TransitionListener | undefined
}

/**
 * Records only real changes: a new broker state, or a new downstream state string (an unknown state Flow
 * Service invented, or its disappearance). Returns the row as stored afterwards.
 */
export async function recordObservation(
  tx: Kysely<Database>,
  row: ConnectionRow,
  observation: Observation,
  ctx: ObservationContext
): Promise<ConnectionRow> {
  const from = row.state
  const downstreamState = observation.kind === 'downstream_state' ? observation.state : row.downstream_state
  let transition = nextState(from, observation)
  if (
    transition === null &&
    !isTerminal(from) &&
    observation.kind === 'downstream_state' &&
    downstreamState !== row.downstream_state &&
    row.state_reason !== null
  ) {
    // Back to a known state after an unknown one: clear the reason. (A terminal state's reason says why it ended: kept.)
    transition = { to: from, reason: null }
  }
  const downstreamChanged = downstreamState !== row.downstream_state
  if (transition === null) {
    if (!downstreamChanged && ctx.patch === undefined) return row
    return await updateConnection(tx, row.id, { ...ctx.patch, downstream_state: downstreamState })
  }
  const updated = await updateConnection(tx, row.id, {
    ...ctx.patch,
    state: transition.to,
    state_reason: transition.reason,
    downstream_state: downstreamState
  })
  if (transition.to === from && transition.reason === row.state_reason && !downstreamChanged) return updated
  await insertConnectionEvent(tx, {
    connectionId: row.id,
    fromState: from,
    toState: transition.to,
    reason: transition.reason,
    downstreamState,
    observedBy: ctx.observedBy,
    requestId: ctx.requestId
  })
  ctx.onTransition?.({ from, to: transition.to, observedBy: ctx.observedBy })
  await appendAuditIn(tx, {
    actor: ctx.actor,
    action: 'connection.state_changed',
    connectionId: row.id,
    requestId: ctx.requestId,
    outcome: 'success',
    changedFields: ['state'],
    detail: { from, to: transition.to, downstreamState, observedBy: ctx.observedBy }
  })
  return updated
}
