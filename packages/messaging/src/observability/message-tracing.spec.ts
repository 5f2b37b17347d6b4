import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from '@jest/globals';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { W3CTraceContextPropagator } from '@opentelemetry/core';
import { InMemorySpanExporter, type ReadableSpan, SimpleSpanProcessor, TracerProvider } from '@opentelemetry/sdk-trace';
import { UserDeletedV1 } from '@switchyard/contracts';
import { context, propagation, SpanKind, SpanStatusCode, trace } from '@switchyard/telemetry';
import { randomUUID } from 'node:crypto';
import { deprecatedSemconvKeys } from '../../test/message-tracing-deprecations.js';
import {
  activeTraceHeaders,
  contextFromTraceHeaders,
  type DeliveryTarget,
  markDeliveryFailed,
  processDestination,
  publishDestination,
  traceDelivery,
  tracePublish,
  traceRepublish,
  traceSettle,
} from './message-tracing.js';
import { addToOutbox } from '../publishing/outbox.js';
import type { SqlTransaction } from '../sql-transaction.js';

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

const BROKER = { address: 'rabbit.example', port: 5672 };
const DEPRECATED = deprecatedSemconvKeys();

/** Every attribute key of every finished span (and of its links) that the installed semantic conventions deprecate. */
function deprecatedKeysUsed(): string[] {
  return exporter
    .getFinishedSpans()
    .flatMap((span) => [
      ...Object.keys(span.attributes),
      ...span.links.flatMap((link) => Object.keys(link.attributes ?? {})),
    ])
    .filter((key) => DEPRECATED.has(key));
}

function delivery(overrides: Partial<DeliveryTarget> = {}): DeliveryTarget {
  return {
    queue: 'q',
    exchange: 'switchyard.events',
    routingKey: 'user.created',
    messageId: undefined,
    headers: {},
    attempt: 1,
    replayedAt: undefined,
    ...overrides,
  };
}

function finished(name: string): ReadableSpan {
  const span = exporter.getFinishedSpans().find((s) => s.name === name);
  if (!span)
    throw new Error(
      `no finished span '${name}' among ${exporter
        .getFinishedSpans()
        .map((s) => s.name)
        .join(', ')}`,
    );
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
    $queryRawUnsafe: () => Promise.reject(new Error('addToOutbox only writes')),
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
    expect(trace.getSpanContext(contextFromTraceHeaders({ traceparent: Buffer.from(traceparent) }))?.spanId).toBe(
      'b'.repeat(16),
    );
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
    const [traceparent, tracestate] = tx.inserts[0]!.slice(5, 7);
    expect(traceparent).toBe(`00-${span.spanContext().traceId}-${span.spanContext().spanId}-01`);
    expect(tracestate).toBeNull();
  });

  it('keeps a context the caller passed, and stores none when nothing is traced', async () => {
    const tx = recordingTx();
    const traceparent = `00-${'1'.repeat(32)}-${'2'.repeat(16)}-01`;
    const span = tracer().startSpan('other');
    await context.with(trace.setSpan(context.active(), span), () =>
      addToOutbox(tx, UserDeletedV1, data(), { traceparent, tracestate: 'k=v' }),
    );
    span.end();
    await addToOutbox(tx, UserDeletedV1, data());
    expect(tx.inserts[0]!.slice(5, 7)).toEqual([traceparent, 'k=v']);
    expect(tx.inserts[1]!.slice(5, 7)).toEqual([null, null]);
  });
});

describe('destination names', () => {
  it('names a publish {exchange}:{routing key} and a delivery {exchange}:{routing key}:{queue}, leaving empty parts out', () => {
    expect(publishDestination('switchyard.events', 'user.created')).toBe('switchyard.events:user.created');
    expect(publishDestination('', 'order-service.user-events.retry.1s')).toBe('order-service.user-events.retry.1s');
    expect(publishDestination('logs', '')).toBe('logs');
    expect(publishDestination('', '')).toBe('amq.default');
    expect(processDestination('switchyard.events', 'user.created', 'order-service.user-events')).toBe(
      'switchyard.events:user.created:order-service.user-events',
    );
    expect(processDestination('', 'order-service.user-events', 'order-service.user-events')).toBe(
      'order-service.user-events',
    );
    expect(processDestination('switchyard.events', '', 'q')).toBe('switchyard.events:q');
  });

  it('knows which keys the installed semantic conventions deprecate', () => {
    // Guards the check below: these are deprecated in @opentelemetry/semantic-conventions 1.45.
    expect([...DEPRECATED]).toEqual(
      expect.arrayContaining([
        'messaging.system',
        'messaging.rabbitmq.destination.routing_key',
        'messaging.rabbitmq.message.delivery_tag',
        'messaging.operation',
      ]),
    );
  });
});

describe('publish, delivery, settle and republish spans', () => {
  afterEach(() => expect(deprecatedKeysUsed()).toEqual([]));

  it('continues the stored context in a PRODUCER span, and a delivery of its headers in a CONSUMER child span linked to it', async () => {
    const request = tracer().startSpan('POST /users');
    const stored = context.with(trace.setSpan(context.active(), request), () => activeTraceHeaders());
    request.end();
    const messageId = randomUUID();
    const correlationId = randomUUID();

    const sent = await tracePublish(
      {
        exchange: 'switchyard.events',
        routingKey: 'user.created',
        messageId,
        correlationId,
        server: BROKER,
        ...stored,
      },
      async (headers) => headers,
    );
    const producer = finished('publish switchyard.events:user.created');
    expect(producer.kind).toBe(SpanKind.PRODUCER);
    expect(producer.spanContext().traceId).toBe(request.spanContext().traceId);
    expect(producer.parentSpanContext?.spanId).toBe(request.spanContext().spanId);
    expect(producer.attributes).toEqual({
      'messaging.system.name': 'rabbitmq',
      'messaging.destination.name': 'switchyard.events:user.created',
      'messaging.operation.name': 'publish',
      'messaging.operation.type': 'send',
      'rabbitmq.destination.routing_key': 'user.created',
      'messaging.message.id': messageId,
      'messaging.message.conversation_id': correlationId,
      'server.address': 'rabbit.example',
      'server.port': 5672,
    });
    // What goes on the wire is the producer span's context (the creation context), not the request's.
    expect(sent.traceparent).toBe(`00-${producer.spanContext().traceId}-${producer.spanContext().spanId}-01`);

    let activeInHandler: string | undefined;
    const target = delivery({
      queue: 'order-service.user-events',
      messageId,
      correlationId,
      deliveryTag: 7,
      server: BROKER,
      headers: { ...sent },
    });
    await traceDelivery(target, async () => {
      activeInHandler = trace.getActiveSpan()?.spanContext().spanId;
    });
    const consumer = finished('process switchyard.events:user.created:order-service.user-events');
    expect(consumer.kind).toBe(SpanKind.CONSUMER);
    expect(consumer.spanContext().traceId).toBe(request.spanContext().traceId);
    expect(consumer.parentSpanContext).toMatchObject({ spanId: producer.spanContext().spanId, isRemote: true });
    // The creation-context link, on the first delivery too.
    expect(consumer.links.map((link) => [link.context.spanId, link.attributes])).toEqual([
      [producer.spanContext().spanId, { 'switchyard.link.role': 'creation', 'switchyard.delivery.attempt': 1 }],
    ]);
    expect(consumer.attributes).toEqual({
      'messaging.system.name': 'rabbitmq',
      'messaging.destination.name': 'switchyard.events:user.created:order-service.user-events',
      'messaging.operation.name': 'process',
      'messaging.operation.type': 'process',
      'rabbitmq.destination.routing_key': 'user.created',
      'rabbitmq.message.delivery_tag': 7,
      'messaging.message.id': messageId,
      'messaging.message.conversation_id': correlationId,
      'server.address': 'rabbit.example',
      'server.port': 5672,
      'switchyard.delivery.attempt': 1,
    });
    expect(activeInHandler).toBe(consumer.spanContext().spanId);
  });

  it('keeps a retried or replayed message in its original trace and links it to the producer', async () => {
    const producerId = '3'.repeat(16);
    const headers = { traceparent: `00-${'4'.repeat(32)}-${producerId}-01` };
    await traceDelivery(delivery({ headers, attempt: 3 }), async () => undefined);
    await traceDelivery(delivery({ headers, replayedAt: new Date().toISOString() }), async () => undefined);
    const [retried, replayed] = exporter.getFinishedSpans();
    for (const span of [retried!, replayed!]) {
      expect(span.spanContext().traceId).toBe('4'.repeat(32));
      expect(span.parentSpanContext?.spanId).toBe(producerId);
      expect(span.links).toHaveLength(1);
      expect(span.links[0]!.context.spanId).toBe(producerId);
    }
    expect(retried!.links[0]!.attributes).toEqual({
      'switchyard.link.role': 'creation',
      'switchyard.delivery.attempt': 3,
    });
    expect(replayed!.links[0]!.attributes).toEqual({
      'switchyard.link.role': 'creation',
      'switchyard.delivery.attempt': 1,
      'switchyard.replayed': true,
    });
  });

  it('settles a delivery in an ack or nack CLIENT span under its process span, linked to the creation context', async () => {
    const producerId = '5'.repeat(16);
    const headers = { traceparent: `00-${'6'.repeat(32)}-${producerId}-01` };
    const target = delivery({
      queue: 'work',
      messageId: 'm-1',
      correlationId: 'c-1',
      deliveryTag: 42,
      server: BROKER,
      headers,
    });
    await traceDelivery(target, async () => traceSettle('ack', () => undefined));
    await traceDelivery({ ...target, deliveryTag: 43 }, async () => traceSettle('nack', () => undefined));
    const ack = finished('ack switchyard.events:user.created:work');
    const nack = finished('nack switchyard.events:user.created:work');
    const [firstProcess, secondProcess] = exporter.getFinishedSpans().filter((span) => span.kind === SpanKind.CONSUMER);
    for (const [settle, process, tag] of [
      [ack, firstProcess!, 42],
      [nack, secondProcess!, 43],
    ] as const) {
      expect(settle.kind).toBe(SpanKind.CLIENT);
      expect(settle.parentSpanContext?.spanId).toBe(process.spanContext().spanId);
      expect(settle.attributes).toEqual({
        'messaging.system.name': 'rabbitmq',
        'messaging.destination.name': 'switchyard.events:user.created:work',
        'messaging.operation.name': settle.name.split(' ')[0],
        'messaging.operation.type': 'settle',
        'rabbitmq.message.delivery_tag': tag,
        'messaging.message.id': 'm-1',
        'messaging.message.conversation_id': 'c-1',
        'server.address': 'rabbit.example',
        'server.port': 5672,
      });
      expect(settle.links.map((link) => [link.context.spanId, link.attributes])).toEqual([
        [producerId, { 'switchyard.link.role': 'creation' }],
      ]);
    }
  });

  it('republishes a retry or dead-letter copy in a CLIENT publish span under the delivery, linked to the creation context, and records a failed one', async () => {
    const producerId = '7'.repeat(16);
    const headers = { traceparent: `00-${'8'.repeat(32)}-${producerId}-01` };
    await traceDelivery(delivery({ queue: 'work', messageId: 'm-2', attempt: 2, headers }), async () => {
      await traceRepublish('retry', 'work.retry.5s', BROKER, async () => undefined);
      await expect(
        traceRepublish('dead_letter', 'work.dlq', BROKER, async () => Promise.reject(new RangeError('copy nacked'))),
      ).rejects.toThrow(RangeError);
    });
    const process = finished('process switchyard.events:user.created:work');
    const retry = finished('publish work.retry.5s');
    const deadLetter = finished('publish work.dlq');
    for (const [span, queue, route] of [
      [retry, 'work.retry.5s', 'retry'],
      [deadLetter, 'work.dlq', 'dead_letter'],
    ] as const) {
      expect(span.kind).toBe(SpanKind.CLIENT);
      expect(span.spanContext().traceId).toBe('8'.repeat(32));
      expect(span.parentSpanContext?.spanId).toBe(process.spanContext().spanId);
      expect(span.attributes).toMatchObject({
        'messaging.system.name': 'rabbitmq',
        'messaging.destination.name': queue,
        'messaging.operation.name': 'publish',
        'messaging.operation.type': 'send',
        'rabbitmq.destination.routing_key': queue,
        'messaging.message.id': 'm-2',
        'server.address': 'rabbit.example',
        'server.port': 5672,
        'switchyard.republish.route': route,
        'switchyard.delivery.attempt': 2,
      });
      expect(span.links.map((link) => [link.context.spanId, link.attributes])).toEqual([
        [producerId, { 'switchyard.link.role': 'creation' }],
      ]);
    }
    expect(retry.status.code).not.toBe(SpanStatusCode.ERROR);
    expect(deadLetter.status.code).toBe(SpanStatusCode.ERROR);
    expect(deadLetter.attributes['error.type']).toBe('RangeError');
  });

  it('starts a new trace for a message without context, and records failures without their messages', async () => {
    await traceDelivery(delivery({ routingKey: 'k' }), async () => markDeliveryFailed('SchemaError', 'schema_invalid'));
    await expect(
      tracePublish({ exchange: 'x', routingKey: 'k', messageId: 'm' }, async () =>
        Promise.reject(new TypeError('secret@example.com')),
      ),
    ).rejects.toThrow(TypeError);
    const [consumer, producer] = exporter.getFinishedSpans();
    expect(consumer!.parentSpanContext).toBeUndefined();
    expect(consumer!.links).toEqual([]);
    expect(consumer!.status.code).toBe(SpanStatusCode.ERROR);
    expect(consumer!.attributes).toMatchObject({
      'error.type': 'SchemaError',
      'switchyard.delivery.outcome': 'schema_invalid',
    });
    expect(producer!.status).toEqual({ code: SpanStatusCode.ERROR });
    expect(producer!.attributes['error.type']).toBe('TypeError');
    expect(JSON.stringify([producer!.attributes, producer!.events])).not.toContain('secret@example.com');
  });

  it('settles and republishes without spans outside a traced delivery', async () => {
    expect(traceSettle('ack', () => 1)).toBe(1);
    await expect(traceRepublish('retry', 'q.retry.1s', BROKER, async () => 2)).resolves.toBe(2);
    expect(exporter.getFinishedSpans()).toEqual([]);
  });
});
