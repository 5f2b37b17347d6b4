import { register } from 'node:module';
import type { TracingResourceAttributes } from './tracing-config.js';

/** Requests that would only add noise to traces: Kubernetes probes and Prometheus scrapes, every few seconds. */
const UNTRACED_PATHS = /^\/(health\/|metrics(?:$|[/?]))/;

export interface RunningTracing {
  /** Exports what is still buffered and stops the SDK; never rejects. */
  shutdown(): Promise<void>;
}

/**
 * Starts the OpenTelemetry Node SDK: W3C trace context, OTLP span export configured by the standard `OTEL_*`
 * variables (endpoint, `OTEL_EXPORTER_OTLP_PROTOCOL` http/protobuf or http/json, `OTEL_TRACES_EXPORTER`,
 * `OTEL_BSP_*`, sampler), and instrumentation of HTTP, Express, Nest and pg. Traces only: metrics are Prometheus'
 * job and logs go to stdout, so the SDK must not start OTLP exporters for those.
 *
 * Must run before the application imports what it instruments, hence the `--import` preload.
 */
export async function startTracing(resourceAttributes: TracingResourceAttributes): Promise<RunningTracing> {
  // ES modules can only be patched through a loader hook registered before they are imported.
  register('@opentelemetry/instrumentation/hook.mjs', import.meta.url);

  const [
    { startNodeSdk },
    { defaultResource, resourceFromAttributes },
    { HttpInstrumentation },
    { ExpressInstrumentation },
    { NestInstrumentation },
    { PgInstrumentation },
  ] = await Promise.all([
    import('@opentelemetry/sdk-node'),
    import('@opentelemetry/resources'),
    import('@opentelemetry/instrumentation-http'),
    import('@opentelemetry/instrumentation-express'),
    import('@opentelemetry/instrumentation-nestjs-core'),
    import('@opentelemetry/instrumentation-pg'),
  ]);

  const sdk = startNodeSdk({
    // Lowest priority, so OTEL_SERVICE_NAME and OTEL_RESOURCE_ATTRIBUTES still override what we derive.
    baseResource: defaultResource().merge(resourceFromAttributes(resourceAttributes)),
    metricReaders: [],
    logRecordProcessors: [],
    instrumentations: [
      new HttpInstrumentation({
        ignoreIncomingRequestHook: (request) => UNTRACED_PATHS.test(request.url ?? ''),
        // The services call nothing over HTTP but the OTLP endpoint itself; a span per export would loop.
        disableOutgoingRequestInstrumentation: true,
      }),
      new ExpressInstrumentation(),
      new NestInstrumentation(),
      // Only queries made on behalf of a request or an event: the relay's polling would otherwise fill traces.
      // Statements are parameterised, and parameter values are never recorded (enhancedDatabaseReporting off).
      new PgInstrumentation({ requireParentSpan: true, enhancedDatabaseReporting: false }),
    ],
  });
  return {
    shutdown: () => sdk.shutdown().catch(() => undefined),
  };
}
