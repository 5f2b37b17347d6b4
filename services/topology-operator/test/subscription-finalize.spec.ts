// finalizeSubscription against the real RabbitMQ (a fresh vhost): Retain, Delete, and queues that still hold messages.
import { afterAll, beforeAll, describe, expect, it, jest } from '@jest/globals';
import { retryQueueName } from '@switchyard/messaging/topology';
import type { EventSubscription, EventSubscriptionSpec } from '../src/api/v1alpha1/index.js';
import {
  finalizeSubscription,
  LeadershipLostError,
  reconcileSubscription,
} from '../src/subscription/reconcile-subscription.js';
import {
  startTestBroker,
  subscriptionOf,
  type TestBroker,
  uniqueQueue,
  withMetadata,
} from './subscription-fixtures.js';
import { waitFor } from '@switchyard/testing';

const EXCHANGE = 'switchyard.events';
let broker: TestBroker;
// Quorum queues are declared and deleted through Raft: on a loaded machine that takes seconds, not milliseconds.
jest.setTimeout(60_000);

beforeAll(async () => {
  broker = await startTestBroker('h3_finalize');
}, 120_000);
afterAll(async () => {
  await broker?.close();
}, 120_000);

/** A subscription whose topology is on the broker (two tiers), as it looks when it is being deleted. */
async function appliedSubscription(
  label: string,
  spec: Partial<EventSubscriptionSpec> = {},
): Promise<{ subscription: EventSubscription; queue: string; names: string[] }> {
  const queue = uniqueQueue(label);
  const subscription = subscriptionOf({ queue, retry: { maxAttempts: 3, backoff: { delays: ['1s', '1h'] } }, ...spec });
  const outcome = await reconcileSubscription(subscription, broker.connection);
  expect(outcome.status.appliedTopology).toBeDefined();
  const names = [queue, retryQueueName(queue, 1_000), retryQueueName(queue, 3_600_000), `${queue}.dlq`];
  return {
    subscription: {
      ...subscription,
      metadata: { ...subscription.metadata, deletionTimestamp: '2026-11-27T09:00:00Z' },
      status: outcome.status,
    },
    queue,
    names,
  };
}
const exists = async (names: string[]) =>
  Promise.all(names.map(async (name) => [name, (await broker.queueState(name)) !== undefined]));

describe('finalizeSubscription', () => {
  it('leaves everything on the broker with deletionPolicy Retain (the default)', async () => {
    const { subscription, names } = await appliedSubscription('retain');
    const outcome = await finalizeSubscription(subscription, broker.connection);
    expect(outcome).toMatchObject({ done: true, error: undefined });
    expect(outcome.events).toEqual([expect.objectContaining({ type: 'Normal', reason: 'TopologyRetained' })]);
    expect(await exists(names)).toEqual(names.map((name) => [name, true]));
  });

  it('deletes the work queue, tiers and DLQ with deletionPolicy Delete when they are empty', async () => {
    const { subscription, names } = await appliedSubscription('delete', { deletionPolicy: 'Delete' });
    const outcome = await finalizeSubscription(subscription, broker.connection);
    expect(outcome).toMatchObject({ done: true, error: undefined });
    expect(await exists(names)).toEqual(names.map((name) => [name, false]));
    expect(outcome.events).toEqual([expect.objectContaining({ type: 'Normal', reason: 'TopologyDeleted' })]);
  });

  it('keeps a work queue holding messages and its DLQ (Warning QueuesRetained), deleting the empty tiers and the bindings', async () => {
    const { subscription, queue, names } = await appliedSubscription('non-empty', { deletionPolicy: 'Delete' });
    await broker.publish(EXCHANGE, 'user.created');
    await broker.waitForDepth(queue, 1);

    const outcome = await finalizeSubscription(subscription, broker.connection);
    expect(outcome.done).toBe(true);
    expect(await exists(names)).toEqual([
      [queue, true],
      [names[1], false],
      [names[2], false],
      [`${queue}.dlq`, true],
    ]);
    const warning = outcome.events.find((event) => event.reason === 'QueuesRetained');
    expect(warning).toMatchObject({ type: 'Warning', message: expect.stringContaining(`'${queue}' (1 message(s))`) });
    // Unbound: new events no longer reach the retained queue.
    await broker.publish(EXCHANGE, 'user.created');
    expect(await broker.drain(queue)).toEqual(['user.created']);
    expect(await broker.queueState(queue)).toEqual({ messageCount: 0, consumerCount: 0 });
  });

  it('keeps a tier holding messages together with the work queue and DLQ its messages flow into', async () => {
    const { subscription, queue, names } = await appliedSubscription('tier-busy', { deletionPolicy: 'Delete' });
    await broker.publish('', names[2]!, 'waiting an hour');
    await broker.waitForDepth(names[2]!, 1);

    const outcome = await finalizeSubscription(subscription, broker.connection);
    expect(outcome.done).toBe(true);
    expect(await exists(names)).toEqual([
      [queue, true],
      [names[1], false],
      [names[2], true],
      [`${queue}.dlq`, true],
    ]);
    expect(outcome.events).toContainEqual(expect.objectContaining({ type: 'Warning', reason: 'QueuesRetained' }));
  });

  it('deletes queues with their messages when nonEmptyQueuePolicy is Delete, and says so', async () => {
    const { subscription, queue, names } = await appliedSubscription('force', {
      deletionPolicy: 'Delete',
      nonEmptyQueuePolicy: 'Delete',
    });
    await broker.publish(EXCHANGE, 'user.created');
    await broker.waitForDepth(queue, 1);

    const outcome = await finalizeSubscription(subscription, broker.connection);
    expect(outcome.done).toBe(true);
    expect(await exists(names)).toEqual(names.map((name) => [name, false]));
    expect(outcome.events).toContainEqual(
      expect.objectContaining({
        type: 'Warning',
        reason: 'QueuesDeletedWithMessages',
        message: expect.stringContaining(`'${queue}' (1)`),
      }),
    );
  });

  it('deletes nothing it never declared, even when a queue of that name exists', async () => {
    const queue = uniqueQueue('foreign');
    const channel = await broker.connection.createChannel();
    await channel.assertQueue(queue, { durable: true });
    await channel.close();
    const outcome = await finalizeSubscription(subscriptionOf({ queue, deletionPolicy: 'Delete' }), broker.connection);
    expect(outcome).toMatchObject({ done: true, events: [expect.objectContaining({ reason: 'NothingToDelete' })] });
    expect(await broker.queueState(queue)).toBeDefined();
  });

  it('keeps a work queue whose consumer holds unacknowledged messages (Warning QueuesInUse), though its depth is 0', async () => {
    const { subscription, queue, names } = await appliedSubscription('in-use', { deletionPolicy: 'Delete' });
    for (let i = 0; i < 3; i++) await broker.publish(EXCHANGE, 'user.created');
    const consumer = await broker.connection.createChannel();
    try {
      await consumer.prefetch(10);
      await consumer.consume(queue, () => undefined); // never acks
      // All three delivered and unacked: the depth RabbitMQ reports is 0, only the consumer betrays them.
      await waitFor(
        '3 unacked deliveries',
        async () =>
          JSON.stringify(await broker.queueState(queue)) === JSON.stringify({ messageCount: 0, consumerCount: 1 }),
        20_000,
      );

      const outcome = await finalizeSubscription(subscription, broker.connection);
      expect(outcome).toMatchObject({ done: true, error: undefined });
      expect(await exists(names)).toEqual([
        [queue, true],
        [names[1], false],
        [names[2], false],
        [`${queue}.dlq`, true],
      ]);
      expect(outcome.events).toContainEqual(
        expect.objectContaining({
          type: 'Warning',
          reason: 'QueuesInUse',
          message: expect.stringContaining(`'${queue}' (1 consumer(s))`),
        }),
      );
    } finally {
      await consumer.close();
    }
    // The consumer's messages were not lost with the queue: they are back, ready.
    await broker.waitForDepth(queue, 3);
  });

  it('deletes a queue in use when nonEmptyQueuePolicy is Delete', async () => {
    const { subscription, queue } = await appliedSubscription('in-use-force', {
      deletionPolicy: 'Delete',
      nonEmptyQueuePolicy: 'Delete',
    });
    const consumer = await broker.connection.createChannel();
    consumer.on('error', () => undefined);
    consumer.on('close', () => undefined);
    await consumer.consume(queue, () => undefined);
    const outcome = await finalizeSubscription(subscription, broker.connection);
    expect(outcome).toMatchObject({ done: true, error: undefined });
    expect(await broker.queueState(queue)).toBeUndefined();
    await consumer.close().catch(() => undefined); // the broker cancelled the consumer with the queue
  });

  it('never deletes a dead-letter queue another subscription (another namespace) still uses: Warning QueuesShared', async () => {
    const sharedDlq = `${uniqueQueue('shared')}.errors`;
    const first = await appliedSubscription('share-a', { deletionPolicy: 'Delete', deadLetter: { queue: sharedDlq } });
    const second = await appliedSubscription('share-b', { deadLetter: { queue: sharedDlq } });
    const other = withMetadata(second.subscription, { namespace: 'billing', deletionTimestamp: undefined });

    const outcome = await finalizeSubscription(first.subscription, broker.connection, {
      otherSubscriptions: [first.subscription, other],
    });
    expect(outcome).toMatchObject({ done: true, error: undefined });
    expect(await exists([first.queue, first.names[1]!, sharedDlq])).toEqual([
      [first.queue, false],
      [first.names[1], false],
      [sharedDlq, true],
    ]);
    expect(outcome.events).toContainEqual(
      expect.objectContaining({
        type: 'Warning',
        reason: 'QueuesShared',
        message: expect.stringContaining(`'${sharedDlq}' (also used by billing/${second.queue})`),
      }),
    );
  });

  it('keeps a work queue another subscription claims, and its bindings for the events that one consumes', async () => {
    const { subscription, queue, names } = await appliedSubscription('claimed', {
      deletionPolicy: 'Delete',
      events: [{ type: 'user.created' }, { type: 'user.deleted' }],
    });
    const claimant = withMetadata(subscriptionOf({ queue, events: [{ type: 'user.created' }] }), {
      namespace: 'other',
    });

    const outcome = await finalizeSubscription(subscription, broker.connection, { otherSubscriptions: [claimant] });
    expect(outcome).toMatchObject({ done: true, error: undefined });
    expect(outcome.keepPolicyKey).toBeUndefined(); // another namespace: another ConfigMap
    const sameNamespace = withMetadata(claimant, { namespace: 'test', name: 'second-claim' });
    expect(
      (
        await finalizeSubscription(
          { ...subscription, spec: { ...subscription.spec, deletionPolicy: 'Retain' } },
          broker.connection,
          { otherSubscriptions: [sameNamespace] },
        )
      ).keepPolicyKey,
    ).toBe(true);
    // The other subscription (default retry policy) uses the 1s tier too, not the 1h one.
    expect(await exists(names)).toEqual([
      [queue, true],
      [names[1], true],
      [names[2], false],
      [`${queue}.dlq`, true],
    ]);
    expect(outcome.events).toContainEqual(
      expect.objectContaining({
        type: 'Warning',
        reason: 'QueuesShared',
        message: expect.stringContaining(`'${queue}' (also used by other/${queue})`),
      }),
    );
    await broker.publish(EXCHANGE, 'user.deleted'); // unbound: only this subscription wanted it
    await broker.publish(EXCHANGE, 'user.created'); // still bound for the other one
    await broker.waitForDepth(queue, 1);
    expect(await broker.drain(queue)).toEqual(['user.created']);
  });

  it('touches nothing once this replica no longer leads (fencing), stopping before the first destructive call it is refused', async () => {
    const { subscription, names } = await appliedSubscription('fenced', { deletionPolicy: 'Delete' });
    const refused = await finalizeSubscription(subscription, broker.connection, { isActive: () => false });
    expect(refused).toMatchObject({ done: false, events: [] });
    expect(refused.error).toBeInstanceOf(LeadershipLostError);

    let checks = 0;
    const lostMidway = await finalizeSubscription(subscription, broker.connection, { isActive: () => ++checks <= 1 }); // one unbind, then the lease is gone
    expect(lostMidway.error).toBeInstanceOf(LeadershipLostError);
    expect(checks).toBe(2);
    expect(await exists(names)).toEqual(names.map((name) => [name, true]));
  });
});
