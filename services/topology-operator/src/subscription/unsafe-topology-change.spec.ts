import { describe, expect, it } from '@jest/globals';
import type { AppliedTopology } from '../api/v1alpha1/index.js';
import { findUnsafeTopologyChange } from './unsafe-topology-change.js';

const applied: AppliedTopology = {
  queue: 'order-service.user-events',
  queueType: 'quorum',
  deliveryLimit: 20,
  retryDelaysMs: [1_000, 5_000],
  eventTypes: ['user.created', 'user.deleted'],
  deadLetterQueue: 'order-service.user-events.dlq',
  exchange: 'switchyard.events',
};

describe('findUnsafeTopologyChange', () => {
  it('finds nothing on first apply or for changes RabbitMQ takes in place (tiers, bindings)', () => {
    expect(findUnsafeTopologyChange(undefined, applied)).toBeUndefined();
    expect(
      findUnsafeTopologyChange(applied, { ...applied, retryDelaysMs: [2_000], eventTypes: ['user.updated'] }),
    ).toBeUndefined();
  });

  it('refuses a queue type change and explains how to migrate', () => {
    const change = findUnsafeTopologyChange(applied, { ...applied, queueType: 'classic' });
    expect(change?.reason).toBe('UnsafeQueueTypeChange');
    expect(change?.message).toContain(
      "queue 'order-service.user-events' is a quorum queue and RabbitMQ cannot change a queue's type in place",
    );
    expect(change?.message).toContain('set spec.paused: true, wait until status.queueDepth is 0, delete queue');
    expect(change?.message).toContain('set spec.queueType back to quorum');
  });

  it('refuses a delivery limit change on a quorum queue only', () => {
    expect(findUnsafeTopologyChange(applied, { ...applied, deliveryLimit: 5 })).toMatchObject({
      reason: 'UnsafeDeliveryLimitChange',
      message: expect.stringContaining('x-delivery-limit 20'),
    });
    const classic = { ...applied, queueType: 'classic' as const };
    expect(findUnsafeTopologyChange(classic, { ...classic, deliveryLimit: 5 })).toBeUndefined();
  });

  it('refuses a dead-letter queue rename, an exchange change and a queue rename', () => {
    expect(findUnsafeTopologyChange(applied, { ...applied, deadLetterQueue: 'order-service.parked' })?.reason).toBe(
      'UnsafeDeadLetterQueueChange',
    );
    expect(findUnsafeTopologyChange(applied, { ...applied, exchange: 'other.events' })?.reason).toBe(
      'UnsafeExchangeChange',
    );
    expect(findUnsafeTopologyChange(applied, { ...applied, queue: 'order-service.users' })).toMatchObject({
      reason: 'UnsafeQueueRename',
      message: expect.stringContaining("Create a new EventSubscription for 'order-service.users'"),
    });
  });

  it('reads a status written without appliedTopology.queue', () => {
    const { queue: _queue, ...withoutQueue } = applied;
    expect(findUnsafeTopologyChange(withoutQueue, { ...applied, queueType: 'classic' })?.message).toContain(
      "queue 'order-service.user-events'",
    );
  });
});
