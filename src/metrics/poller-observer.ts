// Turns each poller sweep into metrics: its duration, its size, and what the polls found.
import type { PollerObserver } from '../poller/state-poller.js'
import type { BrokerMetrics } from './broker-metrics.js'

export function pollerObserver(metrics: BrokerMetrics): PollerObserver {
  return {
    batchFinished(result) {
      metrics.polls.inc({ outcome: 'changed' }, result.changed)
      metrics.polls.inc({ outcome: 'unchanged' }, result.polled - result.changed)
      metrics.polls.inc({ outcome: 'failed' }, result.failed)
    },
    sweepFinished(result, durationMs) {
      metrics.sweepDuration.observe(durationMs / 1000)
      metrics.sweepConnections.observe(result.polled + result.failed)
    }
  }
}
