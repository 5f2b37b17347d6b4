import { describe, expect, it } from '@jest/globals';
import { buildAsyncApiDocument, EVENT_SUBSCRIPTIONS } from '@switchyard/contracts';
import { DEFAULT_RETRY_DELAYS_MS, deadLetterQueueName, retryQueueName } from './topology-plan.js';

// The AsyncAPI document (packages/contracts, which may not depend on messaging) names the queues the transport
// declares; this keeps its copy of the naming rules and default tiers honest.
describe('the AsyncAPI document against the topology plan', () => {
  it('documents exactly the work queue, default retry tiers and DLQ the transport declares for each consumer', () => {
    const channels = Object.keys(buildAsyncApiDocument()['channels'] as Record<string, unknown>);
    for (const { queue } of EVENT_SUBSCRIPTIONS) {
      expect(channels.filter((name) => name.startsWith(`${queue}`))).toEqual([
        queue,
        ...DEFAULT_RETRY_DELAYS_MS.map((delay) => retryQueueName(queue, delay)),
        deadLetterQueueName(queue),
      ]);
    }
  });
});
