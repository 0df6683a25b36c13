// A FlowServiceClient that counts and times every call by operation and outcome, for /metrics.
import type { Counter, Histogram } from 'prom-client'
import type { FlowServiceClient } from './flow-service-client.js'
import { FlowServiceError } from './flow-service-error.js'
import { decorateFlowServiceClient } from './decorate-flow-service-client.js'

export interface FlowServiceMeters {
  flowServiceCalls: Counter<'operation' | 'status'>
  flowServiceDuration: Histogram<'operation'>
}

export function meterFlowServiceClient(inner: FlowServiceClient, meters: FlowServiceMeters): FlowServiceClient {
  return decorateFlowServiceClient(inner, async (operation, call) => {
    const stop = meters.flowServiceDuration.startTimer({ operation })
    let status = 'ok'
    try {
      return await call()
    } catch (err) {
      status = statusOf(err)
      throw err
    } finally {
      stop()
      meters.flowServiceCalls.inc({ operation, status })
    }
  })
}

/** The HTTP status when Flow Service answered, else what went wrong (a timeout, a reset: kind retryable). */
function statusOf(err: unknown): string {
  if (!(err instanceof FlowServiceError)) return 'error'
  return err.status !== undefined ? String(err.status) : (err.code ?? err.kind)
}
