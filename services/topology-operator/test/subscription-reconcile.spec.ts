// reconcileSubscription against the real RabbitMQ (a fresh vhost): what it declares, removes, refuses and reports.
import { afterAll, beforeAll, describe, expect, it, jest } from '@jest/globals';
import {
  parseConsumerPolicy,
  planConsumerTopology,
  retryQueueName,
  serializeConsumerPolicy,
  topologyInputOf,
  declareTopology,
} from '@switchyard/messaging/topology';
import amqp from 'amqplib';
import { CRD_NAME, type EventSubscription } from '../src/api/v1alpha1/index.js';
import {
  DEFAULT_STATUS_REFRESH_MS,
  DROPPED_TIER_GRACE_MS,
  finalizeSubscription,
  LeadershipLostError,
  reconcileSubscription,
  type ReconcileOutcome,
} from '../src/subscription/reconcile-subscription.js';
import { fileURLToPath } from 'node:url';
import { crdValidator } from '../../../k8s/test/crd-validator.js';
import {
  startTestBroker,
  subscriptionOf,
  type TestBroker,
  uniqueQueue,
  withMetadata,
} from './subscription-fixtures.js';

const EXCHANGE = 'switchyard.events';
let broker: TestBroker;
// Quorum queues are declared and deleted through Raft: on a loaded machine that takes seconds, not milliseconds.
jest.setTimeout(60_000);

beforeAll(async () => {
  broker = await startTestBroker('h3_reconcile');
}, 120_000);
afterAll(async () => {
  await broker?.close();
}, 120_000);

/** The subscription as the runtime would hand it over next: the outcome's status written, generation as given. */
function after(
  subscription: EventSubscription,
  outcome: ReconcileOutcome,
  changes: Partial<EventSubscription['spec']> = {},
): EventSubscription {
  const changed = Object.keys(changes).length > 0;
  return {
    ...subscription,
    metadata: { ...subscription.metadata, generation: (subscription.metadata.generation ?? 1) + (changed ? 1 : 0) },
    spec: { ...subscription.spec, ...changes },
    status: outcome.status,
  };
}
// Every status these tests produce must be one the API server accepts: checked against the CRD's own status schema.
const crd = crdValidator(
  fileURLToPath(new URL(`../../../charts/topology-operator/crds/${CRD_NAME}.yaml`, import.meta.url)),
);
async function reconcile(...args: Parameters<typeof reconcileSubscription>): Promise<ReconcileOutcome> {
  const outcome = await reconcileSubscription(...args);
  expect(crd.statusProblems(outcome.status)).toEqual([]);
  return outcome;
}
const conditionOf = (outcome: ReconcileOutcome, type: string) =>
  outcome.status.conditions?.find((condition) => condition.type === type);

describe('reconcileSubscription', () => {
  it('has a status check that can fail (the CRD status schema is really applied)', () => {
    expect(crd.statusProblems({ queueDepth: -1 })).not.toEqual([]);
    expect(
      crd.statusProblems({
        appliedTopology: {
          queueType: 'quorum',
          deliveryLimit: 1,
          retryDelaysMs: [],
          droppedTiers: [{ delayMs: 1 }],
          eventTypes: [],
          deadLetterQueue: 'q.dlq',
          exchange: 'x',
        },
      }),
    ).not.toEqual([]);
    expect(crd.statusProblems({ lastObservedTime: 'yesterday' })).not.toEqual([]);
  });

  it('declares the work queue, retry tiers and DLQ, binds the event types and renders the consumer policy', async () => {
    const queue = uniqueQueue('create');
    const outcome = await reconcile(
      subscriptionOf({ queue, events: [{ type: 'user.created' }, { type: 'user.deleted' }] }),
      broker.connection,
    );

    expect(outcome.error).toBeUndefined();
    expect(conditionOf(outcome, 'TopologyReconciled')).toMatchObject({
      status: 'True',
      reason: 'TopologyApplied',
      observedGeneration: 1,
    });
    for (const name of [
      queue,
      `${queue}.dlq`,
      ...['1s', '5s', '30s', '2m', '10m'].map((delay) => `${queue}.retry.${delay}`),
    ]) {
      expect({ name, exists: (await broker.queueState(name)) !== undefined }).toEqual({ name, exists: true });
    }
    expect(outcome.policy).toMatchObject({
      queue,
      retryDelaysMs: [1_000, 5_000, 30_000, 120_000, 600_000],
      prefetch: 20,
      paused: false,
      generation: 1,
    });
    expect(parseConsumerPolicy(serializeConsumerPolicy(outcome.policy!))).toEqual(outcome.policy);
    expect(outcome.status.appliedTopology).toEqual({
      queue,
      queueType: 'quorum',
      deliveryLimit: 20,
      retryDelaysMs: [1_000, 5_000, 30_000, 120_000, 600_000],
      eventTypes: ['user.created', 'user.deleted'],
      deadLetterQueue: `${queue}.dlq`,
      exchange: EXCHANGE,
      droppedTiers: [],
      // All of them were created by this declare: the operator owns them.
      createdQueues: [
        queue,
        `${queue}.dlq`,
        ...['1s', '5s', '30s', '2m', '10m'].map((delay) => `${queue}.retry.${delay}`),
      ].sort(),
    });
    expect(outcome.events).toContainEqual(expect.objectContaining({ type: 'Normal', reason: 'TopologyApplied' }));
    expect(outcome.requeueAfterMs).toBeGreaterThan(0);

    await broker.publish(EXCHANGE, 'user.deleted');
    await broker.waitForDepth(queue, 1);
    expect(await broker.drain(queue)).toEqual(['user.deleted']);
  });

  it('declares exactly what a service with the same policy declares (one shared plan)', async () => {
    const queue = uniqueQueue('same-plan');
    const outcome = await reconcile(
      subscriptionOf({ queue, deliveryLimit: 7, deadLetter: { maxLength: 50 } }),
      broker.connection,
    );
    expect(conditionOf(outcome, 'TopologyReconciled')?.status).toBe('True');
    // A service declaring from the rendered policy meets no 406: same names, same arguments.
    await expect(
      declareTopology(broker.connection, planConsumerTopology(topologyInputOf(outcome.policy!))),
    ).resolves.toBeUndefined();
  });

  it('reports depth, DLQ depth and consumers; NoConsumers makes it not Ready, a consumer makes it Ready', async () => {
    const queue = uniqueQueue('observe');
    const first = await reconcile(subscriptionOf({ queue }), broker.connection);
    await broker.publish(EXCHANGE, 'user.created');
    await broker.publish('', `${queue}.dlq`, 'dead');
    await broker.waitForDepth(queue, 1);
    await broker.waitForDepth(`${queue}.dlq`, 1);

    const now = new Date('2026-11-27T09:30:00.000Z');
    const idle = await reconcile(after(subscriptionOf({ queue }), first), broker.connection, now);
    expect(idle.status).toMatchObject({
      queueDepth: 1,
      deadLetterDepth: 1,
      consumers: 0,
      lastObservedTime: now.toISOString(),
      observedGeneration: 1,
    });
    expect(conditionOf(idle, 'ConsumerHealthy')).toMatchObject({ status: 'False', reason: 'NoConsumers' });
    expect(conditionOf(idle, 'Ready')).toMatchObject({ status: 'False', reason: 'NoConsumers' });
    expect(idle.events).toEqual([]); // nothing changed: a status refresh records no events

    const consumerChannel = await broker.connection.createChannel();
    await consumerChannel.prefetch(1);
    await consumerChannel.consume(queue, () => undefined);
    const later = new Date('2026-11-27T09:31:00.000Z');
    const busy = await reconcile(after(subscriptionOf({ queue }), idle), broker.connection, later);
    await consumerChannel.close();
    expect(busy.status.consumers).toBe(1);
    expect(conditionOf(busy, 'ConsumerHealthy')).toMatchObject({
      status: 'True',
      reason: 'ConsumersAttached',
      lastTransitionTime: later.toISOString(),
    });
    expect(conditionOf(busy, 'Ready')).toMatchObject({ status: 'True', reason: 'Ready' });
    // TopologyReconciled stayed True all along: its transition time is still the first reconcile's.
    expect(conditionOf(busy, 'TopologyReconciled')?.lastTransitionTime).toBe(
      conditionOf(first, 'TopologyReconciled')?.lastTransitionTime,
    );
  });

  it('counts a paused subscription without consumers as healthy, and carries paused into the policy', async () => {
    const queue = uniqueQueue('paused');
    const outcome = await reconcile(subscriptionOf({ queue, paused: true }), broker.connection);
    expect(outcome.policy?.paused).toBe(true);
    expect(conditionOf(outcome, 'ConsumerHealthy')).toMatchObject({ status: 'True', reason: 'Paused' });
    expect(conditionOf(outcome, 'Ready')?.status).toBe('True');
  });

  it('unbinds an event type removed from the spec: its events no longer land', async () => {
    const queue = uniqueQueue('unbind');
    const original = subscriptionOf({ queue, events: [{ type: 'user.created' }, { type: 'user.deleted' }] });
    const first = await reconcile(original, broker.connection);
    const second = await reconcile(after(original, first, { events: [{ type: 'user.created' }] }), broker.connection);

    expect(second.status.appliedTopology?.eventTypes).toEqual(['user.created']);
    expect(second.events).toContainEqual(
      expect.objectContaining({ reason: 'EventTypesUnbound', message: expect.stringContaining('user.deleted') }),
    );
    await broker.publish(EXCHANGE, 'user.deleted');
    await broker.publish(EXCHANGE, 'user.created');
    await broker.waitForDepth(queue, 1);
    expect(await broker.drain(queue)).toEqual(['user.created']);
  });

  it('adds tiers for a new retry policy and keeps dropped ones for the grace period, then deletes them once empty and unused', async () => {
    const queue = uniqueQueue('tiers');
    const original = subscriptionOf({ queue });
    const t0 = new Date('2026-11-27T10:00:00.000Z');
    const at = (ms: number) => new Date(t0.getTime() + ms);
    const first = await reconcile(original, broker.connection, t0);
    await broker.publish('', retryQueueName(queue, 600_000), 'parked retry'); // waits 10 minutes in its tier
    const tierConsumer = await broker.connection.createChannel();
    await tierConsumer.consume(retryQueueName(queue, 120_000), () => undefined); // something still reads the 2m tier

    const changed = after(original, first, { retry: { maxAttempts: 4, backoff: { delays: ['1s', '5s', '45s'] } } });
    const second = await reconcile(changed, broker.connection, at(1_000));
    expect(second.policy?.retryDelaysMs).toEqual([1_000, 5_000, 45_000]);
    expect(await broker.queueState(retryQueueName(queue, 45_000))).toBeDefined();
    const since = at(1_000).toISOString();
    expect(second.status.appliedTopology).toMatchObject({
      retryDelaysMs: [1_000, 5_000, 45_000],
      droppedTiers: [30_000, 120_000, 600_000].map((delayMs) => ({ delayMs, since })),
    });
    expect(second.events.filter((event) => event.reason === 'RetryTierRetained')).toHaveLength(3);
    expect(second.requeueAfterMs).toBeLessThanOrEqual(DEFAULT_STATUS_REFRESH_MS);

    // A status refresh later, pods may still run the old policy (the kubelet has not delivered the new ConfigMap yet): nothing goes.
    const third = await reconcile(after(changed, second), broker.connection, at(1_000 + DEFAULT_STATUS_REFRESH_MS));
    for (const delay of [30_000, 120_000, 600_000])
      expect(await broker.queueState(retryQueueName(queue, delay))).toBeDefined();
    expect(third.status.appliedTopology?.droppedTiers).toEqual(second.status.appliedTopology?.droppedTiers);
    expect(third.events).toEqual([]);
    // Shortly before the grace period ends, the next look is due when it ends, not a whole refresh later.
    const almost = await reconcile(after(changed, third), broker.connection, at(1_000 + DROPPED_TIER_GRACE_MS - 5_000));
    expect(almost.requeueAfterMs).toBe(5_000);
    expect(await broker.queueState(retryQueueName(queue, 30_000))).toBeDefined();

    // Grace period over: the empty, unused tier goes; the one holding a message and the one with a consumer stay.
    const fourth = await reconcile(after(changed, third), broker.connection, at(1_000 + DROPPED_TIER_GRACE_MS));
    expect(await broker.queueState(retryQueueName(queue, 30_000))).toBeUndefined();
    expect(await broker.queueState(retryQueueName(queue, 120_000))).toEqual({ messageCount: 0, consumerCount: 1 });
    expect(await broker.queueState(retryQueueName(queue, 600_000))).toEqual({ messageCount: 1, consumerCount: 0 });
    expect(fourth.status.appliedTopology?.droppedTiers).toEqual(
      [120_000, 600_000].map((delayMs) => ({ delayMs, since })),
    );
    expect(fourth.events.filter((event) => event.reason === 'RetryTierDeleted').map((event) => event.type)).toEqual([
      'Normal',
    ]);
    expect(fourth.policy?.retryDelaysMs).toEqual([1_000, 5_000, 45_000]);

    // Back in the policy: no longer dropped. Drained and unused: deleted on the next look.
    await tierConsumer.close();
    await broker.drain(retryQueueName(queue, 600_000));
    const readded = after(changed, fourth, {
      retry: { maxAttempts: 5, backoff: { delays: ['1s', '5s', '45s', '2m'] } },
    });
    const fifth = await reconcile(readded, broker.connection, at(2_000 + DROPPED_TIER_GRACE_MS));
    expect(fifth.status.appliedTopology).toMatchObject({
      retryDelaysMs: [1_000, 5_000, 45_000, 120_000],
      droppedTiers: [],
    });
    expect(await broker.queueState(retryQueueName(queue, 600_000))).toBeUndefined();
  });

  it('refuses a queue type change with a condition that says how to migrate, and changes nothing on the broker', async () => {
    const queue = uniqueQueue('type-change');
    const original = subscriptionOf({ queue });
    const first = await reconcile(original, broker.connection);
    await broker.publish(EXCHANGE, 'user.created');
    await broker.waitForDepth(queue, 1);

    const refused = await reconcile(after(original, first, { queueType: 'classic', prefetch: 3 }), broker.connection);
    expect(refused.error).toBeUndefined();
    expect(refused.policy).toBeUndefined(); // the last good policy (prefetch 20) stays in the ConfigMap
    expect(conditionOf(refused, 'TopologyReconciled')).toMatchObject({
      status: 'False',
      reason: 'UnsafeQueueTypeChange',
      observedGeneration: 2,
    });
    expect(conditionOf(refused, 'TopologyReconciled')?.message).toMatch(
      /RabbitMQ cannot change a queue's type in place.*set spec\.paused: true/,
    );
    expect(conditionOf(refused, 'Ready')).toMatchObject({ status: 'False', reason: 'UnsafeQueueTypeChange' });
    expect(refused.events).toContainEqual(
      expect.objectContaining({ type: 'Warning', reason: 'UnsafeQueueTypeChange' }),
    );
    expect(refused.status.appliedTopology).toEqual(first.status.appliedTopology);
    expect(refused.status.queueDepth).toBe(1); // still observed, so the user can watch the queue drain
    // The queue is still the quorum queue with its message: declaring it as before succeeds.
    await expect(
      declareTopology(broker.connection, planConsumerTopology(topologyInputOf(first.policy!))),
    ).resolves.toBeUndefined();
    expect(await broker.queueState(queue)).toEqual({ messageCount: 1, consumerCount: 0 });
  });

  it('maps a 406 from a queue that pre-exists with other arguments to TopologyConflict, keeping the connection', async () => {
    const queue = uniqueQueue('conflict');
    const channel = await broker.connection.createChannel();
    await channel.assertQueue(queue, { durable: true, arguments: { 'x-queue-type': 'classic' } });
    await channel.close();

    const outcome = await reconcile(subscriptionOf({ queue }), broker.connection);
    expect(outcome.error).toBeUndefined();
    expect(outcome.policy).toBeUndefined();
    expect(outcome.status.appliedTopology).toBeUndefined();
    expect(conditionOf(outcome, 'TopologyReconciled')).toMatchObject({ status: 'False', reason: 'TopologyConflict' });
    expect(conditionOf(outcome, 'TopologyReconciled')?.message).toContain(
      `queue '${queue}' already exists with different argument 'x-`,
    );
    expect(outcome.events).toContainEqual(expect.objectContaining({ type: 'Warning', reason: 'TopologyConflict' }));
    expect(await broker.queueState(queue)).toEqual({ messageCount: 0, consumerCount: 0 }); // the operator's connection still works
  });

  it('maps a changed DLQ argument to TopologyConflict and keeps the last good policy; a live setting alone updates the policy', async () => {
    const queue = uniqueQueue('dlq-args');
    const original = subscriptionOf({ queue, deadLetter: { maxLength: 10 } });
    const first = await reconcile(original, broker.connection);

    const second = after(original, first, { deadLetter: { maxLength: 20 }, prefetch: 5 });
    const conflicting = await reconcile(second, broker.connection);
    expect(conditionOf(conflicting, 'TopologyReconciled')).toMatchObject({
      status: 'False',
      reason: 'TopologyConflict',
    });
    expect(conditionOf(conflicting, 'TopologyReconciled')?.message).toContain(
      `queue '${queue}.dlq' already exists with different argument 'x-max-length'`,
    );
    expect(conflicting.policy).toBeUndefined();

    const live = await reconcile(
      after(second, conflicting, { deadLetter: { maxLength: 10 }, prefetch: 5, paused: true }),
      broker.connection,
    );
    expect(conditionOf(live, 'TopologyReconciled')).toMatchObject({
      status: 'True',
      reason: 'TopologyApplied',
      observedGeneration: 3,
    });
    expect(live.policy).toMatchObject({ prefetch: 5, paused: true, generation: 3 });
    expect(live.events).toContainEqual(expect.objectContaining({ type: 'Normal', reason: 'TopologyApplied' }));
  });

  it('reports an invalid spec as InvalidSpec naming the field, declaring nothing', async () => {
    const queue = uniqueQueue('invalid');
    const outcome = await reconcile(
      subscriptionOf({ queue, retry: { maxAttempts: 3, backoff: { delays: ['1s'] } } }),
      broker.connection,
    );
    expect(outcome.error).toBeUndefined();
    expect(outcome.policy).toBeUndefined();
    expect(conditionOf(outcome, 'TopologyReconciled')).toMatchObject({ status: 'False', reason: 'InvalidSpec' });
    expect(conditionOf(outcome, 'TopologyReconciled')?.message).toContain(
      'spec.retry.backoff.delays: must list maxAttempts - 1 = 2 delays',
    );
    expect(await broker.queueState(queue)).toBeUndefined();
  });

  it('reports a resource without a spec as InvalidSpec instead of throwing', async () => {
    const bare = { ...subscriptionOf({ queue: uniqueQueue('bare') }), spec: undefined } as unknown as EventSubscription;
    const outcome = await reconcile(bare, broker.connection);
    expect(outcome.error).toBeUndefined();
    expect(conditionOf(outcome, 'TopologyReconciled')).toMatchObject({
      status: 'False',
      reason: 'InvalidSpec',
      message: expect.stringContaining('spec: '),
    });
    await expect(finalizeSubscription(bare, broker.connection)).resolves.toMatchObject({
      done: true,
      error: undefined,
    });
  });

  it('returns a broker failure as a transient error with BrokerError in status', async () => {
    const closed = await amqp.connect(broker.vhost.url);
    await closed.close();
    const outcome = await reconcile(subscriptionOf({ queue: uniqueQueue('down') }), closed);
    expect(outcome.error).toBeInstanceOf(Error);
    expect(outcome.requeueAfterMs).toBeUndefined();
    expect(outcome.policy).toBeUndefined();
    expect(conditionOf(outcome, 'TopologyReconciled')).toMatchObject({ status: 'False', reason: 'BrokerError' });
    expect(conditionOf(outcome, 'ConsumerHealthy')).toMatchObject({ status: 'Unknown', reason: 'NotObserved' });
  });

  it('leaves a queue another subscription claimed first to it: QueueClaimed naming the other, no broker change, no policy', async () => {
    const queue = uniqueQueue('claimed');
    // Claims are compared within a namespace only (see subscription-tenancy.spec.ts for two namespaces).
    const older = withMetadata(subscriptionOf({ queue }), {
      namespace: 'orders',
      name: 'orders-b',
      creationTimestamp: '2026-11-27T08:00:00Z',
    });
    const newer = withMetadata(
      subscriptionOf({
        queue,
        events: [{ type: 'user.deleted' }],
        retry: { maxAttempts: 2, backoff: { delays: ['7s'] } },
      }),
      {
        namespace: 'orders',
        name: 'orders-a',
        creationTimestamp: '2026-11-27T09:00:00Z',
      },
    );

    const winner = await reconcile(older, broker.connection, undefined, { otherSubscriptions: [older, newer] });
    expect(conditionOf(winner, 'TopologyReconciled')).toMatchObject({ status: 'True', reason: 'TopologyApplied' });

    const loser = await reconcile(newer, broker.connection, undefined, {
      otherSubscriptions: [older, after(older, winner)],
    });
    expect(loser.error).toBeUndefined();
    expect(loser.policy).toBeUndefined();
    expect(loser.status.appliedTopology).toBeUndefined();
    expect(conditionOf(loser, 'TopologyReconciled')).toMatchObject({
      status: 'False',
      reason: 'QueueClaimed',
      message: expect.stringContaining('orders/orders-b'),
    });
    expect(conditionOf(loser, 'Ready')).toMatchObject({ status: 'False', reason: 'QueueClaimed' });
    expect(loser.events).toContainEqual(expect.objectContaining({ type: 'Warning', reason: 'QueueClaimed' }));
    expect(await broker.queueState(retryQueueName(queue, 7_000))).toBeUndefined();
    await broker.publish(EXCHANGE, 'user.deleted'); // the loser's event type was not bound
    await broker.publish(EXCHANGE, 'user.created');
    await broker.waitForDepth(queue, 1);
    expect(await broker.drain(queue)).toEqual(['user.created']);

    // Same creationTimestamp: the name decides, the same way on every replica.
    const twin = withMetadata(newer, { creationTimestamp: older.metadata.creationTimestamp });
    const tie = await reconcile(older, broker.connection, undefined, { otherSubscriptions: [twin] });
    expect(conditionOf(tie, 'TopologyReconciled')).toMatchObject({
      reason: 'QueueClaimed',
      message: expect.stringContaining('orders/orders-a'),
    });
  });

  it('changes nothing and reports nothing once this replica no longer leads (fencing)', async () => {
    const queue = uniqueQueue('fenced');
    const previous = subscriptionOf({ queue }).status;
    const outcome = await reconcile(subscriptionOf({ queue }), broker.connection, undefined, { isActive: () => false });
    expect(outcome.error).toBeInstanceOf(LeadershipLostError);
    expect(outcome).toMatchObject({ policy: undefined, events: [], requeueAfterMs: undefined });
    expect(outcome.status).toEqual(previous ?? {});
    expect(await broker.queueState(queue)).toBeUndefined();

    const original = subscriptionOf({ queue, events: [{ type: 'user.created' }, { type: 'user.deleted' }] });
    const applied = await reconcile(original, broker.connection);
    const lost = await reconcile(
      after(original, applied, { events: [{ type: 'user.created' }] }),
      broker.connection,
      undefined,
      {
        isActive: (() => {
          let checks = 0;
          return () => ++checks <= 1;
        })(),
      },
    );
    expect(lost.error).toBeInstanceOf(LeadershipLostError);
    await broker.publish(EXCHANGE, 'user.deleted'); // still bound: the unbind was fenced off
    await broker.waitForDepth(queue, 1);
  });
});
