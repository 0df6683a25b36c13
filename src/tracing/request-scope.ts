// The request a piece of work runs for, wherever it happens to be called from: Flow Service calls send its id as
// x-request-id, so one id follows a request from the caller through our logs into Adobe's.
import { AsyncLocalStorage } from 'node:async_hooks'

interface RequestScope {
  requestId: string
}

const scope = new AsyncLocalStorage<RequestScope>()

/** Calls `fn` (and everything it starts) as part of request `requestId`. */
export function runForRequest<T>(requestId: string, fn: () => T): T {
  return scope.run({ requestId }, fn)
}

/** The id of the request the caller runs for; undefined in background work (poller, reconciler). */
export function currentRequestId(): string | undefined {
  return scope.getStore()?.requestId
}
