// A SecretStore whose every call is a span (child of the active one): which store and which operation, and the
// error code when it fails. Never the key's data, a version's content or the store's token.
import { SpanKind, type Tracer } from '@opentelemetry/api'
import { inSpan } from '../tracing/span.js'
import type { SecretStore } from './secret-store.js'

const UNTRACED = new Set<PropertyKey>(['reference', 'kind', 'close'])

/** Not semantic conventions: the backend (vault, local) and the SecretStore method. */
export const ATTR_SECRET_STORE_KIND = 'broker.secret_store.kind'
export const ATTR_SECRET_STORE_OPERATION = 'broker.secret_store.operation'

export function traceSecretStore(inner: SecretStore, tracer: Tracer): SecretStore {
  return new Proxy(inner, {
    get(target, property) {
      const value: unknown = Reflect.get(target, property, target)
      if (typeof value !== 'function') return value
      const method = value as (...args: unknown[]) => unknown
      if (UNTRACED.has(property) || typeof property !== 'string') return method.bind(target)
      return async (...args: unknown[]): Promise<unknown> =>
        await inSpan(
          tracer,
          `secret-store ${property}`,
          {
            kind: SpanKind.CLIENT,
            attributes: { [ATTR_SECRET_STORE_KIND]: target.kind, [ATTR_SECRET_STORE_OPERATION]: property }
          },
          // A failure's error.type is its SecretStoreError code (unavailable, denied, cas_mismatch, not_found).
          async () => await Reflect.apply(method, target, args)
        )
    }
  })
}
