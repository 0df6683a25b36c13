// Response headers as the OpenAPI document shows them (@fastify/swagger reads `headers` beside a response schema;
// the serializer ignores it).
const text = (description: string) => ({ type: 'string', description }) as const
const seconds = (description: string) => ({ type: 'integer', minimum: 0, description }) as const

const documented = new WeakMap<object, WeakMap<object, object>>()

/**
 * A response schema documented with the headers it carries. The same schema and headers give the same object, so
 * an app built again reuses the serializer compiled for it (schema-compilers.ts caches by schema object).
 */
export function withHeaders<T extends object>(schema: T, headers: Record<string, object>): T {
  let byHeaders = documented.get(schema)
  if (byHeaders === undefined) documented.set(schema, (byHeaders = new WeakMap()))
  const known = byHeaders.get(headers) as T | undefined
  if (known !== undefined) return known
  const own: T & { headers?: object } = schema
  const result: T = { ...schema, headers: { ...own.headers, ...headers } }
  byHeaders.set(headers, result)
  return result
}

export const EtagHeader = {
  etag: text(
    "The broker's strong entity tag of the connection resource (not Flow Service's `etag` in the body): send it as If-None-Match on GET (304 while unchanged) or If-Match on PATCH, PUT credentials and DELETE (412 once the connection changed)."
  )
}

export const AllowHeader = { allow: text('The methods this path takes.') }

export const WwwAuthenticateHeader = {
  'www-authenticate': text(
    'RFC 6750 challenge: `Bearer realm="credential-broker"`, with `error="invalid_token"` when the key sent is unknown or revoked (`invalid_request` when Authorization is not `Bearer <key>`).'
  )
}

export const RetryAfterHeader = { 'retry-after': { type: 'integer', minimum: 1, description: 'Seconds to wait.' } }

export const LinkHeader = {
  link: text(
    '`<…>; rel="next"`: the URL of the next page (this request with `cursor` set to nextCursor); absent on the last page.'
  )
}

/** IETF draft-ietf-httpapi-ratelimit-headers-06 fields, on every answer of a rate-limited route. */
export const RateLimitHeaders = {
  'ratelimit-limit': seconds('Requests the API key may send in the window (draft-ietf-httpapi-ratelimit-headers-06).'),
  'ratelimit-remaining': seconds('Requests left now.'),
  'ratelimit-reset': seconds('Seconds until the quota is whole again.'),
  'ratelimit-policy': text('The policy: `<limit>;w=60` (a token bucket refilled over 60 s).')
}
