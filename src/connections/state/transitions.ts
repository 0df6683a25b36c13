// State transitions as the broker's work writes them, told to whoever listens (the metrics) once the transaction
// that wrote them has committed: a rolled-back change is never counted.
import type { OnCommit } from '../../db/transaction.js'

export interface WrittenTransition {
  from: string | null
  to: string
  observedBy: string
}

export type TransitionListener = (transition: WrittenTransition) => void

/**
 * A listener for the work of one transaction: it holds each transition it hears until `onCommit` fires. The owner
 * of the transaction binds it, since only the owner knows when its transaction ends.
 */
export function afterCommit(
  onCommit: OnCommit,
  listener: TransitionListener | undefined
): TransitionListener | undefined {
  if (listener === undefined) return undefined
  return (transition) => {
    onCommit(() => {
      listener(transition)
    })
  }
}
