// A FlowServiceClient that spends this replica's request budget on every call, whoever makes it (the poller, an
// API request, readiness), and turns a 429 from Flow Service into a pause for every caller.
import type { FlowServiceClient } from './flow-service-client.js'
import { FlowServiceError } from './flow-service-error.js'
import { decorateFlowServiceClient } from './decorate-flow-service-client.js'
import { BudgetExhausted, type RequestBudget } from './request-budget.js'

export interface BudgetedClientOptions {
  /** Pause after a 429 that names no Retry-After. */
  defaultRetryAfterMs: number
  /** Told how long each call waited for its slot (metrics). */
  onWait?: (ms: number) => void
  /** Told of each call refused because its wait would have been too long (metrics). */
  onRefused?: () => void
}

/** The code of the FlowServiceError a call gets when the budget refuses it: nothing was sent. */
export const REQUEST_BUDGET_CODE = 'request_budget'

export function budgetFlowServiceClient(
  inner: FlowServiceClient,
  budget: RequestBudget,
  options: BudgetedClientOptions
): FlowServiceClient {
  const client = decorateFlowServiceClient(inner, async (operation, call) => {
    let waitedMs: number
    try {
      waitedMs = await budget.acquire()
    } catch (err) {
      if (!(err instanceof BudgetExhausted)) throw err
      options.onRefused?.()
      // Retryable like a 429, with the wait as Retry-After: callers already know how to handle that.
      throw new FlowServiceError({
        kind: 'retryable',
        operation,
        code: REQUEST_BUDGET_CODE,
        retryAfterMs: err.retryAfterMs,
        cause: err
      })
    }
    options.onWait?.(waitedMs)
    try {
      return await call()
    } catch (err) {
      if (err instanceof FlowServiceError && err.status === 429)
        budget.pause(err.retryAfterMs ?? options.defaultRetryAfterMs)
      throw err
    }
  })
  return {
    ...client,
    close: async () => {
      budget.close()
      await client.close()
    }
  }
}
