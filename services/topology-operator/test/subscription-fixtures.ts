// Shared by the subscription-*.spec.ts files: a subscription as the operator receives it, and a real broker
// (a fresh vhost of the machine's RabbitMQ) with a few probes the tests assert with.
import { createTestVhost, type TestVhost, waitFor } from '@switchyard/testing';
import amqp, { type Channel, type ChannelModel } from 'amqplib';
import type { EventSubscription, EventSubscriptionSpec, EventSubscriptionStatus } from '../src/api/v1alpha1/index.js';

let counter = 0;
/** A unique work queue for one test, `order-service.<label>-<n>`. */
export function uniqueQueue(label: string): string {
  return `order-service.${label}-${++counter}`;
}

/** An EventSubscription as a test hands it to reconcileSubscription directly: not defaulted by an API server. */
export function subscriptionOf(
  spec: Partial<EventSubscriptionSpec> & { queue: string },
  generation = 1,
  status?: EventSubscriptionStatus,
): EventSubscription {
  return {
    apiVersion: 'switchyard.io/v1alpha1',
    kind: 'EventSubscription',
    metadata: { name: spec.queue, namespace: 'test', generation, uid: `uid-${spec.queue}` },
    spec: { service: 'order-service', events: [{ type: 'user.created' }], ...spec },
    ...(status !== undefined && { status }),
  };
}

/** The same subscription under other metadata: another namespace or name, an older or newer creationTimestamp. */
export function withMetadata(
  subscription: EventSubscription,
  metadata: Partial<EventSubscription['metadata']>,
): EventSubscription {
  const merged = { ...subscription.metadata, ...metadata };
  return { ...subscription, metadata: { ...merged, uid: `uid-${merged.namespace ?? ''}-${merged.name}` } };
}

export interface TestBroker {
  vhost: TestVhost;
  /** What the operator code gets: a plain amqplib connection. */
  connection: ChannelModel;
  /** Depth and consumers of a queue, or undefined when it does not exist (probed on a throwaway channel). */
  queueState(queue: string): Promise<{ messageCount: number; consumerCount: number } | undefined>;
  /** Publishes one persistent message and waits for the broker's confirm. */
  publish(exchange: string, routingKey: string, body?: string): Promise<void>;
  /** Gets every message waiting in a queue (acked), in order, with its routing key. */
  drain(queue: string): Promise<string[]>;
  /** Waits until a queue holds exactly `count` messages. */
  waitForDepth(queue: string, count: number): Promise<void>;
  close(): Promise<void>;
}

export async function startTestBroker(label: string): Promise<TestBroker> {
  const vhost = await createTestVhost(label);
  const connection = await amqp.connect(vhost.url);
  // A connection-level failure fails the test that caused it through its rejected call, not the whole process.
  connection.on('error', () => undefined);
  const confirm = await connection.createConfirmChannel();
  const onThrowaway = async <T>(work: (channel: Channel) => Promise<T>): Promise<T> => {
    const channel = await connection.createChannel();
    let closed = false;
    channel.on('error', () => undefined);
    channel.on('close', () => (closed = true));
    try {
      return await work(channel);
    } finally {
      if (!closed) await channel.close().catch(() => undefined);
    }
  };
  const queueState = async (queue: string) => {
    try {
      const { messageCount, consumerCount } = await onThrowaway((channel) => channel.checkQueue(queue));
      return { messageCount, consumerCount };
    } catch (error) {
      if ((error as { code?: number }).code === 404) return undefined;
      throw error;
    }
  };
  return {
    vhost,
    connection,
    queueState,
    publish: async (exchange, routingKey, body = routingKey) => {
      confirm.publish(exchange, routingKey, Buffer.from(body), { persistent: true });
      await confirm.waitForConfirms();
    },
    drain: (queue) =>
      onThrowaway(async (channel) => {
        const keys: string[] = [];
        for (
          let message = await channel.get(queue, { noAck: true });
          message !== false;
          message = await channel.get(queue, { noAck: true })
        ) {
          keys.push(message.fields.routingKey);
        }
        return keys;
      }),
    waitForDepth: async (queue, count) => {
      await waitFor(
        `${count} message(s) in ${queue}`,
        async () => (await queueState(queue))?.messageCount === count,
        20_000,
      );
    },
    close: async () => {
      await connection.close().catch(() => undefined);
      await vhost.drop();
    },
  };
}
