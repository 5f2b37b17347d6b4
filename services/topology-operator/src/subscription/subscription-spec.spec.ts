import { describe, expect, it } from '@jest/globals';
import { DEFAULT_RETRY_DELAYS_MS } from '@switchyard/messaging/topology';
import { InvalidSubscriptionSpecError } from '../api/v1alpha1/index.js';
import { resolveSubscriptionSpec } from './subscription-spec.js';

const minimal = { service: 'order-service', queue: 'order-service.user-events', events: [{ type: 'user.created' }] };

function problemOf(spec: unknown): string {
  try {
    resolveSubscriptionSpec(spec);
  } catch (error) {
    if (error instanceof InvalidSubscriptionSpecError) return error.message;
    throw error;
  }
  throw new Error('expected an InvalidSubscriptionSpecError');
}

describe('resolveSubscriptionSpec', () => {
  it('applies the same defaults as the CRD', () => {
    expect(resolveSubscriptionSpec(minimal)).toEqual({
      service: 'order-service',
      queue: 'order-service.user-events',
      exchange: 'switchyard.events',
      queueType: 'quorum',
      events: [{ type: 'user.created', versions: [] }],
      maxAttempts: 6,
      retryDelaysMs: [...DEFAULT_RETRY_DELAYS_MS],
      deliveryLimit: 20,
      deadLetter: { queue: 'order-service.user-events.dlq' },
      prefetch: 20,
      paused: false,
      deletionPolicy: 'Retain',
      nonEmptyQueuePolicy: 'Retain',
    });
  });

  it('keeps what the user set, converting durations', () => {
    const resolved = resolveSubscriptionSpec({
      ...minimal,
      exchange: 'other.events',
      queueType: 'classic',
      events: [{ type: 'user.created', versions: [2, 1] }],
      retry: { maxAttempts: 3, backoff: { delays: ['200ms', '1m'] } },
      deliveryLimit: 5,
      deadLetter: { queue: 'order-service.parked', maxLength: 10, messageTtl: '1h' },
      prefetch: 1,
      paused: true,
      deletionPolicy: 'Delete',
      nonEmptyQueuePolicy: 'Delete',
    });
    expect(resolved).toMatchObject({
      exchange: 'other.events',
      queueType: 'classic',
      events: [{ type: 'user.created', versions: [2, 1] }],
      maxAttempts: 3,
      retryDelaysMs: [200, 60_000],
      deliveryLimit: 5,
      deadLetter: { queue: 'order-service.parked', maxLength: 10, messageTtlMs: 3_600_000 },
      prefetch: 1,
      paused: true,
      deletionPolicy: 'Delete',
      nonEmptyQueuePolicy: 'Delete',
    });
  });

  it.each([
    [{ ...minimal, service: 'Order_Service' }, /^spec\.service: must be a DNS-1123 label/],
    [{ ...minimal, queue: 'orders' }, /^spec\.queue: must look like <service>\.<purpose>/],
    [{ ...minimal, queue: 'order-service.user-events.dlq' }, /^spec\.queue: must not end with \.dlq/],
    [{ ...minimal, queue: 'order-service.x.retry.1s' }, /^spec\.queue: must not end with \.dlq or contain \.retry\./],
    [
      { ...minimal, queue: 'user-service.user-events' },
      /^spec\.queue: must be named <service>\.<purpose>: start with 'order-service\.'/,
    ],
    [{ ...minimal, events: [] }, /^spec\.events: /],
    [
      { ...minimal, events: [{ type: 'user.#' }] },
      /^spec\.events\.0\.type: must be an event type like user\.created \(no wildcards\)/,
    ],
    [
      { ...minimal, events: [{ type: 'user.created' }, { type: 'user.created' }] },
      /^spec\.events: event type 'user\.created' is listed twice/,
    ],
    [
      { ...minimal, events: [{ type: 'user.created', versions: [1, 1] }] },
      /^spec\.events\.0\.versions: lists a version twice/,
    ],
    [{ ...minimal, exchange: 'amq.topic' }, /^spec\.exchange: must not start with amq\./],
    [{ ...minimal, queueType: 'stream' }, /^spec\.queueType: /],
    [{ ...minimal, retry: { maxAttempts: 21, backoff: { delays: [] } } }, /^spec\.retry\.maxAttempts: /],
    [
      { ...minimal, retry: { maxAttempts: 2, backoff: { delays: ['1 s'] } } },
      /^spec\.retry\.backoff\.delays\.0: must be a duration like 500ms/,
    ],
    [
      { ...minimal, retry: { maxAttempts: 3, backoff: { exponential: { initial: '1s', multiplier: 1, max: '1m' } } } },
      /^spec\.retry\.backoff\.exponential\.multiplier: /,
    ],
    [{ ...minimal, deliveryLimit: 0 }, /^spec\.deliveryLimit: /],
    [{ ...minimal, prefetch: 1001 }, /^spec\.prefetch: /],
    [
      { ...minimal, deadLetter: { queue: 'order-service.user-events' } },
      /^spec\.deadLetter\.queue: must differ from the work queue/,
    ],
    [
      { ...minimal, deadLetter: { messageTtl: '999h' } },
      /^spec\.deadLetter\.messageTtl: '999h' is longer than the maximum/,
    ],
    [{ ...minimal, deletionPolicy: 'delete' }, /^spec\.deletionPolicy: /],
    [{ ...minimal, retries: { maxAttempts: 2 } }, /^spec: .*retries/],
    [undefined, /^spec: /],
  ])('refuses %j naming the field', (spec, problem) => {
    expect(problemOf(spec)).toMatch(problem);
  });
});
