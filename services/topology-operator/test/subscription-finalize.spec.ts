// finalizeSubscription against the real RabbitMQ (a fresh vhost): Retain, Delete, and queues that still hold messages.
import { afterAll, beforeAll, describe, expect, it, jest } from '@jest/globals';
import { retryQueueName } from '@switchyard/messaging';
import type { EventSubscription, EventSubscriptionSpec } from '../src/subscription/event-subscription.js';
import { finalizeSubscription, reconcileSubscription } from '../src/subscription/reconcile-subscription.js';
import { startTestBroker, subscriptionOf, type TestBroker, uniqueQueue } from './subscription-fixtures.js';

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
async function appliedSubscription(label: string, spec: Partial<EventSubscriptionSpec> = {}): Promise<{ subscription: EventSubscription; queue: string; names: string[] }> {
  const queue = uniqueQueue(label);
  const subscription = subscriptionOf({ queue, retry: { maxAttempts: 3, backoff: { delays: ['1s', '1h'] } }, ...spec });
  const outcome = await reconcileSubscription(subscription, broker.connection);
  expect(outcome.status.appliedTopology).toBeDefined();
  const names = [queue, retryQueueName(queue, 1_000), retryQueueName(queue, 3_600_000), `${queue}.dlq`];
  return { subscription: { ...subscription, metadata: { ...subscription.metadata, deletionTimestamp: '2026-11-27T09:00:00Z' }, status: outcome.status }, queue, names };
}
const exists = async (names: string[]) => Promise.all(names.map(async (name) => [name, (await broker.queueState(name)) !== undefined]));

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
    const { subscription, queue, names } = await appliedSubscription('force', { deletionPolicy: 'Delete', nonEmptyQueuePolicy: 'Delete' });
    await broker.publish(EXCHANGE, 'user.created');
    await broker.waitForDepth(queue, 1);

    const outcome = await finalizeSubscription(subscription, broker.connection);
    expect(outcome.done).toBe(true);
    expect(await exists(names)).toEqual(names.map((name) => [name, false]));
    expect(outcome.events).toContainEqual(expect.objectContaining({ type: 'Warning', reason: 'QueuesDeletedWithMessages', message: expect.stringContaining(`'${queue}' (1)`) }));
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
});
