// The OpenTelemetry SDK, set up by the composition root only when tracing is on (OTEL_EXPORTER_OTLP_ENDPOINT):
// spans batched and sent over OTLP/HTTP. Everything else in the broker only ever sees a Tracer from
// @opentelemetry/api, or none.
import { context, type Tracer, type TracerProvider } from '@opentelemetry/api'
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks'
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-http'
import { resourceFromAttributes } from '@opentelemetry/resources'
import { BatchSpanProcessor, TracerProvider as SdkTracerProvider } from '@opentelemetry/sdk-trace'
import { ATTR_SERVICE_NAME, ATTR_SERVICE_VERSION } from '@opentelemetry/semantic-conventions'

export const TRACER_NAME = 'credential-broker'

let contextManagerSet = false

export interface Tracing {
  tracer: Tracer
  /** Sends the spans still buffered and stops; a provider the caller passed in is left to the caller. */
  close(): Promise<void>
}

/** Spans sent to `endpoint` + /v1/traces, as the OTLP specification derives it from OTEL_EXPORTER_OTLP_ENDPOINT. */
export function startTracing(settings: { endpoint: string; serviceName: string; serviceVersion?: string }): Tracing {
  const provider = new SdkTracerProvider({
    resource: resourceFromAttributes({
      [ATTR_SERVICE_NAME]: settings.serviceName,
      ...(settings.serviceVersion !== undefined ? { [ATTR_SERVICE_VERSION]: settings.serviceVersion } : {})
    }),
    spanProcessors: [
      new BatchSpanProcessor({
        exporter: new OTLPTraceExporter({ url: `${settings.endpoint.replace(/\/+$/, '')}/v1/traces` })
      })
    ]
  })
  return {
    tracer: useTracerProvider(provider),
    close: async () => {
      await provider.shutdown()
    }
  }
}

/**
 * A tracer of `provider` (e.g. a test's, exporting to memory). The spans of a request find their parent through the
 * active context, which needs a context manager: one, process-wide, set here on first use.
 */
export function useTracerProvider(provider: TracerProvider): Tracer {
  if (!contextManagerSet)
    contextManagerSet = context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable())
  return provider.getTracer(TRACER_NAME)
}
