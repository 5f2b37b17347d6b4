import { afterAll, beforeAll, beforeEach, describe, expect, it } from '@jest/globals';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { W3CTraceContextPropagator } from '@opentelemetry/core';
import { InMemorySpanExporter, type ReadableSpan, SimpleSpanProcessor, TracerProvider } from '@opentelemetry/sdk-trace';
import { UserDeletedV1 } from '@switchyard/contracts';
import { context, propagation, SpanKind, SpanStatusCode, trace } from '@switchyard/telemetry';
import { randomUUID } from 'node:crypto';
import { activeTraceHeaders, contextFromTraceHeaders, markDeliveryFailed, traceDelivery, tracePublish } from './message-tracing.js';
import { addToOutbox } from './outbox.js';
import type { SqlTransaction } from './sql-transaction.js';

const exporter = new InMemorySpanExporter();
const provider = new TracerProvider({ spanProcessors: [new SimpleSpanProcessor({ exporter })] });
const contextManager = new AsyncLocalStorageContextManager();
const tracer = () => trace.getTracer('test');
const TRACEPARENT = /^00-([0-9a-f]{32})-([0-9a-f]{16})-01$/;

beforeAll(() => {
  context.setGlobalContextManager(contextManager.enable());
  propagation.setGlobalPropagator(new W3CTraceContextPropagator());
  trace.setGlobalTracerProvider(provider);
});

afterAll(async () => {
  await provider.shutdown();
  trace.disable();
  propagation.disable();
  context.disable();
});

beforeEach(() => exporter.reset());

function finished(name: string): ReadableSpan {
  const span = exporter.getFinishedSpans().find((s) => s.name === name);
  if (!span) throw new Error(`no finished span '${name}' among ${exporter.getFinishedSpans().map((s) => s.name).join(', ')}`);
  return span;
}

/** Records what addToOutbox writes instead of talking to a database. */
function recordingTx(): SqlTransaction & { inserts: unknown[][] } {
  const inserts: unknown[][] = [];
  return {
    inserts,
    $executeRawUnsafe: async (sql: string, ...values: unknown[]) => {
      if (sql.includes('INSERT INTO outbox_events')) inserts.push(values);
      return 1;
    },
  };
}

describe('W3C trace context in headers', () => {
  it('round-trips the active span through traceparent/tracestate', () => {
    const span = tracer().startSpan('request');
    const headers = context.with(trace.setSpan(context.active(), span), () => activeTraceHeaders());
    span.end();
    const [, traceId, spanId] = TRACEPARENT.exec(headers.traceparent ?? '') ?? [];
    expect(traceId).toBe(span.spanContext().traceId);
    expect(spanId).toBe(span.spanContext().spanId);

    const extracted = trace.getSpanContext(contextFromTraceHeaders({ ...headers, tracestate: 'vendor=1' }));
    expect(extracted).toMatchObject({ traceId, spanId, isRemote: true });
    expect(extracted?.traceState?.get('vendor')).toBe('1');
  });

  it('reads headers delivered as bytes, and ignores malformed ones', () => {
    const traceparent = `00-${'a'.repeat(32)}-${'b'.repeat(16)}-01`;
    expect(trace.getSpanContext(contextFromTraceHeaders({ traceparent: Buffer.from(traceparent) }))?.spanId).toBe('b'.repeat(16));
    expect(trace.getSpanContext(contextFromTraceHeaders({ traceparent: 'garbage' }))).toBeUndefined();
    expect(trace.getSpanContext(contextFromTraceHeaders({}))).toBeUndefined();
  });

  it('has nothing to inject outside a span', () => {
    expect(activeTraceHeaders()).toEqual({});
  });
});

describe('addToOutbox', () => {
  const data = () => ({ userId: randomUUID(), occurredAt: new Date().toISOString() });

  it('stores the active context on the row', async () => {
    const tx = recordingTx();
    const span = tracer().startSpan('POST /users');
    await context.with(trace.setSpan(context.active(), span), () => addToOutbox(tx, UserDeletedV1, data()));
    span.end();
    const [traceparent, tracestate] = tx.inserts[0]!.slice(5);
    expect(traceparent).toBe(`00-${span.spanContext().traceId}-${span.spanContext().spanId}-01`);
    expect(tracestate).toBeNull();
  });

  it('keeps a context the caller passed, and stores none when nothing is traced', async () => {
    const tx = recordingTx();
    const traceparent = `00-${'1'.repeat(32)}-${'2'.repeat(16)}-01`;
    const span = tracer().startSpan('other');
    await context.with(trace.setSpan(context.active(), span), () => addToOutbox(tx, UserDeletedV1, data(), { traceparent, tracestate: 'k=v' }));
    span.end();
    await addToOutbox(tx, UserDeletedV1, data());
    expect(tx.inserts[0]!.slice(5)).toEqual([traceparent, 'k=v']);
    expect(tx.inserts[1]!.slice(5)).toEqual([null, null]);
  });
});

describe('publish and delivery spans', () => {
  it('continues the stored context in a PRODUCER span, and a delivery of its headers in a CONSUMER child span', async () => {
    const request = tracer().startSpan('POST /users');
    const stored = context.with(trace.setSpan(context.active(), request), () => activeTraceHeaders());
    request.end();
    const messageId = randomUUID();

    const sent = await tracePublish({ exchange: 'switchyard.events', routingKey: 'user.created', messageId, ...stored }, async (headers) => headers);
    const producer = finished('publish switchyard.events');
    expect(producer.kind).toBe(SpanKind.PRODUCER);
    expect(producer.spanContext().traceId).toBe(request.spanContext().traceId);
    expect(producer.parentSpanContext?.spanId).toBe(request.spanContext().spanId);
    expect(producer.attributes).toEqual({
      'messaging.system': 'rabbitmq',
      'messaging.destination.name': 'switchyard.events',
      'messaging.message.id': messageId,
      'messaging.operation.name': 'publish',
      'messaging.operation.type': 'send',
      'messaging.rabbitmq.destination.routing_key': 'user.created',
    });
    // What goes on the wire is the producer span's context, not the request's.
    expect(sent.traceparent).toBe(`00-${producer.spanContext().traceId}-${producer.spanContext().spanId}-01`);

    let activeInHandler: string | undefined;
    await traceDelivery({ queue: 'order-service.user-events', routingKey: 'user.created', messageId, headers: { ...sent }, attempt: 1, replayedAt: undefined }, async () => {
      activeInHandler = trace.getActiveSpan()?.spanContext().spanId;
    });
    const consumer = finished('process order-service.user-events');
    expect(consumer.kind).toBe(SpanKind.CONSUMER);
    expect(consumer.spanContext().traceId).toBe(request.spanContext().traceId);
    expect(consumer.parentSpanContext).toMatchObject({ spanId: producer.spanContext().spanId, isRemote: true });
    expect(consumer.links).toEqual([]);
    expect(consumer.attributes).toMatchObject({
      'messaging.system': 'rabbitmq',
      'messaging.destination.name': 'order-service.user-events',
      'messaging.operation.type': 'process',
      'messaging.rabbitmq.destination.routing_key': 'user.created',
      'messaging.message.id': messageId,
    });
    expect(activeInHandler).toBe(consumer.spanContext().spanId);
  });

  it('keeps a retried or replayed message in its original trace and links it to the producer', async () => {
    const producerId = '3'.repeat(16);
    const headers = { traceparent: `00-${'4'.repeat(32)}-${producerId}-01` };
    await traceDelivery({ queue: 'q', routingKey: 'user.created', messageId: undefined, headers, attempt: 3, replayedAt: undefined }, async () => undefined);
    await traceDelivery({ queue: 'q', routingKey: 'user.created', messageId: undefined, headers, attempt: 1, replayedAt: new Date().toISOString() }, async () => undefined);
    const [retried, replayed] = exporter.getFinishedSpans();
    for (const span of [retried!, replayed!]) {
      expect(span.spanContext().traceId).toBe('4'.repeat(32));
      expect(span.parentSpanContext?.spanId).toBe(producerId);
      expect(span.links).toHaveLength(1);
      expect(span.links[0]!.context.spanId).toBe(producerId);
    }
    expect(retried!.links[0]!.attributes).toEqual({ 'switchyard.delivery.attempt': 3 });
    expect(replayed!.links[0]!.attributes).toEqual({ 'switchyard.delivery.attempt': 1, 'switchyard.replayed': true });
  });

  it('starts a new trace for a message without context, and records failures without their messages', async () => {
    await traceDelivery({ queue: 'q', routingKey: 'k', messageId: undefined, headers: {}, attempt: 1, replayedAt: undefined }, async () => markDeliveryFailed('SchemaError', 'schema_invalid'));
    await expect(tracePublish({ exchange: 'x', routingKey: 'k', messageId: 'm' }, async () => Promise.reject(new TypeError('secret@example.com')))).rejects.toThrow(TypeError);
    const [consumer, producer] = exporter.getFinishedSpans();
    expect(consumer!.parentSpanContext).toBeUndefined();
    expect(consumer!.status.code).toBe(SpanStatusCode.ERROR);
    expect(consumer!.attributes).toMatchObject({ 'error.type': 'SchemaError', 'switchyard.delivery.outcome': 'schema_invalid' });
    expect(producer!.status).toEqual({ code: SpanStatusCode.ERROR });
    expect(producer!.attributes['error.type']).toBe('TypeError');
    expect(JSON.stringify([producer!.attributes, producer!.events])).not.toContain('secret@example.com');
  });
});
