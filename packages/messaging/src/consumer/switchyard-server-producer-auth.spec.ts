import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type { MessageHandler } from '@nestjs/microservices';
import { createTestVhost, type TestVhost, waitFor } from '@switchyard/testing';
import amqp, { type Channel, type ChannelModel } from 'amqplib';
import { randomUUID } from 'node:crypto';
import { decodeJson, RecordingObserver } from '../../test/broker-harness.js';
import { RabbitMqConnection } from '../connection/rabbitmq-connection.js';
import { replayDeadLetters, showDeadLetter } from '../dlq/dlq-admin.js';
import { catalogProducerOf } from '../publishing/event-codec.js';
import { EventPublisher } from '../publishing/event-publisher.js';
import { DEFAULT_EXCHANGE, retryQueueName } from '../topology/topology-plan.js';
import type { EventContext } from './event-context.js';
import { NonRetriableError } from './failure-routing.js';
import { SwitchyardServer } from './switchyard-server.js';

// Producer authentication against the real broker, with the platform's identities: order-service consumes user
// events, user-service produces them, guest (full permissions) plays the privileged injector.
const QUEUE = 'order-service.user-events';
const RETRY_MS = 150;

/** Publishes on a fresh channel and resolves with the broker's verdict: 'confirmed', or the channel's close error. */
async function publishOutcome(
  model: ChannelModel,
  exchange: string,
  routingKey: string,
  properties: amqp.Options.Publish,
): Promise<string> {
  const channel = await model.createConfirmChannel();
  const closed = new Promise<string>((resolve) => channel.once('error', (error: Error) => resolve(error.message)));
  const confirmed = new Promise<string>((resolve) =>
    channel.publish(exchange, routingKey, Buffer.from('{}'), { messageId: randomUUID(), ...properties }, (error) =>
      resolve(error ? 'nacked' : 'confirmed'),
    ),
  );
  const outcome = await Promise.race([closed, confirmed]);
  await channel.close().catch(() => undefined);
  return outcome;
}

/** Resolves with the close error of `operation` on a fresh channel ('ok' if it succeeded). */
async function refusal(model: ChannelModel, operation: (channel: Channel) => Promise<unknown>): Promise<string> {
  const channel = await model.createChannel();
  channel.on('error', () => undefined);
  try {
    await operation(channel);
    await channel.close();
    return 'ok';
  } catch (error) {
    return (error as Error).message;
  }
}

describe('producer authentication under the broker identities', () => {
  let vhost: TestVhost;
  let consuming: RabbitMqConnection;
  let producing: RabbitMqConnection;
  let producer: EventPublisher;
  let guest: ChannelModel;
  let server: SwitchyardServer;
  const observer = new RecordingObserver();
  const handled: EventContext[] = [];
  /** Event ids whose handler fails once (retryable), and ids it rejects as non-retriable until replayed. */
  const failOnce = new Set<string>();
  const rejectUntilReplayed = new Set<string>();

  const userDeleted = (id = randomUUID()) => ({
    messageId: id,
    type: 'user.deleted',
    contentType: 'application/json',
    headers: { 'x-event-version': 1 },
  });

  beforeAll(async () => {
    vhost = await createTestVhost('producer_auth');
    consuming = new RabbitMqConnection({ url: vhost.identityUrl('order-service'), connectionName: 'auth-consumer' });
    producing = new RabbitMqConnection({ url: vhost.identityUrl('user-service'), connectionName: 'auth-producer' });
    await Promise.all([consuming.start(), producing.start()]);
    producer = new EventPublisher({ connection: producing, exchanges: [DEFAULT_EXCHANGE] });
    await producer.start();
    guest = await amqp.connect(vhost.url);
    server = new SwitchyardServer({
      connection: consuming,
      service: 'order-service',
      queue: QUEUE,
      retryDelaysMs: [RETRY_MS],
      decode: decodeJson,
      producerOf: catalogProducerOf,
      observer,
    });
    server.addHandler(
      'user.deleted',
      (async (_data: unknown, ctx: EventContext) => {
        if (failOnce.delete(ctx.eventId)) throw new Error('not yet');
        if (rejectUntilReplayed.has(ctx.eventId) && ctx.headers['x-replayed-at'] === undefined)
          throw new NonRetriableError('rejected until replayed');
        handled.push(ctx);
      }) as MessageHandler,
      true,
    );
    await new Promise<void>(
      (done, fail) => void server.listen((error?: unknown) => (error ? fail(error as Error) : done())),
    );
  }, 30_000);

  afterAll(async () => {
    await server?.close();
    await producer?.close();
    await Promise.all([consuming?.close(), producing?.close(), guest?.close().catch(() => undefined)]);
    await vhost?.drop();
  }, 30_000);

  it('handles an event its catalog producer published (the publisher sets user-id to its connection’s user)', async () => {
    const properties = userDeleted();
    await producer.publish(DEFAULT_EXCHANGE, 'user.deleted', Buffer.from('{}'), properties);
    const ctx = await waitFor('the event to be handled', () => handled.find((c) => c.eventId === properties.messageId));
    expect(ctx.attempt).toBe(1);
  });

  it('refuses order-service’s credentials publishing user.deleted (403, topic permission)', async () => {
    const model = consuming.current()!;
    const outcome = await publishOutcome(model, DEFAULT_EXCHANGE, 'user.deleted', { userId: 'order-service' });
    expect(outcome).toMatch(/403 \(ACCESS-REFUSED\).*topic 'user\.deleted'.*refused for user 'order-service'/);
  });

  it('refuses a forged user-id (406)', async () => {
    const outcome = await publishOutcome(producing.current()!, DEFAULT_EXCHANGE, 'user.deleted', {
      userId: 'order-service',
    });
    expect(outcome).toMatch(/406 \(PRECONDITION-FAILED\).*user_id property set to 'order-service'/);
  });

  it.each([
    ['under its own (validated) identity', { userId: 'guest' }, "user-id 'guest'"],
    ['without a user-id', {}, 'no user-id'],
  ])(
    'dead-letters as forged_producer an event injected through a privileged connection %s',
    async (_case, identity, described) => {
      const properties = { ...userDeleted(), ...identity };
      const before = observer.deadLetters.length;
      expect(await publishOutcome(guest, DEFAULT_EXCHANGE, 'user.deleted', properties)).toBe('confirmed');
      await waitFor('the injected event to be dead-lettered', () => observer.deadLetters.length === before + 1);
      expect(observer.deadLetters[before]).toMatchObject({ queue: QUEUE, reason: 'forged_producer' });
      expect(handled.some((c) => c.eventId === properties.messageId)).toBe(false);
      const letter = await showDeadLetter(guest, QUEUE, properties.messageId);
      expect(letter).toMatchObject({
        reason: 'forged_producer',
        errorMessage: `user.deleted is published by 'user-service' only; this one came with ${described}`,
      });
    },
  );

  it('dead-letters as forged_header an event whose producer set x-original-user-id, which only the transport writes', async () => {
    const properties = { ...userDeleted(), headers: { 'x-event-version': 1, 'x-original-user-id': 'user-service' } };
    const before = observer.deadLetters.length;
    await producer.publish(DEFAULT_EXCHANGE, 'user.deleted', Buffer.from('{}'), properties);
    await waitFor('the event to be dead-lettered', () => observer.deadLetters.length === before + 1);
    expect(observer.deadLetters[before]).toMatchObject({ reason: 'forged_header' });
    expect(handled.some((c) => c.eventId === properties.messageId)).toBe(false);
  });

  it('takes its own retry copy back (under its own user-id) and keeps the producer’s identity on it', async () => {
    const properties = userDeleted();
    failOnce.add(properties.messageId);
    await producer.publish(DEFAULT_EXCHANGE, 'user.deleted', Buffer.from('{}'), properties);
    const ctx = await waitFor('the retried event to be handled', () =>
      handled.find((c) => c.eventId === properties.messageId),
    );
    expect(ctx.attempt).toBe(2);
    expect(ctx.headers['x-original-user-id']).toBe('user-service');
  });

  it('dead-letters as forged_producer a “retry copy” another identity put into its retry tier', async () => {
    // The operator may write to amq.default (it declares queues that dead-letter through it), so it can reach the
    // tier; the copy then carries the operator's validated user-id, not the consumer's own.
    const operator = await amqp.connect(vhost.identityUrl('switchyard-operator'));
    try {
      const properties = { ...userDeleted(), userId: 'switchyard-operator' };
      const before = observer.deadLetters.length;
      const tier = retryQueueName(QUEUE, RETRY_MS);
      expect(await publishOutcome(operator, '', tier, properties)).toBe('confirmed');
      await waitFor('the planted copy to be dead-lettered', () => observer.deadLetters.length === before + 1);
      expect(observer.deadLetters[before]).toMatchObject({ reason: 'forged_producer' });
      expect(handled.some((c) => c.eventId === properties.messageId)).toBe(false);
    } finally {
      await operator.close();
    }
  });

  it('replays a dead letter as switchyard-dlq under the recorded producer’s identity, which the consumer accepts', async () => {
    const properties = userDeleted();
    rejectUntilReplayed.add(properties.messageId);
    await producer.publish(DEFAULT_EXCHANGE, 'user.deleted', Buffer.from('{}'), properties);
    await waitFor('the event to be dead-lettered', () =>
      observer.deadLetters.some((letter) => letter.reason === 'non_retriable'),
    );
    const letter = await showDeadLetter(guest, QUEUE, properties.messageId);
    expect(letter!.properties).toMatchObject({ userId: 'order-service' });
    expect(letter!.headers).toMatchObject({ 'x-original-user-id': 'user-service' });

    const dlqTool = await amqp.connect(vhost.identityUrl('switchyard-dlq'));
    try {
      const result = await replayDeadLetters(dlqTool, QUEUE, { ids: [properties.messageId] });
      expect(result).toMatchObject({ replayed: [properties.messageId], failed: [] });
    } finally {
      await dlqTool.close();
    }
    const ctx = await waitFor('the replayed event to be handled', () =>
      handled.find((c) => c.eventId === properties.messageId),
    );
    expect(ctx.headers['x-replayed-at']).toEqual(expect.any(String));
  });

  it('replays a forged event under the forger’s identity, so it is dead-lettered as forged_producer again', async () => {
    const properties = { ...userDeleted(), userId: 'guest' };
    const before = observer.deadLetters.length;
    await publishOutcome(guest, DEFAULT_EXCHANGE, 'user.deleted', properties);
    await waitFor('the forged event to be dead-lettered', () => observer.deadLetters.length === before + 1);
    const dlqTool = await amqp.connect(vhost.identityUrl('switchyard-dlq'));
    try {
      await replayDeadLetters(dlqTool, QUEUE, { ids: [properties.messageId] });
    } finally {
      await dlqTool.close();
    }
    await waitFor('the replay to be dead-lettered again', () => observer.deadLetters.length === before + 2);
    expect(observer.deadLetters[before + 1]).toMatchObject({ reason: 'forged_producer' });
    expect(handled.some((c) => c.eventId === properties.messageId)).toBe(false);
  });

  it('lets no identity read, or configure, another service’s queues, and the operator publish no event', async () => {
    const userService = producing.current()!;
    expect(await refusal(userService, (ch) => ch.get(QUEUE))).toMatch(
      /403 \(ACCESS-REFUSED\).*order-service\.user-events/,
    );
    expect(await refusal(userService, (ch) => ch.consume(`${QUEUE}.dlq`, () => undefined))).toMatch(/403/);
    expect(await refusal(userService, (ch) => ch.deleteQueue(QUEUE))).toMatch(/403/);
    expect(await refusal(userService, (ch) => ch.assertQueue('order-service.stolen'))).toMatch(/403/);
    // Its own queues it may touch.
    expect(await refusal(userService, (ch) => ch.assertQueue('user-service.spec', { durable: false }))).toBe('ok');
    const orderService = consuming.current()!;
    expect(await refusal(orderService, (ch) => ch.get('user-service.spec'))).toMatch(/403/);
    const operator = await amqp.connect(vhost.identityUrl('switchyard-operator'));
    try {
      expect(await publishOutcome(operator, DEFAULT_EXCHANGE, 'user.deleted', {})).toMatch(/403/);
      expect(await refusal(operator, (ch) => ch.assertQueue('elsewhere.queue'))).toMatch(/403/);
    } finally {
      await operator.close();
    }
    const dlqTool = await amqp.connect(vhost.identityUrl('switchyard-dlq'));
    try {
      expect(await refusal(dlqTool, (ch) => ch.deleteQueue(QUEUE))).toMatch(/403/);
      // Replays go through the exchange only: it cannot put anything straight into a queue.
      expect(await publishOutcome(dlqTool, '', QUEUE, {})).toMatch(/403/);
    } finally {
      await dlqTool.close();
    }
  });
});
