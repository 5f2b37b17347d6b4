import {
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
  type Attributes,
  type Context,
  context,
  type Link,
  MESSAGING_OPERATION_TYPE_VALUE_PROCESS,
  MESSAGING_OPERATION_TYPE_VALUE_SEND,
  MESSAGING_OPERATION_TYPE_VALUE_SETTLE,
  MESSAGING_SYSTEM_NAME_VALUE_RABBITMQ,
  propagation,
  ROOT_CONTEXT,
  type Span,
  type SpanContext,
  SpanKind,
  SpanStatusCode,
  trace,
} from '@switchyard/telemetry';

/**
 * Trace context across RabbitMQ, after the OpenTelemetry messaging and RabbitMQ semantic conventions of the
 * installed `@opentelemetry/semantic-conventions` (no deprecated keys: `messaging.system.name`, `rabbitmq.*`):
 * - a PRODUCER span per publish, `publish {exchange}:{routing key}`, whose context is the message's creation
 *   context, carried in the W3C `traceparent`/`tracestate` headers;
 * - a CONSUMER span per delivery, `process {exchange}:{routing key}:{queue}`. It uses the creation context as its
 *   parent (single-message deliveries, no ambient span: the conventions allow it, and it keeps request and handler
 *   one trace) and, as the conventions recommend, also links to it on every delivery, the first included;
 * - CLIENT spans for what the consumer does to the delivery inside it: `ack`/`nack` (settle) and the republish of
 *   a retry or dead-letter copy (`publish {queue}`), each a child of the delivery's process span and linked to the
 *   creation context. (No separate link to the process span: a link equal to the parent adds nothing, and Jaeger's
 *   OTLP translation merges the two into one FOLLOWS_FROM reference, hiding the parent.)
 * A retry copy arrives through the default exchange; its spans still name the exchange and routing key the event was
 * first published with, so every attempt of one event has one destination. With tracing off these are no-ops and
 * headers pass through untouched. Attributes name destinations and ids only, never event data.
 */

const TRACER_NAME = '@switchyard/messaging';

/** Link attribute saying what a link points at: the message's creation context. */
const LINK_ROLE = 'switchyard.link.role';

/** The broker a span's operation talked to (`server.address`, `server.port`). */
export interface BrokerEndpoint {
  address: string;
  port: number;
}

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

/**
 * `messaging.destination.name` of a publish: `{exchange}:{routing key}`, an empty part left out, `amq.default`
 * when both are empty.
 */
export function publishDestination(exchange: string, routingKey: string): string {
  return [exchange, routingKey].filter((part) => part !== '').join(':') || 'amq.default';
}

/**
 * `messaging.destination.name` of a delivery: `{exchange}:{routing key}:{queue}`, an empty part left out, and the
 * routing key only once when it equals the queue.
 */
export function processDestination(exchange: string, routingKey: string, queue: string): string {
  return [exchange, routingKey === queue ? '' : routingKey, queue].filter((part) => part !== '').join(':');
}

export interface PublishTarget {
  exchange: string;
  routingKey: string;
  messageId: string;
  /** The AMQP `correlationId`: `messaging.message.conversation_id`. */
  correlationId?: string | null | undefined;
  server?: BrokerEndpoint | undefined;
  /** Context stored with the message (the outbox row's), continued by the publish span. */
  traceparent?: string | null | undefined;
  tracestate?: string | null | undefined;
}

/**
 * Runs `publish` in a PRODUCER span continuing the stored context, and hands it the headers to send: the
 * publish span's context (the creation context) when tracing, else the stored one unchanged. The span ends when
 * the publish settles.
 */
export async function tracePublish<T>(
  target: PublishTarget,
  publish: (headers: TraceHeaders) => Promise<T>,
): Promise<T> {
  const stored: TraceHeaders = {};
  if (target.traceparent) stored.traceparent = target.traceparent;
  if (target.tracestate) stored.tracestate = target.tracestate;
  const parent = contextFromTraceHeaders(stored);
  const destination = publishDestination(target.exchange, target.routingKey);
  const span = tracer().startSpan(
    `publish ${destination}`,
    {
      kind: SpanKind.PRODUCER,
      attributes: {
        ...messagingAttributes(destination, 'publish', MESSAGING_OPERATION_TYPE_VALUE_SEND, target.server),
        ...messageAttributes(target.routingKey, target.messageId, target.correlationId),
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
  /** The exchange the event was published to (a retry copy carries it in `x-original-exchange`). */
  exchange: string;
  /** The routing key the event was published with (a retry copy carries it in `x-original-routing-key`). */
  routingKey: string;
  messageId: string | undefined;
  correlationId?: string | undefined;
  /** The delivery tag on the consuming channel. */
  deliveryTag?: number | undefined;
  server?: BrokerEndpoint | undefined;
  headers: Readonly<Record<string, unknown>>;
  /** `x-attempt`: above 1 the message is back from a retry tier. */
  attempt: number;
  /** `x-replayed-at`: the message was replayed from the DLQ. */
  replayedAt: string | undefined;
}

/** The delivery being handled, kept in the context of its process span for the settle and republish spans. */
interface ActiveDelivery {
  target: DeliveryTarget;
  destination: string;
  /** The producer's (creation) context from the message headers, when it had one. */
  creation: SpanContext | undefined;
}

const ACTIVE_DELIVERY = Symbol.for('switchyard.messaging.delivery');

/**
 * Runs the handling of one delivery in a CONSUMER span, child of the producer span in its headers and linked to it
 * (saying which attempt this is, and whether it was replayed). A retried or replayed message keeps that parent, so
 * it stays in the original trace.
 */
export async function traceDelivery<T>(target: DeliveryTarget, handle: () => Promise<T>): Promise<T> {
  const parent = contextFromTraceHeaders(target.headers);
  const creation = trace.getSpanContext(parent);
  const links: Link[] = [];
  if (creation) {
    const attributes: Attributes = { [LINK_ROLE]: 'creation', 'switchyard.delivery.attempt': target.attempt };
    if (target.replayedAt !== undefined) attributes['switchyard.replayed'] = true;
    links.push({ context: creation, attributes });
  }
  const destination = processDestination(target.exchange, target.routingKey, target.queue);
  const attributes: Attributes = {
    ...messagingAttributes(destination, 'process', MESSAGING_OPERATION_TYPE_VALUE_PROCESS, target.server),
    ...messageAttributes(target.routingKey, target.messageId, target.correlationId),
    'switchyard.delivery.attempt': target.attempt,
  };
  if (target.deliveryTag !== undefined) attributes[ATTR_RABBITMQ_MESSAGE_DELIVERY_TAG] = target.deliveryTag;
  const span = tracer().startSpan(`process ${destination}`, { kind: SpanKind.CONSUMER, attributes, links }, parent);
  const active: ActiveDelivery = { target, destination, creation };
  const inSpan = trace.setSpan(parent, span).setValue(ACTIVE_DELIVERY, active);
  return settle(span, () => context.with(inSpan, handle));
}

/**
 * Runs the settlement of the delivery being handled (`ack`, or `nack` to requeue) in a CLIENT settle span, child of
 * its process span and linked to the creation context. Outside a traced delivery it only runs `settleNow`.
 */
export function traceSettle<T>(operation: 'ack' | 'nack', settleNow: () => T): T {
  const active = activeDelivery();
  if (!active) return settleNow();
  const { target, destination } = active;
  const attributes: Attributes = {
    ...messagingAttributes(destination, operation, MESSAGING_OPERATION_TYPE_VALUE_SETTLE, target.server),
    ...messageAttributes(undefined, target.messageId, target.correlationId),
  };
  if (target.deliveryTag !== undefined) attributes[ATTR_RABBITMQ_MESSAGE_DELIVERY_TAG] = target.deliveryTag;
  const span = tracer().startSpan(`${operation} ${destination}`, {
    kind: SpanKind.CLIENT,
    attributes,
    links: deliveryLinks(active),
  });
  try {
    return settleNow();
  } catch (error) {
    markFailed(span, error);
    throw error;
  } finally {
    span.end();
  }
}

/** Why a failed delivery is republished: to a retry tier, or to the dead-letter queue. */
export type RepublishRoute = 'retry' | 'dead_letter';

/**
 * Runs the republish of the delivery being handled to a retry tier or the DLQ in a CLIENT span (`publish {queue}`:
 * the copy goes through the default exchange with the queue as routing key). CLIENT, not PRODUCER: the copy keeps
 * the original creation context in its headers, so this span is not one; it is a child of the delivery's process
 * span and links to that context instead. Outside a traced delivery it only runs `publish`.
 */
export async function traceRepublish<T>(
  route: RepublishRoute,
  queue: string,
  server: BrokerEndpoint | undefined,
  publish: () => Promise<T>,
): Promise<T> {
  const active = activeDelivery();
  if (!active) return publish();
  const { target } = active;
  const destination = publishDestination('', queue);
  const attributes: Attributes = {
    ...messagingAttributes(destination, 'publish', MESSAGING_OPERATION_TYPE_VALUE_SEND, server),
    ...messageAttributes(queue, target.messageId, target.correlationId),
    'switchyard.republish.route': route,
    'switchyard.delivery.attempt': target.attempt,
  };
  const span = tracer().startSpan(`publish ${destination}`, {
    kind: SpanKind.CLIENT,
    attributes,
    links: deliveryLinks(active),
  });
  return settle(span, () => context.with(trace.setSpan(context.active(), span), publish));
}

/**
 * Marks the active delivery span as failed (the handler threw, or the message could not be decoded); the
 * transport settles the message itself, so no exception escapes to end the span with.
 */
export function markDeliveryFailed(errorClass: string, outcome: string): void {
  const span = trace.getActiveSpan();
  if (!span) return;
  span.setAttribute(ATTR_ERROR_TYPE, errorClass);
  span.setAttribute('switchyard.delivery.outcome', outcome);
  span.setStatus({ code: SpanStatusCode.ERROR });
}

function activeDelivery(): ActiveDelivery | undefined {
  return context.active().getValue(ACTIVE_DELIVERY) as ActiveDelivery | undefined;
}

function deliveryLinks(active: ActiveDelivery): Link[] {
  return active.creation ? [{ context: active.creation, attributes: { [LINK_ROLE]: 'creation' } }] : [];
}

function messagingAttributes(
  destination: string,
  operationName: string,
  operationType: string,
  server: BrokerEndpoint | undefined,
): Attributes {
  const attributes: Attributes = {
    [ATTR_MESSAGING_SYSTEM_NAME]: MESSAGING_SYSTEM_NAME_VALUE_RABBITMQ,
    [ATTR_MESSAGING_DESTINATION_NAME]: destination,
    [ATTR_MESSAGING_OPERATION_NAME]: operationName,
    [ATTR_MESSAGING_OPERATION_TYPE]: operationType,
  };
  if (server) {
    attributes[ATTR_SERVER_ADDRESS] = server.address;
    attributes[ATTR_SERVER_PORT] = server.port;
  }
  return attributes;
}

function messageAttributes(
  routingKey: string | undefined,
  messageId: string | undefined,
  correlationId: string | null | undefined,
): Attributes {
  const attributes: Attributes = {};
  if (routingKey) attributes[ATTR_RABBITMQ_DESTINATION_ROUTING_KEY] = routingKey;
  if (messageId) attributes[ATTR_MESSAGING_MESSAGE_ID] = messageId;
  if (correlationId) attributes[ATTR_MESSAGING_MESSAGE_CONVERSATION_ID] = correlationId;
  return attributes;
}

async function settle<T>(span: Span, work: () => Promise<T>): Promise<T> {
  try {
    return await work();
  } catch (error) {
    markFailed(span, error);
    throw error;
  } finally {
    span.end();
  }
}

/** An error escaping the span's work: its class as `error.type`, and the span's status ERROR. */
function markFailed(span: Span, error: unknown): void {
  span.setAttribute(ATTR_ERROR_TYPE, errorType(error));
  span.setStatus({ code: SpanStatusCode.ERROR });
}

/** Only the class: messages of failures may quote event data. */
function errorType(error: unknown): string {
  return error instanceof Error ? error.constructor.name : 'Error';
}

function tracer() {
  return trace.getTracer(TRACER_NAME);
}

/** AMQP header tables may deliver strings as bytes. */
function headerText(value: unknown): string | undefined {
  const text = Buffer.isBuffer(value) ? value.toString('utf8') : value;
  return typeof text === 'string' && text !== '' ? text : undefined;
}
