import { describe, expect, it } from '@jest/globals';
import {
  parseConsumerPolicy,
  planConsumerTopology,
  serializeConsumerPolicy,
  topologyInputOf,
} from '@switchyard/messaging/topology';
import { appliedTopologyOf, consumerPolicyOf } from './subscription-policy.js';
import { resolveSubscriptionSpec } from './subscription-spec.js';

const metadata = { name: 'order-service.user-events', namespace: 'shop', generation: 7 };
const spec = resolveSubscriptionSpec({
  service: 'order-service',
  queue: 'order-service.user-events',
  events: [{ type: 'user.created', versions: [1, 2] }, { type: 'user.deleted' }],
  retry: { maxAttempts: 3, backoff: { exponential: { initial: '1s', multiplier: 4, max: '1m' } } },
  deadLetter: { maxLength: 100, messageTtl: '1h' },
  prefetch: 5,
  paused: true,
});

describe('consumerPolicyOf', () => {
  it('renders a policy the services parse back unchanged', () => {
    const policy = consumerPolicyOf(metadata, spec);
    expect(policy).toMatchObject({
      generation: 7,
      source: 'shop/order-service.user-events',
      retryDelaysMs: [1_000, 4_000],
      prefetch: 5,
      paused: true,
    });
    expect(parseConsumerPolicy(serializeConsumerPolicy(policy))).toEqual(policy);
  });

  it('plans, through the shared plan, the topology a service with the same settings declares', () => {
    const plan = planConsumerTopology(topologyInputOf(consumerPolicyOf(metadata, spec)));
    expect(plan.queues.map((queue) => queue.name)).toEqual([
      'order-service.user-events.dlq',
      'order-service.user-events.retry.1s',
      'order-service.user-events.retry.4s',
      'order-service.user-events',
    ]);
    expect(plan.queues[0]!.arguments).toMatchObject({ 'x-max-length': 100, 'x-message-ttl': 3_600_000 });
    expect(plan.bindings.map((binding) => binding.routingKey)).toEqual(['user.created', 'user.deleted']);
  });
});

describe('appliedTopologyOf', () => {
  it('records what unsafe-change detection and cleanup need', () => {
    expect(appliedTopologyOf(consumerPolicyOf(metadata, spec))).toEqual({
      queue: 'order-service.user-events',
      queueType: 'quorum',
      deliveryLimit: 20,
      retryDelaysMs: [1_000, 4_000],
      eventTypes: ['user.created', 'user.deleted'],
      deadLetterQueue: 'order-service.user-events.dlq',
      exchange: 'switchyard.events',
    });
  });
});
