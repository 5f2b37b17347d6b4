import { type Attributes, type Context, context, type Link, propagation, ROOT_CONTEXT, type Span, SpanKind, SpanStatusCode, trace } from '@switchyard/telemetry';

/**
 * Trace context across RabbitMQ, after the OpenTelemetry messaging semantic conventions: a PRODUCER span per
 * publish (`publish <exchange>`), a CONSUMER span per delivery (`process <queue>`) whose parent is the producer
 * span, carried in the W3C `traceparent`/`tracestate` headers. With tracing off these are no-ops and headers pass
 * through untouched. Attributes name destinations and ids only, never event data.
 */

const TRACER_NAME = '@switchyard/messaging';

/** W3C trace context as stored on an outbox row and sent as AMQP headers. */
export interface TraceHeaders {
  traceparent?: string;
  tracestate?: string;
}

/** The active context as W3C headers; empty when tracing is off or nothing is being traced. */
export function activeTraceHeaders(active: Context = context.active()): TraceHeaders {
  const carrier: Record<string, string> = {};
  propagation.inject(active, carrier);
  const headers: TraceHeaders = {};
  if (carrier.traceparent) headers.traceparent = carrier.traceparent;
  if (carrier.tracestate) headers.tracestate = carrier.tracestate;
  return headers;
}

/** The remote context W3C headers describe; the root context when they are absent or malformed. */
export function contextFromTraceHeaders(headers: { traceparent?: unknown; tracestate?: unknown }): Context {
  const carrier: Record<string, string> = {};
  const traceparent = headerText(headers.traceparent);
  const tracestate = headerText(headers.tracestate);
  if (traceparent) carrier.traceparent = traceparent;
  if (tracestate) carrier.tracestate = tracestate;
  return propagation.extract(ROOT_CONTEXT, carrier);
}

export interface PublishTarget {
  exchange: string;
  routingKey: string;
  messageId: string;
  /** Context stored with the message (the outbox row's), continued by the publish span. */
  traceparent?: string | null | undefined;
  tracestate?: string | null | undefined;
}

/**
 * Runs `publish` in a PRODUCER span continuing the stored context, and hands it the headers to send: the
 * publish span's context when tracing, else the stored one unchanged. The span ends when the publish settles.
 */
export async function tracePublish<T>(target: PublishTarget, publish: (headers: TraceHeaders) => Promise<T>): Promise<T> {
  const stored: TraceHeaders = {};
  if (target.traceparent) stored.traceparent = target.traceparent;
  if (target.tracestate) stored.tracestate = target.tracestate;
  const parent = contextFromTraceHeaders(stored);
  const span = tracer().startSpan(
    `publish ${target.exchange}`,
    {
      kind: SpanKind.PRODUCER,
      attributes: {
        ...messagingAttributes(target.exchange, target.messageId),
        'messaging.operation.name': 'publish',
        'messaging.operation.type': 'send',
        'messaging.rabbitmq.destination.routing_key': target.routingKey,
      },
    },
    parent,
  );
  const spanContext = trace.setSpan(parent, span);
  const injected = activeTraceHeaders(spanContext);
  const headers = injected.traceparent ? injected : stored;
  return settle(span, () => context.with(spanContext, () => publish(headers)));
}

export interface DeliveryTarget {
  /** The work queue the delivery came from. */
  queue: string;
  /** The routing key the event was published with (a retry copy carries it in `x-original-routing-key`). */
  routingKey: string;
  messageId: string | undefined;
  headers: Readonly<Record<string, unknown>>;
  /** `x-attempt`: above 1 the message is back from a retry tier. */
  attempt: number;
  /** `x-replayed-at`: the message was replayed from the DLQ. */
  replayedAt: string | undefined;
}

/**
 * Runs the handling of one delivery in a CONSUMER span, child of the producer span in its headers. A retried or
 * replayed message keeps that parent, so it stays in the original trace, and also links to it saying why it is back.
 */
export async function traceDelivery<T>(target: DeliveryTarget, handle: () => Promise<T>): Promise<T> {
  const parent = contextFromTraceHeaders(target.headers);
  const links: Link[] = [];
  const producer = trace.getSpanContext(parent);
  if (producer && (target.attempt > 1 || target.replayedAt !== undefined)) {
    const attributes: Attributes = { 'switchyard.delivery.attempt': target.attempt };
    if (target.replayedAt !== undefined) attributes['switchyard.replayed'] = true;
    links.push({ context: producer, attributes });
  }
  const attributes: Attributes = {
    ...messagingAttributes(target.queue, target.messageId),
    'messaging.operation.name': 'process',
    'messaging.operation.type': 'process',
    'messaging.rabbitmq.destination.routing_key': target.routingKey,
    'switchyard.delivery.attempt': target.attempt,
  };
  const span = tracer().startSpan(`process ${target.queue}`, { kind: SpanKind.CONSUMER, attributes, links }, parent);
  return settle(span, () => context.with(trace.setSpan(parent, span), handle));
}

/**
 * Marks the active delivery span as failed (the handler threw, or the message could not be decoded); the
 * transport settles the message itself, so no exception escapes to end the span with.
 */
export function markDeliveryFailed(errorType: string, outcome: string): void {
  const span = trace.getActiveSpan();
  if (!span) return;
  span.setAttribute('error.type', errorType);
  span.setAttribute('switchyard.delivery.outcome', outcome);
  span.setStatus({ code: SpanStatusCode.ERROR });
}

function messagingAttributes(destination: string, messageId: string | undefined): Attributes {
  const attributes: Attributes = { 'messaging.system': 'rabbitmq', 'messaging.destination.name': destination };
  if (messageId) attributes['messaging.message.id'] = messageId;
  return attributes;
}

async function settle<T>(span: Span, work: () => Promise<T>): Promise<T> {
  try {
    return await work();
  } catch (error) {
    // Only the class: messages of failures may quote event data.
    span.setAttribute('error.type', error instanceof Error ? error.constructor.name : 'Error');
    span.setStatus({ code: SpanStatusCode.ERROR });
    throw error;
  } finally {
    span.end();
  }
}

function tracer() {
  return trace.getTracer(TRACER_NAME);
}

/** AMQP header tables may deliver strings as bytes. */
function headerText(value: unknown): string | undefined {
  const text = Buffer.isBuffer(value) ? value.toString('utf8') : value;
  return typeof text === 'string' && text !== '' ? text : undefined;
}
