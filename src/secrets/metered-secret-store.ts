// A SecretStore that times every call by operation and outcome, for /metrics.
// A Proxy rather than a class: every async method of whichever store it wraps is timed, including methods added
// to the contract later, and synchronous ones (reference) pass through untouched.
import type { Histogram } from 'prom-client'
import { SecretStoreError, type SecretStore } from './secret-store.js'

const UNTIMED = new Set<PropertyKey>(['reference', 'kind', 'close'])

export function meterSecretStore(inner: SecretStore, duration: Histogram<'operation' | 'outcome'>): SecretStore {
  return new Proxy(inner, {
    get(target, property) {
      const value: unknown = Reflect.get(target, property, target)
      if (typeof value !== 'function') return value
      const method = value as (...args: unknown[]) => unknown
      // Called on the store itself: its private fields are not reachable through the proxy.
      if (UNTIMED.has(property) || typeof property !== 'string') return method.bind(target)
      return async (...args: unknown[]): Promise<unknown> => {
        const stop = duration.startTimer({ operation: property })
        try {
          const result = await Reflect.apply(method, target, args)
          stop({ outcome: 'ok' })
          return result
        } catch (err) {
          stop({ outcome: err instanceof SecretStoreError ? err.code : 'error' })
          throw err
        }
      }
    }
  })
}
