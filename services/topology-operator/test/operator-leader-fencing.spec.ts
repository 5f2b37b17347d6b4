import { afterAll, afterEach, beforeAll, describe, expect, it } from '@jest/globals';
import { type ChannelFactory, RabbitMqConnection } from '@switchyard/messaging/topology';
import { createTestVhost, type TestVhost, waitFor } from '@switchyard/testing';
import type { Channel } from 'amqplib';
import { FINALIZER, type EventSubscription } from '../src/api/v1alpha1/index.js';
import { connectionChannels } from '../src/controller/broker-channels.js';
import { type SubscriptionCache, SubscriptionController } from '../src/controller/subscription-controller.js';
import { ConsumerPolicyConfigMap } from '../src/kube/consumer-policy-config-map.js';
import { EventRecorder } from '../src/kube/event-recorder.js';
import { createKubeClients } from '../src/kube/kube-clients.js';
import { SubscriptionWriter } from '../src/kube/subscription-writer.js';
import type { TopologyOperator } from '../src/operator.js';
import { silentOperatorLogger } from '../src/operator-logger.js';
import { OperatorMetrics } from '../src/operator-metrics.js';
import {
  brokerProbe,
  type ClusterUser,
  condition,
  type OperatorCluster,
  startOperatorCluster,
  testOperator,
  waitForLeader,
} from './operator-harness.js';

// Broker writes are fenced to the leader: a replica that stops leading in the middle of a cleanup stops before its
// next destructive broker call (the new leader finishes the job), and a new term of the same replica starts only
// once the previous term's workers are done, so no key is ever worked on twice at once.

let cluster: OperatorCluster;
let vhost: TestVhost;
let connection: RabbitMqConnection;
let user: ClusterUser;
let probe: Awaited<ReturnType<typeof brokerProbe>>;
const stopAfter: Array<{ stop(): Promise<void> }> = [];

beforeAll(async () => {
  cluster = await startOperatorCluster('fencing');
  vhost = await createTestVhost('operator_fencing');
  connection = new RabbitMqConnection({
    url: vhost.identityUrl('switchyard-operator'),
    connectionName: 'topology-operator-fencing-test',
  });
  await connection.start();
  probe = await brokerProbe(vhost.url);
  user = cluster.user;
}, 60_000);

afterEach(async () => {
  await Promise.all(stopAfter.splice(0).map((thing) => thing.stop()));
}, 30_000);

afterAll(async () => {
  await probe?.close();
  await connection?.close();
  await vhost?.drop();
  await cluster?.drop();
}, 90_000);

/**
 * The real broker, with the operator's destructive channel calls noted (and a hook run before each): a spy on
 * what the operator asks of RabbitMQ, not a stand-in for it.
 */
interface WatchedBroker extends ChannelFactory {
  calls: string[];
  beforeCall: ((method: string) => void) | undefined;
}

const DESTRUCTIVE = new Set(['deleteQueue', 'unbindQueue', 'deleteExchange', 'purgeQueue']);

function watchedBroker(inner: ChannelFactory): WatchedBroker {
  const broker: WatchedBroker = {
    calls: [],
    beforeCall: undefined,
    createChannel: async () => {
      const channel = await inner.createChannel();
      return new Proxy(channel, {
        get(target, property) {
          const value: unknown = Reflect.get(target, property, target);
          if (typeof value !== 'function') return value;
          const method = value as (...args: unknown[]) => unknown;
          if (typeof property !== 'string' || !DESTRUCTIVE.has(property)) return method.bind(target);
          return (...args: unknown[]) => {
            broker.calls.push(`${property} ${String(args[0])}`);
            broker.beforeCall?.(property);
            return method.apply(target, args);
          };
        },
      }) as Channel;
    },
  };
  return broker;
}

function operatorOn(broker: ChannelFactory, identity: string): TopologyOperator {
  const operator = testOperator(cluster, broker, identity);
  stopAfter.push(operator);
  return operator;
}

describe('leader fencing', () => {
  it('stops a cleanup before its next destructive broker call once the replica stops leading; the next leader finishes it', async () => {
    const broker = watchedBroker(connectionChannels(connection));
    const first = operatorOn(broker, 'fencing-a');
    await first.start();
    await waitForLeader([first]);
    const queue = 'order-service.fenced-cleanup';
    const names = [queue, `${queue}.dlq`];
    await user.create('fenced-cleanup', {
      queue,
      deletionPolicy: 'Delete',
      events: [{ type: 'user.created' }, { type: 'user.deleted' }],
    });
    await waitFor(
      'reconciled',
      async () => condition(await user.get('fenced-cleanup'), 'TopologyReconciled')?.status === 'True',
      30_000,
    );

    // The replica loses leadership (here: it is stopped) right as the cleanup makes its first destructive call.
    let stopping: Promise<void> | undefined;
    broker.calls.length = 0;
    broker.beforeCall = () => {
      stopping ??= first.stop();
    };
    await user.delete('fenced-cleanup');
    await waitFor('the replica to stop', () => stopping !== undefined, 30_000);
    await stopping;
    expect(broker.calls).toHaveLength(1);
    for (const name of names) expect(await probe.queueExists(name)).toBe(true);
    expect((await user.get('fenced-cleanup'))?.metadata.finalizers).toContain(FINALIZER);

    const next = operatorOn(connectionChannels(connection), 'fencing-b');
    await next.start();
    await waitFor('the subscription to be gone', async () => (await user.get('fenced-cleanup')) === undefined, 30_000);
    for (const name of names) expect(await probe.queueExists(name)).toBe(false);
  }, 90_000);

  it("opens a new term only after the previous term's workers have returned", async () => {
    const created = await user.create('overlap', { queue: 'order-service.overlap' });
    const key = `${cluster.namespace}/overlap`;
    const cache: SubscriptionCache = {
      get: (wanted) => (wanted === key ? created : undefined),
      keys: () => [key],
      list: () => [created],
      deleted: () => undefined,
      forgetDeleted: () => undefined,
      deletedKeys: () => [],
    };
    // The first reconcile's first broker call waits until the test lets it go.
    let release: () => void = () => undefined;
    const gate = new Promise<void>((resolve) => (release = resolve));
    let channelsAsked = 0;
    const inner = connectionChannels(connection);
    const broker: ChannelFactory = {
      createChannel: async () => {
        if (++channelsAsked === 1) await gate;
        return inner.createChannel();
      },
    };
    const clients = createKubeClients(cluster.operatorKubeConfig());
    const logger = silentOperatorLogger();
    const controller = new SubscriptionController({
      cache,
      writer: new SubscriptionWriter(clients.customObjects),
      configMaps: new ConsumerPolicyConfigMap(clients.core),
      recorder: new EventRecorder({ core: clients.core, logger, instance: 'fencing-c' }),
      broker,
      metrics: new OperatorMetrics(),
      logger,
      statusRefreshMs: 300_000,
    });
    stopAfter.push({ stop: () => controller.stopLeading() });

    await controller.startLeading();
    await waitFor('the first reconcile at the broker', () => channelsAsked === 1);
    // Leadership lost and won back while that reconcile is still in flight.
    const stopped = controller.stopLeading();
    let reopened = false;
    const started = controller.startLeading().then(() => {
      reopened = true;
    });
    // A window for a second worker to start on the same key, if one could (it must not).
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect({ leading: controller.isLeading, reopened, channelsAsked }).toEqual({
      leading: false,
      reopened: false,
      channelsAsked: 1,
    });

    release();
    await stopped;
    await started;
    expect(controller.isLeading).toBe(true);
    const reconciled = await waitFor(
      'the new term to reconcile the key',
      async () => {
        const current = (await user.get('overlap')) as EventSubscription | undefined;
        return condition(current, 'TopologyReconciled')?.status === 'True' ? current : undefined;
      },
      30_000,
    );
    expect(reconciled.status?.observedGeneration).toBe(created.metadata.generation);
  }, 60_000);
});
