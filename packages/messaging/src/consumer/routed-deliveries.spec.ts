import { describe, expect, it } from '@jest/globals';
import type { Message } from 'amqplib';
import { deliveryFingerprint, RoutedDeliveries } from './routed-deliveries.js';

function delivery(
  overrides: { redelivered?: boolean; headers?: Record<string, unknown>; body?: string } = {},
): Message {
  return {
    content: Buffer.from(overrides.body ?? '{"n":1}'),
    fields: { deliveryTag: 1, redelivered: overrides.redelivered ?? false, exchange: 'x', routingKey: 'thing.a' },
    properties: {
      messageId: 'id-1',
      type: 'thing.a',
      headers: overrides.headers ?? { 'ce-id': 'id-1', 'x-event-version': 1 },
    },
  } as unknown as Message;
}

describe('RoutedDeliveries', () => {
  it('recognises only a redelivery of the very delivery whose copy was confirmed', () => {
    const routed = new RoutedDeliveries();
    expect(routed.routedBefore(delivery({ redelivered: true }))).toBeUndefined();
    routed.remember(delivery(), 'dead_letter');

    // The broker hands it back with its headers reordered and counted: still the same delivery.
    const back = delivery({
      redelivered: true,
      headers: { 'x-event-version': 1, 'ce-id': 'id-1', 'x-delivery-count': 1 },
    });
    expect(routed.routedBefore(back)).toBe('dead_letter');
    // Not marked redelivered (a producer's second publish), another body, a replay: routed as usual.
    expect(routed.routedBefore(delivery())).toBeUndefined();
    expect(routed.routedBefore(delivery({ redelivered: true, body: '{"n":2}' }))).toBeUndefined();
    const replay = { 'ce-id': 'id-1', 'x-event-version': 1, 'x-replayed-at': '2026-12-03T12:00:00.000Z' };
    expect(routed.routedBefore(delivery({ redelivered: true, headers: replay }))).toBeUndefined();
  });

  it('forgets the oldest beyond its size and anything older than its memory', () => {
    const routed = new RoutedDeliveries(2, 1_000);
    const nth = (n: number): Message => delivery({ body: `{"n":${n}}` });
    const back = (n: number): Message => delivery({ redelivered: true, body: `{"n":${n}}` });
    routed.remember(nth(1), 'retry', 0);
    routed.remember(nth(2), 'retry', 10);
    routed.remember(nth(3), 'dead_letter', 20);
    expect(routed.size).toBe(2);
    expect(routed.routedBefore(back(1), 20)).toBeUndefined();
    expect(routed.routedBefore(back(2), 20)).toBe('retry');
    expect(routed.routedBefore(back(3), 1_015)).toBe('dead_letter');
    expect(routed.routedBefore(back(3), 1_020)).toBeUndefined();
    expect(routed.size).toBe(0);
  });

  it('fingerprints Buffers and bigints in headers without throwing', () => {
    const odd = delivery({ headers: { blob: Buffer.from('x'), big: 2n ** 70n } });
    expect(deliveryFingerprint(odd)).toMatch(/^[0-9a-f]{64}$/);
  });
});
