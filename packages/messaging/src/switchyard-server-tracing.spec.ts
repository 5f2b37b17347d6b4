import 'reflect-metadata';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type { MessageHandler } from '@nestjs/microservices';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { W3CTraceContextPropagator } from '@opentelemetry/core';
import { InMemorySpanExporter, SimpleSpanProcessor, TracerProvider } from '@opentelemetry/sdk-trace';
import { context, propagation, SpanKind, SpanStatusCode, trace } from '@switchyard/telemetry';
import { createTestVhost, type TestVhost, waitFor } from '@switchyard/testing';
import { randomUUID } from 'node:crypto';
import { decodeJson } from '../test/broker-harness.js';
import type { EventContext } from './event-context.js';
import { EventPublisher } from './event-publisher.js';
import { tracePublish } from './message-tracing.js';
import { RabbitMqConnection } from './rabbitmq-connection.js';
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

  it('handles each attempt in a CONSUMER span under the producer span; a retry links back to it', async () => {
    const handledIn: Array<{ attempt: number; spanId: string | undefined }> = [];
    server = new SwitchyardServer({ connection, service: 'tracing-spec', queue: 'tracing.work', exchange: EXCHANGE, retryDelaysMs: [100], decode: decodeJson });
    server.addHandler(
      'thing.traced',
      (async (_data: unknown, ctx: EventContext) => {
        handledIn.push({ attempt: ctx.attempt, spanId: trace.getActiveSpan()?.spanContext().spanId });
        if (ctx.attempt === 1) throw new Error('first attempt fails');
      }) as MessageHandler,
      true,
    );
    await new Promise<void>((resolve, reject) => void server!.listen((error?: unknown) => (error ? reject(error as Error) : resolve())));

    const id = randomUUID();
    await tracePublish({ exchange: EXCHANGE, routingKey: 'thing.traced', messageId: id }, (headers) =>
      publisher.publish(EXCHANGE, 'thing.traced', Buffer.from('{}'), {
        messageId: id,
        type: 'thing.traced',
        contentType: 'application/json',
        headers: { 'ce-id': id, 'ce-type': 'thing.traced', 'ce-source': 'tracing-spec', 'x-event-version': 1, ...headers },
      }),
    );
    await waitFor('the second attempt to succeed', () => handledIn.length === 2 && exporter.getFinishedSpans().filter((s) => s.kind === SpanKind.CONSUMER).length === 2, 10_000);

    const producer = exporter.getFinishedSpans().find((s) => s.kind === SpanKind.PRODUCER)!;
    const [first, second] = exporter.getFinishedSpans().filter((s) => s.kind === SpanKind.CONSUMER);
    for (const consumer of [first!, second!]) {
      expect(consumer.name).toBe('process tracing.work');
      expect(consumer.spanContext().traceId).toBe(producer.spanContext().traceId);
      expect(consumer.parentSpanContext?.spanId).toBe(producer.spanContext().spanId);
      // The retry copy arrives through the default exchange; the span still names the event's routing key.
      expect(consumer.attributes['messaging.rabbitmq.destination.routing_key']).toBe('thing.traced');
      expect(consumer.attributes['messaging.message.id']).toBe(id);
    }
    expect(first!.status.code).toBe(SpanStatusCode.ERROR);
    expect(first!.links).toEqual([]);
    expect(second!.status.code).not.toBe(SpanStatusCode.ERROR);
    expect(second!.attributes['switchyard.delivery.attempt']).toBe(2);
    expect(second!.links.map((link) => [link.context.spanId, link.attributes])).toEqual([[producer.spanContext().spanId, { 'switchyard.delivery.attempt': 2 }]]);
    // The handler ran inside its attempt's span.
    expect(handledIn.map((h) => h.spanId)).toEqual([first!.spanContext().spanId, second!.spanContext().spanId]);
  }, 20_000);
});
