// Counts written state transitions into the broker's metrics.
import type { TransitionListener } from '../connections/state/transitions.js'
import type { BrokerMetrics } from './broker-metrics.js'

export function transitionCounter(metrics: Pick<BrokerMetrics, 'transitions'>): TransitionListener {
  return ({ from, to, observedBy }) => {
    metrics.transitions.inc({ from: from ?? 'none', to, observed_by: observedBy })
  }
}
