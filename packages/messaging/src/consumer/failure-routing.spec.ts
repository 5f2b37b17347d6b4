import { describe, expect, it } from '@jest/globals';
import { BaseRpcExceptionFilter } from '@nestjs/microservices';
import { type ArgumentsHost, Logger } from '@nestjs/common';
import type { Message } from 'amqplib';
import { firstValueFrom } from 'rxjs';
import {
  deadLetterHeaders,
  describeFailure,
  MAX_ERROR_MESSAGE_LENGTH,
  NonRetriableError,
  rejectionReason,
  retryHeaders,
} from './failure-routing.js';

// The default filter logs what it replaces; these tests only look at what it hands on.
Logger.overrideLogger(false);

/** What Nest's default RPC exception filter hands the transport for `error`. */
async function throughNestDefaultFilter(error: unknown): Promise<unknown> {
  return firstValueFrom(new BaseRpcExceptionFilter().catch(error, {} as ArgumentsHost)).catch(
    (caught: unknown) => caught,
  );
}

function message(headers: Record<string, unknown>, fields: Partial<Message['fields']> = {}): Message {
  return {
    content: Buffer.from('{"a":1}'),
    fields: {
      deliveryTag: 1,
      redelivered: false,
      exchange: 'switchyard.events',
      routingKey: 'user.created',
      ...fields,
    },
    properties: { messageId: 'id-1', type: 'user.created', headers } as Message['properties'],
  };
}

describe('describeFailure', () => {
  it('recognises NonRetriableError even after Nest has replaced it with a plain error object', async () => {
    class CustomerUnknown extends NonRetriableError {}
    const nestified = await throughNestDefaultFilter(new CustomerUnknown('customer 7 unknown'));

    expect(nestified).not.toBeInstanceOf(Error);
    expect(describeFailure(nestified)).toEqual({
      errorClass: 'CustomerUnknown',
      message: 'customer 7 unknown',
      nonRetriable: true,
    });
    expect(describeFailure(new CustomerUnknown('x'))).toEqual({
      errorClass: 'CustomerUnknown',
      message: 'x',
      nonRetriable: true,
    });
  });

  it('treats every other error as retriable, keeping class and a one-line message without stack', async () => {
    expect(describeFailure(new TypeError('bad\n  thing'))).toEqual({
      errorClass: 'TypeError',
      message: 'bad thing',
      nonRetriable: false,
    });
    expect(describeFailure(await throughNestDefaultFilter(new TypeError('hidden')))).toEqual({
      errorClass: 'Error',
      message: 'Internal server error',
      nonRetriable: false,
    });
    expect(describeFailure('a string')).toEqual({ errorClass: 'string', message: 'a string', nonRetriable: false });
    expect(describeFailure(new Error('x'.repeat(2000))).message).toHaveLength(MAX_ERROR_MESSAGE_LENGTH);
  });

  it('reads a decoder rejection reason only from a string `reason` property', () => {
    expect(rejectionReason(Object.assign(new Error('bad'), { reason: 'schema_invalid' }))).toBe('schema_invalid');
    expect(rejectionReason(new Error('bad'))).toBeUndefined();
    expect(rejectionReason({ reason: 42 })).toBeUndefined();
  });
});

describe('retry and dead-letter headers', () => {
  const now = new Date('2030-01-02T03:04:05.000Z');
  const failure = { errorClass: 'TypeError', message: 'boom', nonRetriable: false };

  it('count the attempt up and remember the first failure and original route across tiers', () => {
    const first = retryHeaders(
      { message: message({ 'ce-id': 'id-1' }), eventType: 'user.created', attempt: 1, failure },
      now,
    );
    expect(first).toEqual({
      'ce-id': 'id-1',
      'x-attempt': 2,
      'x-first-failure-at': '2030-01-02T03:04:05.000Z',
      'x-last-error': 'TypeError: boom',
      'x-original-routing-key': 'user.created',
      'x-original-exchange': 'switchyard.events',
    });
    // Back from the tier through the default exchange (the transport's own copy, `isRetryCopy`): the original route
    // and first failure are kept.
    const second = retryHeaders(
      {
        message: message(first, { exchange: '', routingKey: 'svc.q' }),
        eventType: 'user.created',
        attempt: 2,
        failure,
        retryCopy: true,
      },
      new Date('2031-01-01T00:00:00Z'),
    );
    expect(second).toMatchObject({
      'x-attempt': 3,
      'x-first-failure-at': '2030-01-02T03:04:05.000Z',
      'x-original-routing-key': 'user.created',
      'x-original-exchange': 'switchyard.events',
    });
  });

  it('say on a dead letter why, what, how often, when and who gave up, keeping the original headers', () => {
    const headers = deadLetterHeaders(
      {
        message: message({ 'ce-id': 'id-1', 'x-first-failure-at': '2029-12-31T00:00:00.000Z' }),
        eventType: 'user.created',
        attempt: 3,
        failure,
      },
      'retries_exhausted',
      'order-service',
      'order-service.user-events',
      now,
    );
    expect(headers).toEqual({
      'ce-id': 'id-1',
      'x-death-reason': 'retries_exhausted',
      'x-error-class': 'TypeError',
      'x-error-message': 'boom',
      'x-attempts': 3,
      'x-first-failure-at': '2029-12-31T00:00:00.000Z',
      'x-last-failure-at': '2030-01-02T03:04:05.000Z',
      'x-original-routing-key': 'user.created',
      'x-original-exchange': 'switchyard.events',
      'x-consumer-service': 'order-service',
      'x-consumer-queue': 'order-service.user-events',
    });
  });
});
