import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { parseConsumerPolicy, RabbitMqConnection } from '@switchyard/messaging/topology';
import { createTestVhost, type FaultProxy, startFaultProxy, type TestVhost, waitFor } from '@switchyard/testing';
import { connectionChannels } from '../src/controller/broker-channels.js';
import type { TopologyOperator } from '../src/operator.js';
import {
  type ClusterUser,
  condition,
  type OperatorCluster,
  startOperatorCluster,
  testOperator,
  waitForLeader,
} from './operator-harness.js';

// RabbitMQ becoming unreachable while the operator runs. The shared broker must not be stopped, so the operator
// reaches it through a TCP fault proxy of its own, which the test switches to "reset" (every connection refused)
// and back: a failed reconcile is a Warning Event, an `error` result and a requeue with backoff, and the same
// subscription reconciles once the broker is reachable again.

const NAME = 'outage';
const POLICY_KEY = 'order-service.outage.json';

let cluster: OperatorCluster;
let vhost: TestVhost;
let proxy: FaultProxy;
let connection: RabbitMqConnection;
let operator: TopologyOperator;
let user: ClusterUser;

beforeAll(async () => {
  cluster = await startOperatorCluster('outage');
  vhost = await createTestVhost('operator_outage');
  proxy = await startFaultProxy('topology-operator → rabbitmq', { port: 5672 });
  const url = new URL(vhost.identityUrl('switchyard-operator'));
  url.port = String(proxy.port);
  connection = new RabbitMqConnection({
    url: url.toString(),
    reconnectInitialDelayMs: 100,
    reconnectMaxDelayMs: 500,
    heartbeatSeconds: 5,
  });
  await connection.start();
  user = cluster.user;
  operator = testOperator(cluster, connectionChannels(connection), 'operator-outage');
  await operator.start();
  await waitForLeader([operator]);
}, 60_000);

afterAll(async () => {
  await operator?.stop();
  await connection?.close();
  await proxy?.close();
  await vhost?.drop();
  await cluster?.drop();
}, 90_000);

async function results(): Promise<Record<string, number>> {
  const metric = (await operator.metrics.registry.getMetricsAsJSON()).find((m) => m.name === 'reconcile_total')!;
  return Object.fromEntries(metric.values.map((value) => [String(value.labels.result), value.value]));
}

async function prefetchInPolicy(): Promise<number | undefined> {
  const text = (await user.configMapData('order-service'))?.[POLICY_KEY];
  return text ? parseConsumerPolicy(text).prefetch : undefined;
}

describe('the operator while RabbitMQ is unreachable', () => {
  it('reconciles normally through the proxy', async () => {
    // Classic: quorum queues are not the point here, and each one costs the shared broker a Raft cluster.
    await user.create(NAME, { queue: 'order-service.outage', queueType: 'classic', prefetch: 10 });
    await waitFor(
      'the topology to be applied',
      async () => condition(await user.get(NAME), 'TopologyReconciled')?.status === 'True',
      30_000,
    );
    expect(await prefetchInPolicy()).toBe(10);
  }, 60_000);

  it('records a Warning, counts errors and requeues with backoff while the broker is down, then recovers', async () => {
    const before = await results();
    proxy.setMode({ kind: 'reset' });
    await waitFor('the operator to notice the lost connection', () => connection.current() === undefined, 15_000);

    await user.patchSpec(NAME, { prefetch: 30 });
    // Two failures at least: the first attempt and a requeued one.
    await waitFor('two failed reconciles', async () => (await results()).error! >= before.error! + 2, 30_000);
    const failing = await user.get(NAME);
    expect(condition(failing, 'TopologyReconciled')).toMatchObject({ status: 'False', reason: 'BrokerError' });
    const warnings = (await cluster.eventsAbout(NAME)).filter((event) => event.type === 'Warning');
    expect(warnings.length).toBeGreaterThan(0);
    expect(warnings[0]!.message).toMatch(/RabbitMQ is not connected/);
    // The policy keeps the last good values while the new ones could not be applied.
    expect(await prefetchInPolicy()).toBe(10);

    proxy.passThrough();
    await waitFor(
      'the change to be applied once the broker is back',
      async () => (await prefetchInPolicy()) === 30,
      30_000,
    );
    const recovered = await waitFor(
      'TopologyReconciled True again',
      async () => {
        const current = await user.get(NAME);
        return condition(current, 'TopologyReconciled')?.status === 'True' ? current : undefined;
      },
      30_000,
    );
    expect(recovered.status?.observedGeneration).toBe(recovered.metadata.generation);
    await waitFor('a successful reconcile counted', async () => (await results()).success! > before.success!);
  }, 90_000);
});
