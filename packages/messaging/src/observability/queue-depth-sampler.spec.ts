import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { createMetricsRegistry } from '@switchyard/telemetry';
import { createTestVhost, type TestVhost } from '@switchyard/testing';
import amqp, { type Channel, type ChannelModel } from 'amqplib';
import { consumerQueues, QueueDepthSampler } from './queue-depth-sampler.js';
import { RabbitMqConnection } from '../connection/rabbitmq-connection.js';

const QUEUE = 'depth-test.events';

let vhost: TestVhost;
let connection: RabbitMqConnection;
let inspector: ChannelModel;
let channel: Channel;

beforeAll(async () => {
  vhost = await createTestVhost('depth');
  connection = new RabbitMqConnection({ url: vhost.url });
  await connection.start();
  inspector = await amqp.connect(vhost.url);
  channel = await inspector.createConfirmChannel();
  await channel.assertQueue(QUEUE, { durable: true });
});

afterAll(async () => {
  await inspector?.close();
  await connection?.close();
  await vhost?.drop();
});

async function depths(registry: ReturnType<typeof createMetricsRegistry>): Promise<Record<string, number>> {
  const metric = await registry.getSingleMetric('messaging_queue_depth')!.get();
  return Object.fromEntries(metric.values.map((v) => [String(v.labels.queue), v.value]));
}

describe('consumerQueues', () => {
  it('names the work queue, each retry tier and the DLQ', () => {
    expect(consumerQueues('svc.events', [1_000, 120_000])).toEqual([
      'svc.events',
      'svc.events.retry.1s',
      'svc.events.retry.2m',
      'svc.events.dlq',
    ]);
  });
});

describe('QueueDepthSampler', () => {
  it('reports ready messages per queue, skips missing queues and keeps the connection up', async () => {
    for (let i = 0; i < 3; i++) channel.sendToQueue(QUEUE, Buffer.from('{}'));
    await (channel as unknown as { waitForConfirms(): Promise<void> }).waitForConfirms();
    const registry = createMetricsRegistry({ service: 'test', defaultMetrics: false });
    const sampler = new QueueDepthSampler({ connection, registry, intervalMs: 60_000 });
    sampler.watch([QUEUE, 'depth-test.missing', `${QUEUE}.dlq`]);
    try {
      await sampler.sample();
      // The missing queue closed the sampler's channel; the queue after it was still sampled on a new one.
      await channel.assertQueue(`${QUEUE}.dlq`, { durable: true });
      await sampler.sample();
      expect(await depths(registry)).toEqual({ [QUEUE]: 3, [`${QUEUE}.dlq`]: 0 });

      // A queue that disappears loses its series instead of reporting a stale depth.
      await channel.deleteQueue(`${QUEUE}.dlq`);
      await sampler.sample();
      expect(await depths(registry)).toEqual({ [QUEUE]: 3 });
      expect(connection.isReady).toBe(true);
      // The consumer count is the broker's to export (rabbitmq_detailed_queue_consumers), not each replica's.
      expect(registry.getSingleMetric('messaging_queue_consumers')).toBeUndefined();
    } finally {
      await sampler.stop();
    }
  });

  it('reports from one replica at a time: the one holding the exclusive sampler queue, and another after it is gone', async () => {
    const replicas = await Promise.all(
      [0, 1].map(async () => {
        const replicaConnection = new RabbitMqConnection({ url: vhost.url });
        await replicaConnection.start();
        const registry = createMetricsRegistry({ service: 'test', defaultMetrics: false });
        const sampler = new QueueDepthSampler({
          connection: replicaConnection,
          registry,
          intervalMs: 60_000,
          soleSamplerQueue: 'depth-test.queue-depth-sampler',
        });
        sampler.watch([QUEUE]);
        return { connection: replicaConnection, registry, sampler };
      }),
    );
    const [first, second] = replicas as [(typeof replicas)[0], (typeof replicas)[0]];
    try {
      await first.sampler.sample();
      await second.sampler.sample();
      expect(Object.keys(await depths(first.registry))).toEqual([QUEUE]);
      expect(await depths(second.registry)).toEqual({});
      expect(second.connection.isReady).toBe(true);

      // The holder's connection goes (a crashed pod): the broker deletes its exclusive queue, the other takes over.
      await first.sampler.stop();
      await first.connection.close();
      await second.sampler.sample();
      expect(Object.keys(await depths(second.registry))).toEqual([QUEUE]);
    } finally {
      for (const replica of replicas) {
        await replica.sampler.stop();
        await replica.connection.close();
      }
    }
  });

  it('samples nothing, and does not throw, without a connection', async () => {
    const closed = new RabbitMqConnection({ url: vhost.url });
    const registry = createMetricsRegistry({ service: 'test', defaultMetrics: false });
    const sampler = new QueueDepthSampler({ connection: closed, registry });
    sampler.watch([QUEUE]);
    await expect(sampler.sample()).resolves.toBeUndefined();
    expect(await depths(registry)).toEqual({});
    await sampler.stop();
  });
});
