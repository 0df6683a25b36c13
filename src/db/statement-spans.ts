// A client span per SQL statement, made from Kysely's log event once the statement is done (Kysely has no hook
// around a statement that also sees its failure). The text is Kysely's, with $n placeholders: parameters (which
// may be secret material, key hashes, ciphertext) are never recorded.
import { SpanKind, SpanStatusCode, type Attributes, type Tracer } from '@opentelemetry/api'
import {
  ATTR_DB_NAMESPACE,
  ATTR_DB_OPERATION_NAME,
  ATTR_DB_QUERY_TEXT,
  ATTR_DB_SYSTEM_NAME,
  ATTR_ERROR_TYPE,
  ATTR_SERVER_ADDRESS,
  ATTR_SERVER_PORT,
  DB_SYSTEM_NAME_VALUE_POSTGRESQL
} from '@opentelemetry/semantic-conventions'
import type { LogEvent } from 'kysely'

/** Where the statements go: the server's address and database name, or nothing for embedded PGlite. */
export function databaseAttributes(url: string | undefined): Attributes {
  const attributes: Attributes = { [ATTR_DB_SYSTEM_NAME]: DB_SYSTEM_NAME_VALUE_POSTGRESQL }
  if (url === undefined) return attributes
  try {
    // Host, port and database name only: never the user, password or query of the URL.
    const parsed = new URL(url)
    attributes[ATTR_SERVER_ADDRESS] = parsed.hostname
    attributes[ATTR_SERVER_PORT] = parsed.port === '' ? 5432 : Number(parsed.port)
    const name = decodeURIComponent(parsed.pathname.replace(/^\//, ''))
    if (name !== '') attributes[ATTR_DB_NAMESPACE] = name
  } catch {
    // An unparseable URL fails the connection anyway; the spans just say less.
  }
  return attributes
}

const OPERATION = /^\s*(?:\(\s*)?([A-Za-z]+)/

/** Records the statement the event describes as a span of the active context, back-dated to when it started. */
export function recordStatement(tracer: Tracer, base: Attributes, event: LogEvent): void {
  const endTime = performance.timeOrigin + performance.now()
  const operation = OPERATION.exec(event.query.sql)?.[1]?.toUpperCase()
  const span = tracer.startSpan(operation ?? 'postgresql', {
    kind: SpanKind.CLIENT,
    startTime: endTime - event.queryDurationMillis,
    attributes: {
      ...base,
      [ATTR_DB_QUERY_TEXT]: event.query.sql,
      ...(operation !== undefined ? { [ATTR_DB_OPERATION_NAME]: operation } : {})
    }
  })
  if (event.level === 'error') {
    const code = (event.error as { code?: unknown } | undefined)?.code
    // PostgreSQL's SQLSTATE when there is one; the message may quote a value, so it is never recorded.
    span.setAttribute(ATTR_ERROR_TYPE, typeof code === 'string' ? code : 'error')
    span.setStatus({ code: SpanStatusCode.ERROR })
  }
  span.end(endTime)
}
