// The broker's connection states and the one function that decides every transition.

import { isTerminal, type BrokerState } from '../../domain/connection-states.js'

export {
  BROKER_STATES,
  isTerminal,
  TERMINAL_STATES,
  type BrokerState,
  type TerminalState
} from '../../domain/connection-states.js'

/** Something the broker learned about a connection. */
export type Observation =
  /** Flow Service reported this state (verbatim; may be one the broker does not know). */
  | { kind: 'downstream_state'; state: string }
  /** Flow Service answered 404 for a connection it had created. */
  | { kind: 'downstream_gone' }
  /** Flow Service definitively refused to create it. */
  | { kind: 'rejected'; reason: string }
  /** The broker rolled back a create it could not complete. */
  | { kind: 'abandoned'; reason: string }
  /** A caller deleted it through the broker. */
  | { kind: 'deleted_by_request' }

export interface Transition {
  to: BrokerState
  reason: string | null
}

// A Map, not an object literal: a downstream string such as "constructor" must not find Object.prototype members.
const DOWNSTREAM_STATES = new Map<string, BrokerState>([
  ['initializing', 'initializing'],
  ['enabled', 'enabled'],
  ['disabled', 'disabled']
])

/**
 * What a connection in `from` becomes after `observation`, or null when nothing changes.
 * Terminal states never move. Unknown downstream states keep the broker state and carry the verbatim
 * string in the reason, so the poller records them without crashing or guessing.
 */
export function nextState(from: BrokerState, observation: Observation): Transition | null {
  if (isTerminal(from)) return null
  switch (observation.kind) {
    case 'downstream_state': {
      const known = DOWNSTREAM_STATES.get(observation.state)
      if (known === undefined) {
        return {
          to: from === 'pending' ? 'initializing' : from,
          reason: `Flow Service reports state "${observation.state}", which the broker does not know`
        }
      }
      return known === from ? null : { to: known, reason: null }
    }
    case 'downstream_gone':
      return from === 'pending'
        ? { to: 'failed', reason: 'Flow Service has no such connection' }
        : { to: 'deleted', reason: 'deleted in Flow Service outside the broker (404 on GET)' }
    case 'rejected':
      return from === 'pending' ? { to: 'failed', reason: observation.reason } : null
    case 'abandoned':
      return from === 'pending' ? { to: 'failed', reason: observation.reason } : null
    case 'deleted_by_request':
      return { to: 'deleted', reason: 'deleted through the broker' }
  }
}
