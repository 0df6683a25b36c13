// The OpenAPI document's own description: what the API is, the conventions every operation shares, and every
// problem `type` with its meaning (also as the `x-problem-types` extension of `info`, for tools). Typed by ErrorCode,
// so a new problem cannot be added without saying what it means here.
import { ErrorCodes, problemType, type ErrorCode } from '../errors/app-error.js'

const MEANINGS: Record<ErrorCode, string> = {
  validation_failed: 'A field of the body, query, path or headers is wrong; `errors` names each one and why.',
  malformed_json: 'The body is not JSON; `detail` locates the break (line, column, the field before it).',
  unknown_connection_spec: 'connectionSpec.id is not in the catalogue (GET /v1/connection-specs).',
  unknown_auth_spec: 'auth.specName is not an auth spec of this connection spec.',
  invalid_params: 'auth.params do not fit the auth spec; `errors` names each param, why, and what to send.',
  unauthorized: 'No API key, a malformed Authorization header, or an unknown or revoked key.',
  forbidden: 'The key lacks the scope, or the sandbox or connection spec lies outside its limits.',
  not_found: "No such resource, or another team's (never told apart).",
  method_not_allowed: 'The path exists, not with this method.',
  request_timeout: 'The headers or the body did not arrive in time; the connection is closed.',
  conflict: 'The resource is not in a state that allows this (deleted, failed, a name in use).',
  connection_busy: 'Flow Service is still initializing the connection or another change is under way; see Retry-After.',
  idempotency_key_in_use: 'A request with this Idempotency-Key is still running; see Retry-After.',
  precondition_failed:
    'If-Match does not name the current ETag of the connection (or is not an entity tag); nothing was changed. The problem carries the current `etag`, `state` and `updatedAt`.',
  payload_too_large: 'The body is over 1 MiB.',
  unsupported_media_type: 'The body is not application/json.',
  idempotency_key_reused: 'This Idempotency-Key was used with another body in the last 24 h.',
  downstream_rejected: 'Flow Service refused the create; `downstream` carries its status, code and message.',
  downstream_refused: 'Flow Service refused the change; `downstream` carries its status, code and message.',
  rate_limited: 'Too many requests for this key, or without a valid key from this address; see Retry-After.',
  headers_too_large: 'The request headers are over 16 KiB; the connection is closed.',
  internal: 'Something failed in the broker; nothing internal is said. Quote `instance`.',
  downstream_unavailable: 'Flow Service (or Adobe IMS) did not answer usably; see Retry-After and `connectionId`.',
  secret_store_unavailable: 'The secret store (Vault) is unreachable, sealed or denying; see Retry-After.',
  database_unavailable: 'PostgreSQL is unavailable; see Retry-After.'
}

export const PROBLEM_TYPES = (Object.keys(ErrorCodes) as ErrorCode[]).map((code) => ({
  type: problemType(code),
  status: ErrorCodes[code].status,
  title: ErrorCodes[code].title,
  meaning: MEANINGS[code]
}))

export const API_DESCRIPTION = [
  'Keeps third-party source credentials for Adobe Experience Platform Flow Service: validates them against a catalogue, keeps secret params in a secret store, creates base connections and follows their state.',
  '',
  'Every /v1 operation needs `Authorization: Bearer <api key>`; the scope each needs is in its description and its `x-required-scope`. Secret params never come back: each is replaced by a reference such as `vault:secret/credential-broker/connections/<id>#password@v1`.',
  '',
  'Errors are `application/problem+json` (RFC 9457): `type`, `title`, `status`, `detail`, `instance` (the request id, also in `x-request-id`), and for bad input an `errors` list of `{path, message}`. Each operation lists the statuses it can answer; besides those, any request can get 400 (text that is not well-formed Unicode in a header), 404 (no such route), 408 (too slow) or 431 (headers over 16 KiB).',
  '',
  'HTTP conventions: a connection carries the broker\'s own strong `ETag` (If-None-Match on GET: 304; If-Match on PATCH, PUT credentials and DELETE: 412 once it changed); every 401 has `WWW-Authenticate: Bearer`; a known path asked with a method it does not take is 405 with `Allow`; answers to a valid key carry `RateLimit-Limit`, `-Remaining`, `-Reset` and `-Policy` (draft-ietf-httpapi-ratelimit-headers-06); paged lists add `Link: <…>; rel="next"`.',
  '',
  '## Problem types',
  '',
  '| type | status | meaning |',
  '| --- | --- | --- |',
  ...PROBLEM_TYPES.map((p) => `| \`${p.type}\` | ${p.status} | ${p.meaning} |`)
].join('\n')
