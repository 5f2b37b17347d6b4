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
export {
  ATTR_ERROR_TYPE,
  ATTR_MESSAGING_DESTINATION_NAME,
  ATTR_MESSAGING_MESSAGE_CONVERSATION_ID,
  ATTR_MESSAGING_MESSAGE_ID,
  ATTR_MESSAGING_OPERATION_NAME,
  ATTR_MESSAGING_OPERATION_TYPE,
  ATTR_MESSAGING_SYSTEM_NAME,
  ATTR_RABBITMQ_DESTINATION_ROUTING_KEY,
  ATTR_RABBITMQ_MESSAGE_DELIVERY_TAG,
  ATTR_SERVER_ADDRESS,
  ATTR_SERVER_PORT,
  MESSAGING_OPERATION_TYPE_VALUE_PROCESS,
  MESSAGING_OPERATION_TYPE_VALUE_SEND,
  MESSAGING_OPERATION_TYPE_VALUE_SETTLE,
  MESSAGING_SYSTEM_NAME_VALUE_RABBITMQ,
} from './tracing/messaging-semconv.js';
