// Lets whoever runs the broker's work (request handling, background loops) hear of every state change as it is
// written, without threading a listener through each use case: the work runs inside a context naming its listener.
import { AsyncLocalStorage } from 'node:async_hooks'

export interface WrittenTransition {
  from: string | null
  to: string
  observedBy: string
}

export type TransitionListener = (transition: WrittenTransition) => void

const current = new AsyncLocalStorage<TransitionListener>()

/** Runs `work` (and everything it starts, however asynchronous) with `listener` hearing its transitions. */
export function runWithTransitionListener<T> (listener: TransitionListener, work: () => T): T {
  return current.run(listener, work)
}

/** Called where a transition row is written. Heard before the transaction commits, so a rollback may overcount. */
export function noteTransition (transition: WrittenTransition): void {
  current.getStore()?.(transition)
}
