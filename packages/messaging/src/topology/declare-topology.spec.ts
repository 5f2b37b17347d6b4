import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { createTestVhost, type TestVhost } from '@switchyard/testing';
import amqp, { type ChannelModel } from 'amqplib';
import { listQueues } from '../../test/broker-harness.js';
import { declareTopology } from './declare-topology.js';
import { TopologyConflictError } from '../messaging-errors.js';
import { planConsumerTopology } from './topology-plan.js';

describe('declareTopology', () => {
  let vhost: TestVhost;
  let connection: ChannelModel;
  const plan = planConsumerTopology({
    exchange: 'test.events',
    queue: 'svc.things',
    eventTypes: ['thing.created', 'thing.deleted'],
    retryDelaysMs: [1_000, 30_000],
    deliveryLimit: 7,
  });

  beforeAll(async () => {
    vhost = await createTestVhost('declare');
    connection = await amqp.connect(vhost.url);
  });
  afterAll(async () => {
    await connection?.close();
    await vhost?.drop();
  });

  it('declares the planned queues with exactly their arguments, and declaring again changes nothing', async () => {
    await declareTopology(connection, plan);
    await declareTopology(connection, plan);

    const queues = await listQueues(vhost.name);
    expect(queues.map((queue) => queue.name).sort()).toEqual([
      'svc.things',
      'svc.things.dlq',
      'svc.things.retry.1s',
      'svc.things.retry.30s',
    ]);
    expect(queues.every((queue) => queue.type === 'quorum')).toBe(true);
    const work = queues.find((queue) => queue.name === 'svc.things')!;
    expect(work.arguments).toContain('{"x-delivery-limit",7}');
    expect(work.arguments).toContain('{"x-dead-letter-routing-key","svc.things.dlq"}');
    expect(work.arguments).toContain('{"x-dead-letter-strategy","at-least-once"}');
    const tier = queues.find((queue) => queue.name === 'svc.things.retry.30s')!;
    expect(tier.arguments).toContain('{"x-message-ttl",30000}');
    expect(tier.arguments).toContain('{"x-dead-letter-routing-key","svc.things"}');
  });

  it('binds the work queue so events of each planned type reach it', async () => {
    await declareTopology(connection, plan);
    const channel = await connection.createConfirmChannel();
    await channel.purgeQueue('svc.things');
    channel.publish('test.events', 'thing.deleted', Buffer.from('{}'), { persistent: true });
    channel.publish('test.events', 'thing.other', Buffer.from('{}'), { persistent: true });
    await channel.waitForConfirms();
    const { messageCount } = await channel.checkQueue('svc.things');
    await channel.close();
    expect(messageCount).toBe(1);
  });

  it('names the queue and the differing argument when an existing queue was declared differently', async () => {
    await declareTopology(connection, plan);
    const changed = planConsumerTopology({
      exchange: 'test.events',
      queue: 'svc.things',
      eventTypes: ['thing.created'],
      retryDelaysMs: [1_000, 30_000],
      deliveryLimit: 9,
    });

    const error = await declareTopology(connection, changed).catch((caught: unknown) => caught);

    expect(error).toBeInstanceOf(TopologyConflictError);
    expect(error).toMatchObject({ kind: 'queue', objectName: 'svc.things', argument: 'x-delivery-limit' });
    expect((error as Error).message).toMatch(
      /queue 'svc\.things' already exists with different argument 'x-delivery-limit'/,
    );
    // The failed declare closed only its own channel: the connection still works.
    await expect(declareTopology(connection, plan)).resolves.toBeUndefined();
  });
});
