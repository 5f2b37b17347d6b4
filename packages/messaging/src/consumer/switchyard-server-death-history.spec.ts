import { describe, expect, it } from '@jest/globals';
import type { Message } from 'amqplib';
import { deadLetterHeaders, retryHeaders } from './failure-routing.js';

// What the transport sends to a retry tier must never carry a producer's `x-death`: the tier's broker-side
// dead-lettering parses it, and RabbitMQ 3.10 crashes its (node-wide) at-least-once dead-letter worker on a
// malformed one. Checked on the headers alone: feeding a malformed history to the shared broker would break it.
function failedWith(headers: Record<string, unknown>) {
  const message: Message = {
    content: Buffer.from('{}'),
    fields: {
      deliveryTag: 1,
      redelivered: false,
      exchange: 'switchyard.events',
      routingKey: 'user.updated',
    } as Message['fields'],
    properties: { messageId: 'id-1', type: 'user.updated', headers } as Message['properties'],
  };
  return {
    message,
    eventType: 'user.updated',
    attempt: 1,
    failure: { errorClass: 'Error', message: 'not yet', nonRetriable: false },
  };
}

describe('the death history on copies the transport publishes', () => {
  const forged = [1, 'two', null];

  it('drops x-death from retry copies (the broker writes a fresh one when the copy leaves its tier) and keeps the rest', () => {
    const headers = retryHeaders(
      failedWith({ 'x-death': forged, 'ce-id': 'id-1', 'x-delivery-count': 999 }),
      new Date(0),
    );
    expect(headers).not.toHaveProperty('x-death');
    expect(headers).toMatchObject({
      'ce-id': 'id-1',
      'x-attempt': 2,
      'x-last-error': 'Error: not yet',
      'x-original-routing-key': 'user.updated',
    });
  });

  it('drops even a well-formed x-death from retry copies, so no producer can steer the broker’s bookkeeping', () => {
    const wellFormed = [
      { count: 1000, reason: 'expired', queue: 'q.retry.1s', exchange: '', 'routing-keys': ['q'], time: new Date(0) },
    ];
    expect(retryHeaders(failedWith({ 'x-death': wellFormed }), new Date(0))).not.toHaveProperty('x-death');
  });

  it('keeps the history on dead letters, whose queue never dead-letters them again, for whoever inspects them', () => {
    const headers = deadLetterHeaders(failedWith({ 'x-death': forged }), 'retries_exhausted', 'svc', 'q', new Date(0));
    expect(headers['x-death']).toEqual(forged);
  });
});
