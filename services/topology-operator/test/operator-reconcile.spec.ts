import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { CustomObjectsApi } from '@kubernetes/client-node';
import { parseConsumerPolicy, RabbitMqConnection, retryQueueName } from '@switchyard/messaging/topology';
import { createTestVhost, type TestVhost, waitFor } from '@switchyard/testing';
import { FINALIZER, OPERATOR_NAME } from '../src/api/v1alpha1/index.js';
import { connectionChannels } from '../src/controller/broker-channels.js';
import type { TopologyOperator } from '../src/operator.js';
import {
  brokerProbe,
  type ClusterUser,
  condition,
  crd,
  forbiddenIn,
  type OperatorCluster,
  recordingLogger,
  startOperatorCluster,
  testOperator,
  waitForLeader,
} from './operator-harness.js';

// The main flow, end to end through the real runtime: an EventSubscription created on the API server becomes
// queues on the real RabbitMQ, a ConfigMap key with the consumer policy, a status with conditions and Events; a spec
// change reaches the ConfigMap; a delete cleans up and lets the object go. The operator runs as a ServiceAccount
// bound to exactly the chart's RBAC: any other verb is refused (403) by the server and shows up in its log.

const NAME = 'orders-user-events';
const QUEUE = 'order-service.user-events';
const POLICY_KEY = `${QUEUE}.json`;

let cluster: OperatorCluster;
let vhost: TestVhost;
let connection: RabbitMqConnection;
let operator: TopologyOperator;
let user: ClusterUser;
let probe: Awaited<ReturnType<typeof brokerProbe>>;
const log = recordingLogger();

beforeAll(async () => {
  cluster = await startOperatorCluster('reconcile');
  vhost = await createTestVhost('operator_reconcile');
  connection = new RabbitMqConnection({
    url: vhost.identityUrl('switchyard-operator'),
    connectionName: 'topology-operator-test',
  });
  await connection.start();
  probe = await brokerProbe(vhost.url);
  user = cluster.user;
  operator = testOperator(cluster, connectionChannels(connection), 'operator-0', {
    config: {
      watchNamespace: cluster.namespace,
      podName: 'operator-0',
      podNamespace: cluster.namespace,
      leaseName: 'switchyard-topology-operator',
      resyncSeconds: 300,
      statusRefreshSeconds: 1,
    },
    logger: log.logger,
  });
  await operator.start();
  await waitForLeader([operator]);
}, 60_000);

afterAll(async () => {
  await operator?.stop();
  await probe?.close();
  await connection?.close();
  await vhost?.drop();
  await cluster?.drop();
}, 90_000);

describe('the operator reconciling an EventSubscription', () => {
  it('declares the queues, writes the policy ConfigMap key, the status and an Event', async () => {
    const created = await user.create(NAME, { deletionPolicy: 'Delete' });

    const reconciled = await waitFor(
      'TopologyReconciled True',
      async () => {
        const current = await user.get(NAME);
        return condition(current, 'TopologyReconciled')?.status === 'True' ? current : undefined;
      },
      30_000,
    );
    expect(reconciled.status?.observedGeneration).toBe(created.metadata.generation);
    expect(reconciled.metadata.finalizers).toContain(FINALIZER);
    expect(reconciled.status?.conditions?.map((c) => c.type)).toEqual([
      'Ready',
      'TopologyReconciled',
      'ConsumerHealthy',
    ]);
    expect(condition(reconciled, 'ConsumerHealthy')).toMatchObject({ status: 'False', reason: 'NoConsumers' });

    for (const queue of [QUEUE, retryQueueName(QUEUE, 1000), retryQueueName(QUEUE, 5000), `${QUEUE}.dlq`]) {
      expect(await probe.queueExists(queue)).toBe(true);
    }

    const data = await user.configMapData('order-service');
    const policy = parseConsumerPolicy(data?.[POLICY_KEY] ?? '');
    expect(policy).toMatchObject({
      service: 'order-service',
      queue: QUEUE,
      retryDelaysMs: [1000, 5000],
      paused: false,
      prefetch: 20,
      generation: created.metadata.generation,
    });
    const configMap = await user.core.readNamespacedConfigMap({
      name: 'order-service-consumer-policy',
      namespace: cluster.namespace,
    });
    expect(configMap.metadata?.labels).toMatchObject({ 'app.kubernetes.io/managed-by': OPERATOR_NAME });

    const events = await waitFor('a TopologyApplied event', async () => {
      const found = await cluster.eventsAbout(NAME);
      return found.some((event) => event.reason === 'TopologyApplied') ? found : undefined;
    });
    expect(events.find((event) => event.reason === 'TopologyApplied')).toMatchObject({
      type: 'Normal',
      source: { component: OPERATOR_NAME },
      reportingInstance: 'operator-0',
    });
  }, 60_000);

  it('refreshes depth and consumers in status and turns Ready once a consumer attaches', async () => {
    const channel = await probe.model.createChannel();
    await channel.consume(QUEUE, () => undefined);
    const ready = await waitFor(
      'Ready True with one consumer',
      async () => {
        const current = await user.get(NAME);
        return condition(current, 'Ready')?.status === 'True' && current?.status?.consumers === 1 ? current : undefined;
      },
      30_000,
    );
    expect(ready.status).toMatchObject({ queueDepth: 0, deadLetterDepth: 0, consumers: 1 });
    await channel.close();
  }, 60_000);

  it('does not rewrite a status in which only lastObservedTime would change', async () => {
    // The consumer of the previous test is gone: wait for that change to be written, then for nothing to change.
    await waitFor('consumers back to 0 in status', async () => (await user.get(NAME))?.status?.consumers === 0, 30_000);
    // Any write, to status or not, gives the object a new resourceVersion.
    const resourceVersion = async () => (await user.get(NAME))?.metadata.resourceVersion;
    const successes = async () =>
      (await operator.metrics.registry.getMetricsAsJSON())
        .find((metric) => metric.name === 'reconcile_total')
        ?.values.find((value) => value.labels.result === 'success')?.value ?? 0;
    const versionBefore = await resourceVersion();
    const before = await successes();
    const observedBefore = (await user.get(NAME))?.status?.lastObservedTime;
    // Three more refreshes (one a second), each observing the queues.
    await waitFor('three more reconciles', async () => (await successes()) >= before + 3, 30_000);
    expect(await resourceVersion()).toBe(versionBefore);
    expect((await user.get(NAME))?.status?.lastObservedTime).toBe(observedBefore);
  }, 60_000);

  it('carries a spec change (retry delays, paused) to the ConfigMap and status.observedGeneration', async () => {
    const patched = await user.patchSpec(NAME, {
      retry: { maxAttempts: 3, backoff: { delays: ['2s', '10s'] } },
      paused: true,
    });
    const policy = await waitFor(
      'the changed policy in the ConfigMap',
      async () => {
        const text = (await user.configMapData('order-service'))?.[POLICY_KEY];
        const parsed = text ? parseConsumerPolicy(text) : undefined;
        return parsed?.paused === true ? parsed : undefined;
      },
      30_000,
    );
    expect(policy).toMatchObject({
      retryDelaysMs: [2000, 10_000],
      paused: true,
      generation: patched.metadata.generation,
    });
    await waitFor(
      'observedGeneration of the change',
      async () => (await user.get(NAME))?.status?.observedGeneration === patched.metadata.generation,
      30_000,
    );
    expect(await probe.queueExists(retryQueueName(QUEUE, 2000))).toBe(true);
    expect(await probe.queueExists(retryQueueName(QUEUE, 10_000))).toBe(true);
  }, 60_000);

  it('counts successful reconciles and reports itself as leader in the metrics', async () => {
    const metrics = await operator.metrics.registry.getMetricsAsJSON();
    const total = metrics.find((metric) => metric.name === 'reconcile_total')?.values ?? [];
    expect(total.find((value) => value.labels.result === 'success')?.value).toBeGreaterThan(0);
    expect(metrics.find((metric) => metric.name === 'topology_operator_leader')?.values[0]?.value).toBe(1);
    expect(metrics.map((metric) => metric.name)).toEqual(
      expect.arrayContaining(['reconcile_duration_seconds', 'topology_operator_workqueue_depth']),
    );
  });

  it('deletes the queues (deletionPolicy Delete) and the ConfigMap key, then lets the object go', async () => {
    await user.delete(NAME);
    await waitFor('the subscription to be gone', async () => (await user.get(NAME)) === undefined, 30_000);
    for (const queue of [QUEUE, retryQueueName(QUEUE, 2000), retryQueueName(QUEUE, 10_000), `${QUEUE}.dlq`]) {
      expect(await probe.queueExists(queue)).toBe(false);
    }
    const data = await user.configMapData('order-service');
    expect(data?.[POLICY_KEY]).toBeUndefined();
    expect((await cluster.eventsAbout(NAME)).map((event) => event.reason)).toContain('TopologyDeleted');
  }, 60_000);

  it('did all of it with exactly the chart RBAC: the server refused none of its requests', () => {
    expect(forbiddenIn(log.lines)).toEqual([]);
    // The log would show a refusal: debug and up are kept, and the operator did log its work.
    expect(log.lines.map((line) => line.msg)).toEqual(expect.arrayContaining(['became leader', 'reconciled']));
  });

  it('is refused what the chart does not grant: its ServiceAccount may not create, get or delete subscriptions', async () => {
    const asOperator = cluster.operatorKubeConfig().makeApiClient(CustomObjectsApi);
    const body = {
      apiVersion: `${crd.group}/${crd.version}`,
      kind: 'EventSubscription',
      metadata: { name: 'not-allowed' },
      spec: { service: 'order-service', queue: 'order-service.not-allowed', events: [{ type: 'user.created' }] },
    };
    await expect(
      asOperator.createNamespacedCustomObject({ ...crd, namespace: cluster.namespace, body }),
    ).rejects.toMatchObject({ code: 403 });
    await expect(
      asOperator.getNamespacedCustomObject({ ...crd, namespace: cluster.namespace, name: 'anything' }),
    ).rejects.toMatchObject({ code: 403 });
    await expect(
      asOperator.deleteNamespacedCustomObject({ ...crd, namespace: cluster.namespace, name: 'anything' }),
    ).rejects.toMatchObject({ code: 403 });
    // And what it holds, it holds in the test namespace only.
    await expect(asOperator.listNamespacedCustomObject({ ...crd, namespace: 'default' })).rejects.toMatchObject({
      code: 403,
    });
  });
});
