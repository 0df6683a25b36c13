// Spans through @opentelemetry/api only. The tracer is injected (undefined when tracing is off), so a broker without
// tracing runs the same code without creating a context, a span or an attribute object.
import { SpanStatusCode, type Attributes, type Span, type SpanOptions, type Tracer } from '@opentelemetry/api'
import { ATTR_ERROR_TYPE } from '@opentelemetry/semantic-conventions'

/**
 * Runs `work` in a new active span (child of the active one) and ends it; a throw marks it failed with the error's
 * class or code only: an error message may quote what a peer answered, so it is never recorded.
 */
export async function inSpan<T>(
  tracer: Tracer | undefined,
  name: string,
  options: SpanOptions,
  work: (span: Span | undefined) => Promise<T>
): Promise<T> {
  if (tracer === undefined) return await work(undefined)
  return await tracer.startActiveSpan(name, options, async (span) => {
    try {
      return await work(span)
    } catch (err) {
      markFailed(span, err)
      throw err
    } finally {
      span.end()
    }
  })
}

/** error.type as the semantic conventions have it: a low-cardinality class of the failure, never its message. */
export function markFailed(span: Span, err: unknown, errorType?: string): void {
  span.setAttribute(ATTR_ERROR_TYPE, errorType ?? errorTypeOf(err))
  span.setStatus({ code: SpanStatusCode.ERROR })
}

export function errorTypeOf(err: unknown): string {
  if (typeof err === 'object' && err !== null) {
    const { code, kind, name } = err as { code?: unknown; kind?: unknown; name?: unknown }
    if (typeof kind === 'string') return kind
    if (typeof code === 'string' && /^[A-Za-z0-9_.-]{1,64}$/.test(code)) return code
    if (typeof name === 'string') return name
  }
  return '_OTHER'
}

export function setAttributes(span: Span | undefined, attributes: Attributes): void {
  span?.setAttributes(attributes)
}
