// sendRequest: one HTTP exchange through undici with explicit timeouts and a bounded body.
// Wire failures come back already classified; statuses are left to the caller, which knows what each one means.
import type { IncomingHttpHeaders } from 'node:http'
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
}

export interface HttpAnswer {
  status: number
  headers: IncomingHttpHeaders
  body: string
}

/** Larger than any page of 100 connections; a body beyond it is a misbehaving upstream, not data. */
const MAX_BODY_BYTES = 8 * 1024 * 1024

export async function sendRequest(dispatcher: Dispatcher, request: OutgoingRequest): Promise<HttpAnswer> {
  const { operation, requestId } = request
  const redact = request.redact !== undefined ? { redact: request.redact } : {}
  let response: Dispatcher.ResponseData
  try {
    response = await dispatcher.request({
      origin: request.origin,
      path: request.path,
      method: request.method,
      headers: { ...request.headers, 'x-request-id': requestId },
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
