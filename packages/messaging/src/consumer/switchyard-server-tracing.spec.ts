import 'reflect-metadata';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type { MessageHandler } from '@nestjs/microservices';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { W3CTraceContextPropagator } from '@opentelemetry/core';
import { InMemorySpanExporter, SimpleSpanProcessor, TracerProvider } from '@opentelemetry/sdk-trace';
import { context, propagation, SpanKind, SpanStatusCode, trace } from '@switchyard/telemetry';
import { createTestVhost, type TestVhost, waitFor } from '@switchyard/testing';
import { randomUUID } from 'node:crypto';
import { decodeJson } from '../../test/broker-harness.js';
import { deprecatedSemconvKeys } from '../../test/message-tracing-deprecations.js';
import type { EventContext } from './event-context.js';
import { EventPublisher } from '../publishing/event-publisher.js';
import { NonRetriableError } from './failure-routing.js';
import { tracePublish } from '../observability/message-tracing.js';
import { RabbitMqConnection } from '../connection/rabbitmq-connection.js';
import { SwitchyardServer } from './switchyard-server.js';

const EXCHANGE = 'tracing.events';
const exporter = new InMemorySpanExporter();
const provider = new TracerProvider({ spanProcessors: [new SimpleSpanProcessor({ exporter })] });

describe('SwitchyardServer delivery spans', () => {
  let vhost: TestVhost;
  let connection: RabbitMqConnection;
  let publisher: EventPublisher;
  let server: SwitchyardServer | undefined;

  beforeAll(async () => {
    context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable());
    propagation.setGlobalPropagator(new W3CTraceContextPropagator());
    trace.setGlobalTracerProvider(provider);
    vhost = await createTestVhost('tracing');
    connection = new RabbitMqConnection({ url: vhost.url, connectionName: 'tracing-spec' });
    await connection.start();
    publisher = new EventPublisher({ connection, exchanges: [EXCHANGE] });
    await publisher.start();
  });

  afterAll(async () => {
    await server?.close();
    await publisher?.close();
    await connection?.close();
    await vhost?.drop();
    await provider.shutdown();
    trace.disable();
    propagation.disable();
    context.disable();
  }, 20_000);

  it('handles each attempt in a CONSUMER span under the producer span, linked to it, with its ack, retry and dead-letter republish in CLIENT spans under it', async () => {
    const handledIn: Array<{ attempt: number; spanId: string | undefined }> = [];
    server = new SwitchyardServer({
      connection,
      service: 'tracing-spec',
      queue: 'tracing.work',
      exchange: EXCHANGE,
      retryDelaysMs: [100],
      decode: decodeJson,
    });
    server.addHandler(
      'thing.traced',
      (async (_data: unknown, ctx: EventContext) => {
        handledIn.push({ attempt: ctx.attempt, spanId: trace.getActiveSpan()?.spanContext().spanId });
        if (ctx.attempt === 1) throw new Error('first attempt fails');
      }) as MessageHandler,
      true,
    );
    server.addHandler(
      'thing.refused',
      (async () => {
        throw new NonRetriableError('refused');
      }) as MessageHandler,
      true,
    );
    await new Promise<void>(
      (resolve, reject) => void server!.listen((error?: unknown) => (error ? reject(error as Error) : resolve())),
    );

    const publish = (type: string, id: string, correlationId: string) =>
      tracePublish(
        { exchange: EXCHANGE, routingKey: type, messageId: id, correlationId, server: publisher.endpoint },
        (headers) =>
          publisher.publish(EXCHANGE, type, Buffer.from('{}'), {
            messageId: id,
            type,
            correlationId,
            contentType: 'application/json',
            headers: { 'ce-id': id, 'ce-type': type, 'ce-source': 'tracing-spec', 'x-event-version': 1, ...headers },
          }),
      );
    const id = randomUUID();
    const correlationId = randomUUID();
    await publish('thing.traced', id, correlationId);
    const spans = () => exporter.getFinishedSpans().filter((s) => s.attributes['messaging.message.id'] === id);
    await waitFor(
      'the second attempt to succeed and be acked',
      () => handledIn.length === 2 && spans().filter((s) => s.name.startsWith('ack ')).length === 2,
      10_000,
    );

    const destination = `${EXCHANGE}:thing.traced:tracing.work`;
    const producer = spans().find((s) => s.kind === SpanKind.PRODUCER)!;
    expect(producer.name).toBe(`publish ${EXCHANGE}:thing.traced`);
    const [first, second] = spans().filter((s) => s.kind === SpanKind.CONSUMER);
    const broker = { 'server.address': publisher.endpoint.address, 'server.port': publisher.endpoint.port };
    expect(broker['server.address']).toBe(new URL(vhost.url).hostname);
    for (const [consumer, attempt] of [
      [first!, 1],
      [second!, 2],
    ] as const) {
      // The retry copy arrives through the default exchange; the span still names the event's exchange and routing key.
      expect(consumer.name).toBe(`process ${destination}`);
      expect(consumer.spanContext().traceId).toBe(producer.spanContext().traceId);
      expect(consumer.parentSpanContext?.spanId).toBe(producer.spanContext().spanId);
      expect(consumer.attributes).toMatchObject({
        'messaging.system.name': 'rabbitmq',
        'messaging.destination.name': destination,
        'messaging.operation.type': 'process',
        'rabbitmq.destination.routing_key': 'thing.traced',
        'messaging.message.id': id,
        'messaging.message.conversation_id': correlationId,
        'switchyard.delivery.attempt': attempt,
        ...broker,
      });
      expect(typeof consumer.attributes['rabbitmq.message.delivery_tag']).toBe('number');
      // The creation-context link, the first delivery included.
      expect(consumer.links.map((link) => [link.context.spanId, link.attributes])).toEqual([
        [producer.spanContext().spanId, { 'switchyard.link.role': 'creation', 'switchyard.delivery.attempt': attempt }],
      ]);
      // Each attempt acked inside its own process span.
      const ack = spans().find(
        (s) => s.name === `ack ${destination}` && s.parentSpanContext?.spanId === consumer.spanContext().spanId,
      );
      expect(ack?.kind).toBe(SpanKind.CLIENT);
      expect(ack?.attributes).toMatchObject({
        'messaging.operation.type': 'settle',
        'messaging.operation.name': 'ack',
        'rabbitmq.message.delivery_tag': consumer.attributes['rabbitmq.message.delivery_tag'],
      });
    }
    expect(first!.status.code).toBe(SpanStatusCode.ERROR);
    expect(second!.status.code).not.toBe(SpanStatusCode.ERROR);
    // The first attempt's retry copy, published inside its process span and linked to it.
    const retry = spans().find((s) => s.name === 'publish tracing.work.retry.100ms')!;
    expect(retry).toBeDefined();
    expect(retry.kind).toBe(SpanKind.CLIENT);
    expect(retry.parentSpanContext?.spanId).toBe(first!.spanContext().spanId);
    expect(retry.attributes).toMatchObject({
      'messaging.destination.name': 'tracing.work.retry.100ms',
      'messaging.operation.type': 'send',
      'switchyard.republish.route': 'retry',
      ...broker,
    });
    expect(retry.links.map((link) => link.context.spanId)).toEqual([producer.spanContext().spanId]);
    // The handler ran inside its attempt's span.
    expect(handledIn.map((h) => h.spanId)).toEqual([first!.spanContext().spanId, second!.spanContext().spanId]);

    // A non-retriable failure: its dead-letter copy is published in a span of its own, then the delivery is acked.
    const refusedId = randomUUID();
    await publish('thing.refused', refusedId, correlationId);
    const refused = () => exporter.getFinishedSpans().filter((s) => s.attributes['messaging.message.id'] === refusedId);
    await waitFor(
      'the refused event to be dead-lettered and acked',
      () => refused().some((s) => s.name.startsWith('ack ')),
      10_000,
    );
    const refusedProcess = refused().find((s) => s.kind === SpanKind.CONSUMER)!;
    const deadLetter = refused().find((s) => s.name === 'publish tracing.work.dlq')!;
    expect(deadLetter.parentSpanContext?.spanId).toBe(refusedProcess.spanContext().spanId);
    expect(deadLetter.attributes).toMatchObject({
      'switchyard.republish.route': 'dead_letter',
      'messaging.operation.type': 'send',
    });
    expect(deadLetter.links.map((link) => link.attributes?.['switchyard.link.role'])).toEqual(['creation']);

    const deprecated = deprecatedSemconvKeys();
    expect(
      exporter
        .getFinishedSpans()
        .flatMap((span) => Object.keys(span.attributes))
        .filter((key) => deprecated.has(key)),
    ).toEqual([]);
  }, 20_000);
});
