import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import {
  declareTopology,
  planConsumerTopology,
  RabbitMqConnection,
  retryQueueName,
  topologyInputOf,
} from '@switchyard/messaging/topology';
import { createTestVhost, type TestVhost, waitFor } from '@switchyard/testing';
import { operatorConfigFromEnv } from '../src/config/operator-config.js';
import { connectionChannels } from '../src/controller/broker-channels.js';
import type { TopologyOperator } from '../src/operator.js';
import { consumerPolicyOf } from '../src/subscription/subscription-policy.js';
import { resolveSubscriptionSpec } from '../src/subscription/subscription-spec.js';
import {
  brokerProbe,
  condition,
  DEFAULT_LEASE,
  forbiddenIn,
  type OperatorCluster,
  recordingLogger,
  startOperatorCluster,
  subscriptionSpec,
  testOperator,
  waitForLeader,
} from './operator-harness.js';

// The operator as the chart runs it by default, against the real API server and RabbitMQ: configured from the
// environment the Deployment gives it (no WATCH_NAMESPACE: its own namespace), under the chart's default RBAC (a
// Role there), it reconciles without a single 403; and with deletionPolicy Delete it leaves a queue it did not
// create on the broker.

let cluster: OperatorCluster;
let vhost: TestVhost;
let connection: RabbitMqConnection;
let operator: TopologyOperator;
let probe: Awaited<ReturnType<typeof brokerProbe>>;
const log = recordingLogger();

beforeAll(async () => {
  cluster = await startOperatorCluster('tenancy');
  vhost = await createTestVhost('operator_tenancy');
  connection = new RabbitMqConnection({
    url: vhost.identityUrl('switchyard-operator'),
    connectionName: 'topology-operator-tenancy-test',
  });
  await connection.start();
  probe = await brokerProbe(vhost.url);
  const config = operatorConfigFromEnv({
    RABBITMQ_URL: vhost.identityUrl('switchyard-operator'),
    POD_NAME: 'operator-tenancy',
    POD_NAMESPACE: cluster.namespace,
    LEASE_NAME: DEFAULT_LEASE,
  });
  // testOperator names the test namespace itself; here the environment must arrive at the same place on its own.
  expect(config.watchNamespace).toBe(cluster.namespace);
  operator = testOperator(cluster, connectionChannels(connection), 'operator-tenancy', {
    logger: log.logger,
    config: { ...config, resyncSeconds: 300, statusRefreshSeconds: 30 },
  });
  await operator.start();
  await waitForLeader([operator]);
}, 90_000);

afterAll(async () => {
  await operator?.stop();
  await probe?.close();
  await connection?.close();
  await vhost?.drop();
  await cluster?.drop();
}, 90_000);

const reconciled = (name: string) =>
  waitFor(
    `${name} reconciled`,
    async () => {
      const current = await cluster.user.get(name);
      return condition(current, 'TopologyReconciled')?.status === 'True' ? current : undefined;
    },
    30_000,
  );

describe('the operator with its default configuration and the chart default RBAC', () => {
  it('serves its own namespace without a single 403', async () => {
    await cluster.user.create('own-namespace', { queue: 'order-service.own-namespace', queueType: 'classic' });
    await reconciled('own-namespace');
    await waitFor(
      'its consumer policy key',
      async () => (await cluster.user.configMapData('order-service'))?.['order-service.own-namespace.json'],
      30_000,
    );
    expect(forbiddenIn(log.lines)).toEqual([]);
  }, 60_000);

  it('leaves a queue it did not create on the broker with deletionPolicy Delete, and says so', async () => {
    const queue = 'order-service.made-by-the-service';
    const spec = subscriptionSpec({ queue, queueType: 'classic', deletionPolicy: 'Delete' });
    // The consuming service started first and declared its topology from the same policy.
    const policy = consumerPolicyOf({ name: 'made-by-the-service' }, resolveSubscriptionSpec(spec));
    await declareTopology(connectionChannels(connection), planConsumerTopology(topologyInputOf(policy)));
    await cluster.user.create('made-by-the-service', spec);
    const applied = await reconciled('made-by-the-service');
    expect(applied.status?.appliedTopology?.createdQueues).toEqual([]);

    await cluster.user.delete('made-by-the-service');
    await waitFor(
      'the subscription gone (finalizer removed)',
      async () => (await cluster.user.get('made-by-the-service')) === undefined,
      30_000,
    );
    for (const name of [queue, retryQueueName(queue, 1_000), retryQueueName(queue, 5_000), `${queue}.dlq`])
      expect({ name, exists: await probe.queueExists(name) }).toEqual({ name, exists: true });
    const warning = await waitFor(
      'a QueuesNotOwned Warning',
      async () => (await cluster.eventsAbout('made-by-the-service')).find((event) => event.reason === 'QueuesNotOwned'),
      15_000,
    );
    expect(warning).toMatchObject({ type: 'Warning', message: expect.stringContaining(`'${queue}'`) });
  }, 90_000);
});
