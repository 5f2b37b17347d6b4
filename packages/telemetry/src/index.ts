export { loggerOptions, REDACTED_PATHS, REQUEST_ID_HEADER } from './logger-options.js';
export type { LoggerConfig } from './logger-options.js';
export { createMetricsRegistry, METRICS_CONTENT_TYPE } from './metrics/metrics-registry.js';
export type { MetricsRegistryOptions } from './metrics/metrics-registry.js';
export { registerOnce, safely } from './metrics/register-once.js';
export { ServiceMetrics } from './metrics/service-metrics.js';
export type { MetricsScrape } from './metrics/service-metrics.js';
export { HTTP_REQUEST_DURATION, httpRequestMetrics, UNMATCHED_ROUTE } from './metrics/http-request-metrics.js';
export type { HttpMetricsMiddleware, HttpRequestLike, HttpResponseLike } from './metrics/http-request-metrics.js';
export { traceFields } from './logger-options.js';
export { tracingConfigFromEnv, DEFAULT_DEPLOYMENT_ENVIRONMENT } from './tracing/tracing-config.js';
export type { TracingConfig, TracingResourceAttributes } from './tracing/tracing-config.js';
export { context, propagation, ROOT_CONTEXT, SpanKind, SpanStatusCode, trace } from './tracing/tracing-api.js';
export type { Attributes, Context, Link, Span, SpanContext } from './tracing/tracing-api.js';
// The messaging semantic-convention keys: that file is their one curated list.
export * from './tracing/messaging-semconv.js';
