// The answers of the faults that answer something wrong rather than fail: a 200 without a usable body, an item of
// another connection, an error that echoes what the client sent. Pure functions of the request and the fault.
import { flowError } from './adobe-errors.js'
import type { Reply } from './http-io.js'
import type { EchoEncoding, Odd200Body, Operation } from './types.js'

/** What a proxy in front of a broken peer sends: HTML, while claiming JSON so a client that trusts the header trips. */
const NOT_JSON = '<html><body><h1>200 OK</h1></body></html>'

/** odd-200: a success status whose body gives no connection, no id, or nothing parseable. */
export function oddReply(operation: Operation, body: Odd200Body): Reply {
  const status = operation === 'create' ? 201 : 200
  switch (body) {
    case 'empty-items':
      return { status, body: operation === 'list' ? { items: [], _links: {} } : { items: [] } }
    case 'no-items':
      return { status, body: {} }
    case 'null-items':
      return { status, body: { items: null } }
    case 'empty':
      return { status }
    case 'not-json':
      return { status, raw: { text: NOT_JSON, contentType: 'application/json;charset=utf-8' } }
  }
}

/** other-item: a 200 list or get answer with `other` instead of, or besides, the items it had (if any). */
export function withOtherItem(reply: Reply, mode: 'replace' | 'add', other: unknown): Reply {
  const body = reply.status === 200 && isObject(reply.body) ? reply.body : undefined
  const items = body !== undefined && Array.isArray(body.items) ? (body.items as unknown[]) : undefined
  if (items === undefined) return { status: 200, body: { items: [other] } }
  return { ...reply, body: { ...body, items: mode === 'replace' ? [other] : [...items, other] } }
}

/**
 * echo: an error whose every message field quotes `values` in each encoding, as servers that put the rejected input
 * into their message do; `whole` (JSON of all values) goes in too for the json encoding.
 */
export function echoReply(
  options: { status?: number; code?: string; encodings: readonly EchoEncoding[] },
  values: readonly string[],
  whole: string | undefined,
  requestId: string
): Reply {
  const quoted: string[] = []
  for (const encoding of options.encodings) {
    for (const value of values) quoted.push(encode(value, encoding))
    if (encoding === 'json' && whole !== undefined) quoted.push(whole)
  }
  const code = options.code ?? '1100-400'
  const message = `Invalid request: could not accept ${quoted.map((q) => `[${q}]`).join(' ')}`
  const reply = flowError(code, message, requestId)
  const status = options.status ?? reply.status
  return { ...reply, status, body: { ...(reply.body as Record<string, unknown>), status } }
}

function encode(value: string, encoding: EchoEncoding): string {
  switch (encoding) {
    case 'raw':
      return value
    case 'json':
      return JSON.stringify(value)
    case 'url':
      return encodeURIComponent(value)
    case 'base64':
      return Buffer.from(value).toString('base64')
    case 'truncated':
      return `${value.slice(0, 10)}…`
  }
}

/** The string values an echo quotes from a create body (`auth.params`) or a JSON Patch (`/auth/params` values). */
export function echoedParams(body: unknown): { values: string[]; whole: string | undefined } {
  const params: Record<string, unknown> = {}
  if (isObject(body) && isObject(body.auth) && isObject(body.auth.params)) Object.assign(params, body.auth.params)
  if (Array.isArray(body)) {
    for (const op of body as unknown[]) {
      if (!isObject(op) || typeof op.path !== 'string' || !op.path.startsWith('/auth/params')) continue
      const key = op.path.slice('/auth/params/'.length)
      if (key === '' && isObject(op.value)) Object.assign(params, op.value)
      else if (key !== '') params[key] = op.value
    }
  }
  const values = Object.values(params).filter((v): v is string => typeof v === 'string')
  return { values, whole: Object.keys(params).length === 0 ? undefined : JSON.stringify(params) }
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value)
}
