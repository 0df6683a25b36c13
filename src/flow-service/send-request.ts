// sendRequest: one HTTP exchange through undici with explicit timeouts and a bounded body.
// Wire failures come back already classified; statuses are left to the caller, which knows what each one means.
// With a tracer, each exchange is a client span whose traceparent goes with the request: its attributes say where
// and what (method, origin and path, status), never a header, the query or a body (tokens, client secret, params).
import type { IncomingHttpHeaders } from 'node:http'
import { context, SpanKind, SpanStatusCode, trace, type Span, type Tracer } from '@opentelemetry/api'
import { W3CTraceContextPropagator } from '@opentelemetry/core'
import {
  ATTR_ERROR_TYPE,
  ATTR_HTTP_REQUEST_METHOD,
  ATTR_HTTP_RESPONSE_STATUS_CODE,
  ATTR_SERVER_ADDRESS,
  ATTR_SERVER_PORT,
  ATTR_URL_FULL
} from '@opentelemetry/semantic-conventions'
import type { Dispatcher } from 'undici'
import { classifyFlowServiceFailure, type FlowServiceOperation } from './flow-service-error.js'

export interface OutgoingRequest {
  operation: FlowServiceOperation
  origin: string
  path: string
  method: 'GET' | 'POST' | 'PATCH' | 'DELETE'
  headers: Record<string, string>
  body?: string
  timeoutMs: number
  /** Sent as x-request-id so a failure can be traced in Adobe's logs. */
  requestId: string
  /** Removes the request's secrets from any text a wire error took from the answer. */
  redact?: (text: string) => string
  /** A client span for the exchange, with traceparent sent; absent when tracing is off. */
  tracer?: Tracer | undefined
}

/** Not semantic conventions: which call of ours this was, and the x-request-id it carried. */
export const ATTR_FLOW_SERVICE_OPERATION = 'broker.flow_service.operation'
export const ATTR_OUTGOING_REQUEST_ID = 'broker.request_id'

const propagator = new W3CTraceContextPropagator()
const headerSetter = {
  set: (carrier: Record<string, string>, key: string, value: string) => {
    carrier[key] = value
  }
}

export interface HttpAnswer {
  status: number
  headers: IncomingHttpHeaders
  body: string
}

/** Larger than any page of 100 connections; a body beyond it is a misbehaving upstream, not data. */
const MAX_BODY_BYTES = 8 * 1024 * 1024

export async function sendRequest(dispatcher: Dispatcher, request: OutgoingRequest): Promise<HttpAnswer> {
  const { tracer } = request
  if (tracer === undefined) return await exchange(dispatcher, request, request.headers)
  const url = new URL(request.origin)
  const span = tracer.startSpan(request.method, {
    kind: SpanKind.CLIENT,
    attributes: {
      [ATTR_HTTP_REQUEST_METHOD]: request.method,
      [ATTR_URL_FULL]: url.origin + request.path.split('?', 1)[0],
      [ATTR_SERVER_ADDRESS]: url.hostname,
      [ATTR_SERVER_PORT]: url.port === '' ? (url.protocol === 'https:' ? 443 : 80) : Number(url.port),
      [ATTR_FLOW_SERVICE_OPERATION]: request.operation,
      [ATTR_OUTGOING_REQUEST_ID]: request.requestId
    }
  })
  const headers = { ...request.headers }
  propagator.inject(trace.setSpan(context.active(), span), headers, headerSetter)
  try {
    const answer = await exchange(dispatcher, request, headers)
    span.setAttribute(ATTR_HTTP_RESPONSE_STATUS_CODE, answer.status)
    if (answer.status >= 400) endFailed(span, String(answer.status))
    return answer
  } catch (error) {
    const kind = (error as { kind?: unknown }).kind
    endFailed(span, typeof kind === 'string' ? kind : '_OTHER')
    throw error
  } finally {
    span.end()
  }
}

function endFailed(span: Span, errorType: string): void {
  span.setAttribute(ATTR_ERROR_TYPE, errorType)
  span.setStatus({ code: SpanStatusCode.ERROR })
}

async function exchange(
  dispatcher: Dispatcher,
  request: OutgoingRequest,
  requestHeaders: Record<string, string>
): Promise<HttpAnswer> {
  const { operation, requestId } = request
  const redact = request.redact !== undefined ? { redact: request.redact } : {}
  let response: Dispatcher.ResponseData
  try {
    response = await dispatcher.request({
      origin: request.origin,
      path: request.path,
      method: request.method,
      headers: { ...requestHeaders, 'x-request-id': requestId },
      ...(request.body !== undefined ? { body: request.body } : {}),
      // Per request as well as on our pools, so an injected dispatcher gets the same bounds.
      headersTimeout: request.timeoutMs,
      bodyTimeout: request.timeoutMs
    })
  } catch (error) {
    throw classifyFlowServiceFailure({ operation, error, requestId, ...redact })
  }
  const { statusCode: status, headers } = response
  try {
    return { status, headers, body: await readBody(response.body) }
  } catch (error) {
    throw classifyFlowServiceFailure({ operation, error, requestId, response: { status, headers }, ...redact })
  }
}

async function readBody(body: Dispatcher.ResponseData['body']): Promise<string> {
  const chunks: Buffer[] = []
  let size = 0
  for await (const chunk of body) {
    const buffer = chunk as Buffer
    size += buffer.length
    if (size > MAX_BODY_BYTES) {
      body.destroy()
      throw new Error(`response body exceeds ${MAX_BODY_BYTES} bytes`)
    }
    chunks.push(buffer)
  }
  return Buffer.concat(chunks).toString('utf8')
}
