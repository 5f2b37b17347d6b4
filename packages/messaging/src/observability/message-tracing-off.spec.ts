import { describe, expect, it } from '@jest/globals';
import { activeTraceHeaders, traceDelivery, tracePublish, traceRepublish, traceSettle } from './message-tracing.js';

// No SDK registered: what every service runs like without an OTLP endpoint.
describe('message tracing with tracing off', () => {
  it('injects nothing and passes a stored context through unchanged', async () => {
    expect(activeTraceHeaders()).toEqual({});
    const traceparent = `00-${'a'.repeat(32)}-${'b'.repeat(16)}-01`;
    await expect(
      tracePublish(
        { exchange: 'x', routingKey: 'k', messageId: 'm', traceparent, tracestate: 'k=v' },
        async (headers) => headers,
      ),
    ).resolves.toEqual({ traceparent, tracestate: 'k=v' });
    await expect(
      tracePublish(
        { exchange: 'x', routingKey: 'k', messageId: 'm', traceparent: null, tracestate: null },
        async (headers) => headers,
      ),
    ).resolves.toEqual({});
  });

  it('runs the handler and returns its result', async () => {
    await expect(
      traceDelivery(
        {
          queue: 'q',
          exchange: 'x',
          routingKey: 'k',
          messageId: undefined,
          headers: {},
          attempt: 2,
          replayedAt: undefined,
        },
        async () => 42,
      ),
    ).resolves.toBe(42);
  });

  it('settles and republishes without spans', async () => {
    expect(traceSettle('ack', () => 'acked')).toBe('acked');
    await expect(
      traceRepublish('retry', 'q.retry.1s', { address: 'localhost', port: 5672 }, async () => 'sent'),
    ).resolves.toBe('sent');
  });
});
