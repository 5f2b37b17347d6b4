/**
 * The OpenTelemetry API as the rest of Switchyard uses it: one dependency, here. Without the SDK started (no
 * endpoint configured) every call is a cheap no-op.
 */
export { context, propagation, ROOT_CONTEXT, SpanKind, SpanStatusCode, trace } from '@opentelemetry/api';
export type { Attributes, Context, Link, Span, SpanContext } from '@opentelemetry/api';
