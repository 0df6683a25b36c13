// Each request runs in its own scope: its id goes with every Flow Service call it makes, and, when tracing is on,
// it is a server span (continuing the caller's traceparent) that the database, secret store, IMS and Flow Service
// spans of its work hang from. Reading the body leaves the request's async context (the stream's events come from
// the socket), so the scope is entered again once the body is read.
import { context, ROOT_CONTEXT, SpanKind, SpanStatusCode, trace, type Context, type Tracer } from '@opentelemetry/api'
import { W3CTraceContextPropagator } from '@opentelemetry/core'
import {
  ATTR_CLIENT_ADDRESS,
  ATTR_ERROR_TYPE,
  ATTR_HTTP_REQUEST_METHOD,
  ATTR_HTTP_RESPONSE_STATUS_CODE,
  ATTR_HTTP_ROUTE,
  ATTR_URL_PATH,
  ATTR_URL_SCHEME,
  ATTR_USER_AGENT_ORIGINAL
} from '@opentelemetry/semantic-conventions'
import type { FastifyInstance, FastifyRequest, HookHandlerDoneFunction } from 'fastify'
import { runForRequest } from '../tracing/request-scope.js'

/** Not a semantic convention: the broker's request id (x-request-id), to find a trace from a problem's `instance`. */
export const ATTR_BROKER_REQUEST_ID = 'broker.request_id'

const propagator = new W3CTraceContextPropagator()
const headerGetter = {
  keys: (carrier: FastifyRequest['headers']) => Object.keys(carrier),
  get: (carrier: FastifyRequest['headers'], key: string) => carrier[key]
}

/** Registered before every other hook, so authentication's database work is already inside the request's span. */
export function registerRequestTracing(app: FastifyInstance, tracer: Tracer | undefined): void {
  if (tracer === undefined) {
    const enter = (request: FastifyRequest, _reply: unknown, done: HookHandlerDoneFunction): void => {
      runForRequest(request.id, () => {
        done()
      })
    }
    app.addHook('onRequest', enter)
    app.addHook('preValidation', enter)
    return
  }

  const spans = new WeakMap<FastifyRequest, Context>()
  const enter = (request: FastifyRequest, _reply: unknown, done: HookHandlerDoneFunction): void => {
    const active = spans.get(request) ?? ROOT_CONTEXT
    context.with(active, () => {
      runForRequest(request.id, () => {
        done()
      })
    })
  }
  app.addHook('onRequest', (request, reply, done) => {
    const route = request.routeOptions.url
    const parent = propagator.extract(ROOT_CONTEXT, request.headers, headerGetter)
    const span = tracer.startSpan(
      route !== undefined ? `${request.method} ${route}` : request.method,
      {
        kind: SpanKind.SERVER,
        attributes: {
          [ATTR_HTTP_REQUEST_METHOD]: request.method,
          // The path only: a query string is the caller's filters, and nothing of it is needed to follow a trace.
          [ATTR_URL_PATH]: request.url.split('?', 1)[0] ?? '',
          [ATTR_URL_SCHEME]: request.protocol,
          [ATTR_CLIENT_ADDRESS]: request.ip,
          [ATTR_BROKER_REQUEST_ID]: request.id,
          ...(route !== undefined ? { [ATTR_HTTP_ROUTE]: route } : {}),
          ...(request.headers['user-agent'] !== undefined
            ? { [ATTR_USER_AGENT_ORIGINAL]: request.headers['user-agent'] }
            : {})
        }
      },
      parent
    )
    spans.set(request, trace.setSpan(parent, span))
    enter(request, reply, done)
  })
  app.addHook('preValidation', enter)
  const end = (request: FastifyRequest, status: number | undefined): void => {
    const ctx = spans.get(request)
    if (ctx === undefined) return
    spans.delete(request)
    const span = trace.getSpan(ctx)
    if (span === undefined) return
    if (status !== undefined) {
      span.setAttribute(ATTR_HTTP_RESPONSE_STATUS_CODE, status)
      // Server spans: only 5xx is an error of ours; a 4xx is the caller's.
      if (status >= 500) {
        span.setAttribute(ATTR_ERROR_TYPE, String(status))
        span.setStatus({ code: SpanStatusCode.ERROR })
      }
    } else {
      span.setAttribute(ATTR_ERROR_TYPE, 'aborted')
    }
    span.end()
  }
  app.addHook('onResponse', (request, reply, done) => {
    end(request, reply.statusCode)
    done()
  })
  app.addHook('onRequestAbort', (request, done) => {
    end(request, undefined)
    done()
  })
}
