import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type { MessageHandler } from '@nestjs/microservices';
import { createTestVhost, type TestVhost, waitFor } from '@switchyard/testing';
import type { Channel } from 'amqplib';
import { randomUUID } from 'node:crypto';
import { decodeJson, publishEvent, RecordingObserver } from '../../test/broker-harness.js';
import { RabbitMqConnection } from '../connection/rabbitmq-connection.js';
import { replayDeadLetters, showDeadLetter } from '../dlq/dlq-admin.js';
import { recordedOrigin } from '../dlq/recorded-origin.js';
import { EventPublisher } from '../publishing/event-publisher.js';
import type { EventContext } from './event-context.js';
import { SwitchyardServer } from './switchyard-server.js';

const EXCHANGE = 'test.events';
const QUEUE = 'spec.origin';

describe('x-original-* headers are the transport’s alone', () => {
  let vhost: TestVhost;
  let connection: RabbitMqConnection;
  let publisher: EventPublisher;
  let server: SwitchyardServer;
  let inspect: Channel;
  const observer = new RecordingObserver();
  let failing = true;
  const handled: EventContext[] = [];

  const publishWith = (headers: Record<string, unknown>, exchange = EXCHANGE, routingKey = 'thing.happened') => {
    const id = randomUUID();
    return publisher
      .publish(exchange, routingKey, Buffer.from(JSON.stringify({ id })), {
        messageId: id,
        type: 'thing.happened',
        contentType: 'application/json',
        headers: { 'x-event-version': 1, ...headers },
      })
      .then(() => id);
  };

  beforeAll(async () => {
    vhost = await createTestVhost('origin');
    connection = new RabbitMqConnection({ url: vhost.url, connectionName: 'origin-spec' });
    await connection.start();
    publisher = new EventPublisher({ connection, exchanges: [EXCHANGE, 'elsewhere'] });
    await publisher.start();
    inspect = await connection.current()!.createChannel();
    await inspect.assertExchange('elsewhere', 'topic', { durable: true });
    await inspect.assertQueue('elsewhere.trap', { durable: true });
    await inspect.bindQueue('elsewhere.trap', 'elsewhere', '#');
    server = new SwitchyardServer({
      connection,
      service: 'origin-spec',
      queue: QUEUE,
      exchange: EXCHANGE,
      retryDelaysMs: [100],
      decode: decodeJson,
      observer,
    });
    server.addHandler(
      'thing.happened',
      (async (_data: unknown, ctx: EventContext) => {
        if (failing && ctx.headers['x-replayed-at'] === undefined) throw new Error('not yet');
        handled.push(ctx);
      }) as MessageHandler,
      true,
    );
    await new Promise<void>(
      (done, fail) => void server.listen((error?: unknown) => (error ? fail(error as Error) : done())),
    );
  }, 20_000);

  afterAll(async () => {
    await server?.close();
    await inspect?.close().catch(() => undefined);
    await publisher?.close();
    await connection?.close();
    await vhost?.drop();
  }, 20_000);

  it('dead-letters a fresh event whose producer set x-original-routing-key as forged_header, recording its real route', async () => {
    const id = await publishWith({ 'x-original-routing-key': 'user.deleted', 'x-original-exchange': 'elsewhere' });
    await waitFor('the forged event to be dead-lettered', () => observer.deadLetters.length === 1);
    expect(observer.deadLetters[0]).toMatchObject({ queue: QUEUE, reason: 'forged_header' });
    expect(observer.retries).toHaveLength(0);
    const letter = await showDeadLetter(connection.current()!, QUEUE, id);
    expect(letter).toMatchObject({
      reason: 'forged_header',
      errorMessage: expect.stringContaining('x-original-routing-key'),
      originalExchange: EXCHANGE,
      originalRoutingKey: 'thing.happened',
    });
    expect(letter!.headers).toMatchObject({
      'x-original-exchange': EXCHANGE,
      'x-original-routing-key': 'thing.happened',
    });

    // Replay follows the transport's record, never the producer's: back to its own route, not to 'elsewhere'.
    const result = await replayDeadLetters(connection.current()!, QUEUE, { ids: [id] });
    expect(result.replayed).toEqual([id]);
    await waitFor('the replayed event to be handled', () => handled.some((ctx) => ctx.eventId === id));
    expect((await inspect.checkQueue('elsewhere.trap')).messageCount).toBe(0);
  });

  it('refuses the same headers on a message put straight into the work queue, which no retry tier sent', async () => {
    const before = observer.deadLetters.length;
    await inspect.sendToQueue(QUEUE, Buffer.from('{}'), {
      messageId: randomUUID(),
      type: 'thing.happened',
      headers: { 'x-original-exchange': 'elsewhere', 'x-attempt': 2 },
    });
    await waitFor('the injected message to be dead-lettered', () => observer.deadLetters.length === before + 1);
    expect(observer.deadLetters[before]).toMatchObject({ reason: 'forged_header' });
  });

  it('keeps the route a retry copy carries through retry → DLQ → replay', async () => {
    const id = await publishEvent(publisher, EXCHANGE, 'thing.happened', { n: 1 });
    await waitFor('one retry', () => observer.retries.some((retry) => retry.queue === QUEUE));
    const dead = await waitFor('the retried event to be dead-lettered', () =>
      observer.deadLetters.find((letter) => letter.reason === 'retries_exhausted'),
    );
    expect(dead.queue).toBe(QUEUE);
    const letter = await showDeadLetter(connection.current()!, QUEUE, id);
    expect(letter).toMatchObject({ attempts: 2, originalExchange: EXCHANGE, originalRoutingKey: 'thing.happened' });

    const result = await replayDeadLetters(connection.current()!, QUEUE, { ids: [id] });
    expect(result.replayed).toEqual([id]);
    const ctx = await waitFor('the replayed event to be handled', () => handled.find((c) => c.eventId === id));
    expect(ctx.attempt).toBe(1);
    failing = false;
  });
});

describe('recordedOrigin', () => {
  it('ignores x-original-* on a message the broker dead-lettered straight from a producer, using the broker’s record', () => {
    const headers = {
      'x-original-exchange': 'elsewhere',
      'x-original-routing-key': 'user.deleted',
      'x-last-death-reason': 'delivery_limit',
      'x-last-death-queue': 'q',
      'x-last-death-exchange': 'switchyard.events',
      'x-death': [{ queue: 'q', reason: 'delivery_limit', exchange: 'switchyard.events', 'routing-keys': ['a.b'] }],
    };
    expect(recordedOrigin(headers)).toEqual({ exchange: 'switchyard.events', routingKey: 'a.b' });
  });

  it('trusts the transport’s record on its own dead letters and on retry copies the broker dead-lettered', () => {
    const transport = { 'x-original-exchange': 'switchyard.events', 'x-original-routing-key': 'a.b' };
    expect(recordedOrigin(transport)).toEqual({ exchange: 'switchyard.events', routingKey: 'a.b' });
    const retryCopy = { ...transport, 'x-last-death-reason': 'delivery_limit', 'x-last-death-exchange': '' };
    expect(recordedOrigin(retryCopy)).toEqual({ exchange: 'switchyard.events', routingKey: 'a.b' });
  });
});
