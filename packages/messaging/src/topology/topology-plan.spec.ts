import { describe, expect, it } from '@jest/globals';
import { DEFAULT_DELIVERY_LIMIT, DEFAULT_EXCHANGE, formatDelay, planConsumerTopology } from './topology-plan.js';

describe('planConsumerTopology', () => {
  const plan = planConsumerTopology({
    queue: 'order-service.user-events',
    eventTypes: ['user.created', 'user.deleted', 'user.created'],
    retryDelaysMs: [5_000, 1_000, 120_000],
  });

  it('plans the shared topic exchange and binds the work queue to each event type once', () => {
    expect(plan.exchanges).toEqual([{ name: DEFAULT_EXCHANGE, type: 'topic', durable: true }]);
    expect(plan.bindings).toEqual([
      { exchange: 'switchyard.events', queue: 'order-service.user-events', routingKey: 'user.created' },
      { exchange: 'switchyard.events', queue: 'order-service.user-events', routingKey: 'user.deleted' },
    ]);
  });

  it('makes the work queue a quorum queue with a delivery limit that dead-letters to its DLQ at least once', () => {
    const work = plan.queues.find((queue) => queue.role === 'work');
    expect(work).toEqual({
      name: 'order-service.user-events',
      role: 'work',
      durable: true,
      arguments: {
        'x-queue-type': 'quorum',
        'x-delivery-limit': DEFAULT_DELIVERY_LIMIT,
        'x-dead-letter-exchange': '',
        'x-dead-letter-routing-key': 'order-service.user-events.dlq',
        'x-dead-letter-strategy': 'at-least-once',
        'x-overflow': 'reject-publish',
      },
    });
  });

  it('plans one retry tier per delay whose TTL sends messages back to the work queue, shortest first', () => {
    const tiers = plan.queues.filter((queue) => queue.role === 'retry');
    expect(tiers.map((tier) => [tier.name, tier.delayMs])).toEqual([
      ['order-service.user-events.retry.1s', 1_000],
      ['order-service.user-events.retry.5s', 5_000],
      ['order-service.user-events.retry.2m', 120_000],
    ]);
    expect(tiers[1]!.arguments).toEqual({
      'x-queue-type': 'quorum',
      'x-message-ttl': 5_000,
      'x-dead-letter-exchange': '',
      'x-dead-letter-routing-key': 'order-service.user-events',
      'x-dead-letter-strategy': 'at-least-once',
      'x-overflow': 'reject-publish',
    });
  });

  it('declares the DLQ first so every dead-letter target exists before its source', () => {
    expect(plan.queues[0]).toEqual({
      name: 'order-service.user-events.dlq',
      role: 'dead-letter',
      durable: true,
      arguments: { 'x-queue-type': 'quorum' },
    });
    expect(plan.queues.at(-1)!.role).toBe('work');
  });

  it('bounds the DLQ only when asked to', () => {
    const bounded = planConsumerTopology({
      exchange: 'x',
      queue: 'a.b',
      eventTypes: [],
      retryDelaysMs: [],
      deliveryLimit: 3,
      deadLetter: { maxLength: 1000, messageTtlMs: 86_400_000 },
    });
    expect(bounded.queues[0]!.arguments).toEqual({
      'x-queue-type': 'quorum',
      'x-max-length': 1000,
      'x-message-ttl': 86_400_000,
    });
    expect(bounded.queues.at(-1)!.arguments['x-delivery-limit']).toBe(3);
    expect(bounded.exchanges[0]!.name).toBe('x');
  });

  it('gives repeated delays one shared tier (a capped backoff retries at its cap)', () => {
    const capped = planConsumerTopology({ queue: 'q', eventTypes: [], retryDelaysMs: [1000, 5000, 5000, 5000] });
    expect(capped.queues.map((q) => q.name)).toEqual(['q.dlq', 'q.retry.1s', 'q.retry.5s', 'q']);
  });

  it('rejects input that would plan a broken topology', () => {
    expect(() => planConsumerTopology({ queue: 'q', eventTypes: [], retryDelaysMs: [0] })).toThrow(/positive integer/);
    expect(() => planConsumerTopology({ queue: 'q', eventTypes: [], retryDelaysMs: [1.5] })).toThrow(
      /positive integer/,
    );
    expect(() => planConsumerTopology({ queue: '', eventTypes: [], retryDelaysMs: [] })).toThrow(/queue/);
    expect(() => planConsumerTopology({ queue: 'q.dlq', eventTypes: [], retryDelaysMs: [] })).toThrow(/DLQ/);
    expect(() => planConsumerTopology({ queue: 'q', eventTypes: [], retryDelaysMs: [], deliveryLimit: 0 })).toThrow(
      /deliveryLimit/,
    );
  });
});

describe('formatDelay', () => {
  it('writes delays in the largest whole unit', () => {
    expect([200, 1_000, 5_000, 30_000, 90_000, 120_000, 600_000, 3_600_000].map(formatDelay)).toEqual([
      '200ms',
      '1s',
      '5s',
      '30s',
      '90s',
      '2m',
      '10m',
      '1h',
    ]);
  });
});
