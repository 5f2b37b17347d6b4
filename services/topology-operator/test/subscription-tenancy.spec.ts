// What keeps one EventSubscription from being turned against another tenant's queues, against the real RabbitMQ (a
// fresh vhost): queues named after another service are refused, claims are compared within a namespace only, and
// deletionPolicy Delete deletes only queues the operator itself created.
import { afterAll, beforeAll, describe, expect, it, jest } from '@jest/globals';
import { declareTopology, planConsumerTopology, retryQueueName, topologyInputOf } from '@switchyard/messaging/topology';
import type { EventSubscription, EventSubscriptionSpec } from '../src/api/v1alpha1/index.js';
import {
  DROPPED_TIER_GRACE_MS,
  finalizeSubscription,
  reconcileSubscription,
  type ReconcileOutcome,
} from '../src/subscription/reconcile-subscription.js';
import { consumerPolicyOf } from '../src/subscription/subscription-policy.js';
import { resolveSubscriptionSpec } from '../src/subscription/subscription-spec.js';
import {
  startTestBroker,
  subscriptionOf,
  type TestBroker,
  uniqueQueue,
  withMetadata,
} from './subscription-fixtures.js';

let broker: TestBroker;
// Quorum queues are declared and deleted through Raft: on a loaded machine that takes seconds, not milliseconds.
jest.setTimeout(60_000);

beforeAll(async () => {
  broker = await startTestBroker('h3_tenancy');
}, 120_000);
afterAll(async () => {
  await broker?.close();
}, 120_000);

const conditionOf = (outcome: ReconcileOutcome, type: string) =>
  outcome.status.conditions?.find((condition) => condition.type === type);
const exists = async (names: string[]) =>
  Promise.all(names.map(async (name) => [name, (await broker.queueState(name)) !== undefined] as const));
const deleting = (subscription: EventSubscription, outcome: ReconcileOutcome): EventSubscription => ({
  ...subscription,
  metadata: { ...subscription.metadata, deletionTimestamp: '2026-11-27T09:00:00Z' },
  status: outcome.status,
});
/** The queues a subscription with two retry tiers (1 s, 1 h) uses: work queue, tiers, DLQ. */
const namesOf = (queue: string) => [
  queue,
  retryQueueName(queue, 1_000),
  retryQueueName(queue, 3_600_000),
  `${queue}.dlq`,
];
const twoTiers = (queue: string, spec: Partial<EventSubscriptionSpec> = {}) =>
  subscriptionOf({ queue, retry: { maxAttempts: 3, backoff: { delays: ['1s', '1h'] } }, ...spec });

describe('a queue of another service', () => {
  it.each([
    ['the dead-letter queue', { deadLetter: { queue: 'user-service.order-events' } }, 'spec.deadLetter.queue'],
    ['the work queue', { queue: 'user-service.order-events' }, 'spec.queue'],
  ])('is refused as %s with QueueOutsideService in status and a Warning, declaring nothing', async (_, spec, field) => {
    // As an object that never passed the API server (or one created before the CRD had the rule) arrives.
    const queue = uniqueQueue('foreign');
    const outcome = await reconcileSubscription(subscriptionOf({ queue, ...spec }), broker.connection);
    expect(outcome.error).toBeUndefined();
    expect(outcome.policy).toBeUndefined();
    const condition = conditionOf(outcome, 'TopologyReconciled');
    expect(condition).toMatchObject({ status: 'False', reason: 'QueueOutsideService' });
    expect(condition?.message).toContain(`${field}: must`);
    expect(condition?.message).toContain("'order-service.'");
    expect(conditionOf(outcome, 'Ready')).toMatchObject({ status: 'False', reason: 'QueueOutsideService' });
    expect(outcome.events).toContainEqual(expect.objectContaining({ type: 'Warning', reason: 'QueueOutsideService' }));
    expect(await exists([queue, `${queue}.dlq`, 'user-service.order-events'])).toEqual([
      [queue, false],
      [`${queue}.dlq`, false],
      ['user-service.order-events', false],
    ]);
  });
});

describe('claims on a queue', () => {
  it('are compared within a namespace only: an older claim in another namespace does not lock this one out', async () => {
    const queue = uniqueQueue('claim-elsewhere');
    const elsewhere = withMetadata(subscriptionOf({ queue }), {
      namespace: 'tenant-a',
      creationTimestamp: '2026-11-27T08:00:00Z',
    });
    const here = withMetadata(subscriptionOf({ queue }), {
      namespace: 'tenant-b',
      creationTimestamp: '2026-11-27T09:00:00Z',
    });
    const outcome = await reconcileSubscription(here, broker.connection, undefined, {
      otherSubscriptions: [elsewhere],
    });
    expect(outcome.error).toBeUndefined();
    expect(conditionOf(outcome, 'TopologyReconciled')).toMatchObject({ status: 'True', reason: 'TopologyApplied' });
    expect(outcome.policy).toMatchObject({ queue });

    // In the same namespace the older claim still wins.
    const sameNamespace = withMetadata(elsewhere, { namespace: 'tenant-b', name: 'older' });
    const claimed = await reconcileSubscription(here, broker.connection, undefined, {
      otherSubscriptions: [sameNamespace],
    });
    expect(conditionOf(claimed, 'TopologyReconciled')).toMatchObject({ status: 'False', reason: 'QueueClaimed' });
  });
});

describe('ownership of queues', () => {
  it('records as created only the queues that did not exist before its first declare', async () => {
    const queue = uniqueQueue('partly-owned');
    // The DLQ was made by someone else first (same arguments, so the declare passes).
    await broker.connection.createChannel().then(async (channel) => {
      await channel.assertQueue(`${queue}.dlq`, { durable: true, arguments: { 'x-queue-type': 'quorum' } });
      await channel.close();
    });
    const first = await reconcileSubscription(twoTiers(queue), broker.connection);
    expect(conditionOf(first, 'TopologyReconciled')).toMatchObject({ status: 'True' });
    expect(first.status.appliedTopology?.createdQueues).toEqual(namesOf(queue).slice(0, 3).sort());
    // A later reconcile keeps the record (the queues exist now, but were created by the operator).
    const again = await reconcileSubscription({ ...twoTiers(queue), status: first.status }, broker.connection);
    expect(again.status.appliedTopology?.createdQueues).toEqual(first.status.appliedTopology?.createdQueues);
  });

  it('keeps queues it did not create with deletionPolicy Delete (Warning QueuesNotOwned), deleting only its own', async () => {
    const queue = uniqueQueue('pre-existing');
    const subscription = twoTiers(queue, { deletionPolicy: 'Delete' });
    // The consuming service started first and declared its own topology from the same policy.
    const policy = consumerPolicyOf(subscription.metadata, resolveSubscriptionSpec(subscription.spec));
    await declareTopology(broker.connection, planConsumerTopology(topologyInputOf(policy)));
    await broker.connection.createChannel().then(async (channel) => {
      await channel.deleteQueue(retryQueueName(queue, 1_000)); // ... all but one tier, which the operator creates
      await channel.close();
    });

    const applied = await reconcileSubscription(subscription, broker.connection);
    expect(conditionOf(applied, 'TopologyReconciled')).toMatchObject({ status: 'True' });
    expect(applied.status.appliedTopology?.createdQueues).toEqual([retryQueueName(queue, 1_000)]);

    const outcome = await finalizeSubscription(deleting(subscription, applied), broker.connection);
    expect(outcome).toMatchObject({ done: true, error: undefined });
    const [work, ownTier, foreignTier, dlq] = namesOf(queue);
    expect(await exists(namesOf(queue))).toEqual([
      [work, true],
      [ownTier, false],
      [foreignTier, true],
      [dlq, true],
    ]);
    const warning = outcome.events.find((event) => event.reason === 'QueuesNotOwned');
    expect(warning).toMatchObject({ type: 'Warning' });
    for (const name of [work, foreignTier, dlq]) expect(warning?.message).toContain(`'${name}'`);
    expect(warning?.message).not.toContain(`'${ownTier}'`);
  });

  it('keeps a retry tier it did not create when the policy drops it, instead of deleting it after the grace period', async () => {
    const queue = uniqueQueue('foreign-tier');
    const foreignTier = retryQueueName(queue, 3_600_000);
    await broker.connection.createChannel().then(async (channel) => {
      // Made by someone else first, with the arguments the plan gives a 1 h tier (so the declare passes).
      const policy = consumerPolicyOf(twoTiers(queue).metadata, resolveSubscriptionSpec(twoTiers(queue).spec));
      const plan = planConsumerTopology(topologyInputOf(policy));
      const tier = plan.queues.find((planned) => planned.name === foreignTier)!;
      await channel.assertQueue(tier.name, { durable: tier.durable, arguments: tier.arguments });
      await channel.close();
    });
    const t0 = new Date('2026-11-27T10:00:00.000Z');
    const original = twoTiers(queue);
    const first = await reconcileSubscription(original, broker.connection, t0);
    const changed = {
      ...original,
      metadata: { ...original.metadata, generation: 2 },
      spec: { ...original.spec, retry: { maxAttempts: 2, backoff: { delays: ['1s'] } } },
      status: first.status,
    };
    const dropped = await reconcileSubscription(changed, broker.connection, new Date(t0.getTime() + 1_000));
    expect(dropped.status.appliedTopology?.droppedTiers).toEqual([
      { delayMs: 3_600_000, since: new Date(t0.getTime() + 1_000).toISOString() },
    ]);
    const later = await reconcileSubscription(
      { ...changed, status: dropped.status },
      broker.connection,
      new Date(t0.getTime() + 2_000 + DROPPED_TIER_GRACE_MS),
    );
    expect(await broker.queueState(foreignTier)).toEqual({ messageCount: 0, consumerCount: 0 });
    expect(later.status.appliedTopology?.droppedTiers).toEqual([]);
    expect(later.events).toContainEqual(
      expect.objectContaining({
        type: 'Warning',
        reason: 'QueuesNotOwned',
        message: expect.stringContaining(foreignTier),
      }),
    );
  });

  it('owns nothing when status has no ownership record (written by an older operator): deletes no queue', async () => {
    const queue = uniqueQueue('legacy');
    const subscription = twoTiers(queue, { deletionPolicy: 'Delete' });
    const applied = await reconcileSubscription(subscription, broker.connection);
    const { createdQueues: _, ...legacy } = applied.status.appliedTopology!;
    const outcome = await finalizeSubscription(
      deleting(subscription, { ...applied, status: { ...applied.status, appliedTopology: legacy } }),
      broker.connection,
    );
    expect(outcome.done).toBe(true);
    expect(await exists(namesOf(queue))).toEqual(namesOf(queue).map((name) => [name, true]));
    expect(outcome.events).toContainEqual(expect.objectContaining({ type: 'Warning', reason: 'QueuesNotOwned' }));
  });
});
