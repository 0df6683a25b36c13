// Turns every error into application/problem+json. 5xx bodies say nothing internal; each error is logged once.
import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'
import { randomUUID } from 'node:crypto'
import { STATUS_CODES } from 'node:http'
import type { Socket } from 'node:net'
import { AppError, problemType, type FieldProblem } from '../errors/app-error.js'
import { FlowServiceError } from '../flow-service/flow-service-error.js'
import { SecretStoreError } from '../secrets/secret-store.js'
import type { Problem } from './schemas/problem.js'
import { ClientGoneError, tooLarge } from './read-body.js'
import { errorCode } from '../shared/error-code.js'

/** The challenge of every 401: API keys are bearer tokens. */
export const BEARER = 'Bearer realm="credential-broker"'

export function sendProblem(reply: FastifyReply, request: FastifyRequest, error: AppError): FastifyReply {
  const body: Problem = {
    type: problemType(error.code),
    title: error.title,
    status: error.status,
    detail: error.detail,
    instance: request.id,
    ...(error.errors !== undefined ? { errors: error.errors } : {}),
    ...error.extensions
  }
  if (error.retryAfterSeconds !== undefined) void reply.header('retry-after', String(error.retryAfterSeconds))
  // RFC 6750 §3: every 401 names the scheme; the authentication hook adds the error when a credential was bad.
  if (error.status === 401 && !reply.hasHeader('www-authenticate')) void reply.header('www-authenticate', BEARER)
  // Set here too: refusals Fastify raises before routing (frameworkErrors) skip the onSend hooks.
  void reply.header('x-request-id', request.id)
  return reply.code(error.status).type('application/problem+json').send(body)
}

export function registerErrorHandling(app: FastifyInstance): void {
  app.setErrorHandler((error: FastifyError, request, reply) => {
    if (clientGone(error, request)) {
      // Nobody is left to answer; not the broker's failure (these once filled the error log).
      request.log.info(
        { err: { type: error.name, message: error.message } },
        'client closed the connection before the answer'
      )
      return reply.code(499).send()
    }
    const problem = toAppError(error, request)
    if (problem.status >= 500) request.log.error({ err: error }, 'request failed')
    else request.log.info({ err: { type: problem.code, message: problem.detail } }, 'request refused')
    return sendProblem(reply, request, problem)
  })
  const routes = new RouteMethods()
  app.addHook('onRoute', (route) => {
    routes.add(route.url, route.method)
  })
  app.setNotFoundHandler((request, reply) => {
    const path = request.url.split('?')[0] ?? ''
    const allowed = routes.allowedAt(path)
    if (allowed.length > 0) {
      // RFC 9110 §15.5.6: a known path with another method is 405, with the methods it takes in Allow.
      void reply.header('allow', allowed.join(', '))
      return sendProblem(
        reply,
        request,
        new AppError(
          'method_not_allowed',
          `${path} does not take ${request.method}; it takes ${allowed.join(', ')} (see the Allow header and /docs).`
        )
      )
    }
    return sendProblem(
      reply,
      request,
      new AppError('not_found', `No route ${request.method} ${path}. See /docs for the API.`)
    )
  })
}

/** Which methods each route path takes, to tell a wrong method (405) from an unknown path (404). */
class RouteMethods {
  readonly #routes: Array<{ pattern: RegExp; methods: Set<string> }> = []

  add(url: string, method: string | string[]): void {
    // Fastify's path syntax as it is used here: `:param` is one segment, `*` the rest of the path.
    const source = url
      .split(/(:[A-Za-z0-9_]+|\*)/)
      .map((part) =>
        part === '*' ? '.*' : part.startsWith(':') ? '[^/]+' : part.replace(/[.+?^${}()|[\]\\]/g, '\\$&')
      )
      .join('')
    const pattern = new RegExp(`^${source}$`)
    let entry = this.#routes.find((r) => r.pattern.source === pattern.source)
    if (entry === undefined) {
      entry = { pattern, methods: new Set() }
      this.#routes.push(entry)
    }
    for (const m of Array.isArray(method) ? method : [method]) entry.methods.add(m.toUpperCase())
    if (entry.methods.has('GET')) entry.methods.add('HEAD')
  }

  allowedAt(path: string): string[] {
    const methods = new Set<string>()
    for (const route of this.#routes) if (route.pattern.test(path)) for (const m of route.methods) methods.add(m)
    return [...methods].sort()
  }
}

/**
 * Errors Fastify raises before it has a route (bad percent-encoding, a path segment over 100 characters): without
 * this they would bypass the error handler and answer plain JSON. Passed as the `frameworkErrors` option.
 */
export function frameworkErrors(error: FastifyError, request: FastifyRequest, reply: FastifyReply): void {
  const problem =
    error.code === 'FST_ERR_MAX_PARAM_LENGTH'
      ? new AppError(
          'validation_failed',
          'A path segment is longer than any id this API uses (100 characters at most).',
          { errors: [{ path: 'path', message: 'too long' }] }
        )
      : toAppError(error, request)
  request.log.info({ err: { type: problem.code, message: problem.detail } }, 'request refused')
  void sendProblem(reply, request, problem)
}

function clientGone(error: FastifyError, request: FastifyRequest): boolean {
  if (error instanceof ClientGoneError) return true
  const socket = request.raw.socket as Socket | undefined
  // Not `raw.destroyed`: Node destroys a request whose body was read to its end (autoDestroy), so that flag made every
  // error after a body was read (a 400 naming a field, a 422) a bodiless 499 over a real socket.
  return request.raw.readableAborted || socket?.destroyed === true
}

/**
 * Errors Node's HTTP parser raises before there is a request (bad header bytes, headers over the size limit, a
 * request that did not arrive in time): answered as problem+json with a fresh x-request-id, logged at info, and the
 * connection closed. Passed as Fastify's `clientErrorHandler` option (the server's 'clientError' event).
 */
export function clientErrorHandler(this: FastifyInstance, error: Error & { code?: string }, socket: Socket): void {
  const inFlight = (socket as Socket & { _httpMessage?: { headersSent?: boolean } })._httpMessage
  if (error.code === 'ECONNRESET' || socket.destroyed) {
    this.log.debug({ err: { code: error.code } }, 'client connection reset')
    return
  }
  const problem =
    error.code === 'ERR_HTTP_REQUEST_TIMEOUT'
      ? new AppError(
          'request_timeout',
          'The request did not arrive in time. Send the whole request (headers and body) without pausing.'
        )
      : error.code === 'HPE_HEADER_OVERFLOW'
        ? new AppError(
            'headers_too_large',
            'The request headers are larger than the server accepts (16 KiB in all). Send fewer or shorter headers.'
          )
        : new AppError(
            'validation_failed',
            `The request is not valid HTTP/1.1 (${error.code ?? 'unparseable'}): check header names and values for characters HTTP does not allow.`
          )
  const id = randomUUID()
  this.log.info(
    { reqId: id, err: { code: error.code, message: problem.detail } },
    'request refused before it was parsed'
  )
  // An answer already started on this socket (e.g. a 401 while the body trickled in) is not followed by another.
  if (socket.writable && inFlight?.headersSent !== true) {
    const body = JSON.stringify({
      type: problemType(problem.code),
      title: problem.title,
      status: problem.status,
      detail: problem.detail,
      instance: id
    } satisfies Problem)
    socket.write(
      `HTTP/1.1 ${problem.status} ${STATUS_CODES[problem.status] ?? ''}\r\nContent-Type: application/problem+json; charset=utf-8\r\nContent-Length: ${Buffer.byteLength(body)}\r\nx-request-id: ${id}\r\nConnection: close\r\n\r\n${body}`
    )
  }
  socket.destroySoon()
}

function toAppError(error: FastifyError, request: FastifyRequest): AppError {
  if (error instanceof AppError) return error
  if (error instanceof SecretStoreError && error.retryable) {
    return new AppError('secret_store_unavailable', 'The secret store is unavailable. Retry later.', {
      retryAfterSeconds: 5
    })
  }
  if (error.validation !== undefined) {
    const part = error.validationContext ?? 'body'
    const errors = error.validation.map((v) => fieldProblem(part, v))
    return new AppError(
      'validation_failed',
      `The ${part === 'querystring' ? 'query string' : part} is not valid: ${errors.map((e) => `${e.path || '(root)'} ${e.message}`).join('; ')}.`,
      { errors }
    )
  }
  switch (error.code) {
    case 'FST_ERR_CTP_BODY_TOO_LARGE':
      return tooLarge(request.routeOptions.bodyLimit)
    case 'FST_ERR_CTP_INVALID_MEDIA_TYPE':
      return new AppError(
        'unsupported_media_type',
        `Content-Type ${String(request.headers['content-type'] ?? '(none)')} is not accepted. Send the body as application/json.`
      )
    case 'FST_ERR_CTP_EMPTY_JSON_BODY':
      return new AppError('malformed_json', 'The body is empty. Send a JSON object.', {
        errors: [{ path: '', message: 'empty body' }]
      })
    case 'FST_ERR_CTP_INVALID_CONTENT_LENGTH':
      return new AppError('validation_failed', 'Content-Length does not match the body sent.')
    case 'FST_ERR_BAD_URL':
      return new AppError(
        'validation_failed',
        'The URL path is not valid percent-encoded UTF-8 (e.g. %ED%A0%80, an encoded lone surrogate). Encode path segments as UTF-8 before percent-encoding them.',
        { errors: [{ path: 'path', message: 'is not valid percent-encoded UTF-8' }] }
      )
  }
  if (error instanceof FlowServiceError) {
    // A use case that let a Flow Service failure through: the caller learns only that it was unavailable.
    return new AppError('downstream_unavailable', 'Flow Service is unavailable. Retry later.', {
      retryAfterSeconds: 30
    })
  }
  if (isUnstorableText(error)) {
    return new AppError(
      'validation_failed',
      'A text value contains a character that cannot be stored or searched for (the NUL character, \\u0000). Remove it.'
    )
  }
  if (isDatabaseDown(error)) {
    return new AppError('database_unavailable', 'The database is unavailable. Retry later.', { retryAfterSeconds: 5 })
  }
  if (typeof error.statusCode === 'number' && error.statusCode >= 400 && error.statusCode < 500) {
    // A Fastify client error we have no better words for: keep its status, use its (non-secret) message.
    return Object.assign(new AppError('validation_failed', error.message), { status: error.statusCode })
  }
  return new AppError(
    'internal',
    'Something failed inside the broker. It has been logged; quote the instance id when asking for help.'
  )
}

interface AjvError {
  instancePath: string
  message?: string
  keyword: string
  params: Record<string, unknown>
}

function fieldProblem(part: string, v: AjvError): FieldProblem {
  const prefix = part === 'body' ? '' : `${part === 'querystring' ? 'query' : part === 'headers' ? 'header' : part}.`
  let pointer = v.instancePath
  let message = v.message ?? 'is not valid'
  if (v.keyword === 'required') {
    pointer += `/${String(v.params.missingProperty)}`
    message = 'is required'
  } else if (v.keyword === 'additionalProperties') {
    pointer += `/${String(v.params.additionalProperty)}`
    message = 'is not a recognised field; remove it'
  } else if (v.keyword === 'type') {
    message = `must be of type ${String(v.params.type)}`
  }
  const path = part === 'body' ? pointer : prefix + pointer.replace(/^\//, '').replaceAll('/', '.')
  return { path, message }
}

/**
 * PostgreSQL refuses NUL in text (22021) and in jsonb (22P05). Only input can carry one, so the request is at fault;
 * found by the fuzz test (a query filter `?name=%00`).
 */
function isUnstorableText(error: unknown): boolean {
  const code = errorCode(error)
  return code === '22021' || code === '22P05'
}

const DB_DOWN_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ETIMEDOUT',
  'EPIPE',
  '57P01',
  '57P02',
  '57P03',
  '08000',
  '08003',
  '08006',
  '08001',
  '08004'
])

function isDatabaseDown(error: unknown): boolean {
  const code = errorCode(error)
  if (code !== undefined && DB_DOWN_CODES.has(code)) return true
  const message = error instanceof Error ? error.message : undefined
  // "not queryable": a pg client whose connection broke earlier. The last two: embedded PGlite once closed (its
  // session, or the Kysely driver over it).
  return (
    message !== undefined &&
    /Connection terminated|timeout exceeded when trying to connect|Query read timeout|connection error and is not queryable|PGlite is closed|driver has already been destroyed/i.test(
      message
    )
  )
}
