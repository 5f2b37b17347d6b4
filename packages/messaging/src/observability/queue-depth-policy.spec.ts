import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { createMetricsRegistry } from '@switchyard/telemetry';
import { createTestVhost, type TestVhost } from '@switchyard/testing';
import { consumerQueues, QueueDepthSampler } from './queue-depth-sampler.js';
import { RabbitMqConnection } from '../connection/rabbitmq-connection.js';

const QUEUE = 'depth-policy.events';

let vhost: TestVhost;
let connection: RabbitMqConnection;

beforeAll(async () => {
  vhost = await createTestVhost('depth_policy');
  connection = new RabbitMqConnection({ url: vhost.url });
  await connection.start();
  const channel = await connection.current()!.createChannel();
  for (const queue of [QUEUE, `${QUEUE}.retry.1s`, `${QUEUE}.retry.2s`, `${QUEUE}.dlq`, 'depth-policy.parked'])
    await channel.assertQueue(queue, { durable: true });
  channel.sendToQueue('depth-policy.parked', Buffer.from('{}'));
  await channel.close();
});

afterAll(async () => {
  await connection?.close();
  await vhost?.drop();
});

describe('QueueDepthSampler following a consumer policy', () => {
  it('names the policy’s dead-letter queue instead of <queue>.dlq', () => {
    expect(consumerQueues(QUEUE, [1_000], 'depth-policy.parked')).toEqual([
      QUEUE,
      `${QUEUE}.retry.1s`,
      'depth-policy.parked',
    ]);
    expect(consumerQueues(QUEUE, [1_000, 1_000])).toEqual([QUEUE, `${QUEUE}.retry.1s`, `${QUEUE}.dlq`]);
  });

  it('replaces a consumer’s queues when its policy moves the tiers and the DLQ, dropping the old series', async () => {
    const registry = createMetricsRegistry({ service: 'test', defaultMetrics: false });
    const sampler = new QueueDepthSampler({ connection, registry, intervalMs: 60_000 });
    const depths = async (): Promise<Record<string, number>> =>
      Object.fromEntries(
        (await registry.getSingleMetric('messaging_queue_depth')!.get()).values.map((v) => [
          String(v.labels.queue),
          v.value,
        ]),
      );
    try {
      sampler.watch(['depth-policy.fixed-missing']);
      sampler.watchConsumer(QUEUE, consumerQueues(QUEUE, [1_000]));
      await sampler.sample();
      expect(await depths()).toEqual({ [QUEUE]: 0, [`${QUEUE}.retry.1s`]: 0, [`${QUEUE}.dlq`]: 0 });

      sampler.watchConsumer(QUEUE, consumerQueues(QUEUE, [2_000], 'depth-policy.parked'));
      expect(await depths()).toEqual({ [QUEUE]: 0 });
      await sampler.sample();
      expect(await depths()).toEqual({ [QUEUE]: 0, [`${QUEUE}.retry.2s`]: 0, 'depth-policy.parked': 1 });
      expect([...sampler.watched()].sort()).toEqual(
        ['depth-policy.fixed-missing', 'depth-policy.parked', QUEUE, `${QUEUE}.retry.2s`].sort(),
      );
    } finally {
      await sampler.stop();
    }
  });
});
