import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { parseConsumerPolicy, RabbitMqConnection, retryQueueName } from '@switchyard/messaging';
import { createTestVhost, type KubeApiStandIn, startKubeApiStandIn, type TestVhost, waitFor } from '@switchyard/testing';
import { FINALIZER, OPERATOR_NAME } from '../src/api-names.js';
import { connectionChannels } from '../src/controller/broker-channels.js';
import type { TopologyOperator } from '../src/operator.js';
import {
  brokerProbe,
  clusterUser,
  type ClusterUser,
  condition,
  eventsAbout,
  NAMESPACE,
  OPERATOR_RULES,
  OPERATOR_VERBS,
  stored,
  testOperator,
  waitForLeader,
} from './operator-harness.js';

// The main flow, end to end through the real runtime: an EventSubscription created in the API (stand-in) becomes
// queues on the real RabbitMQ, a ConfigMap key with the consumer policy, a status with conditions and Events; a spec
// change reaches the ConfigMap; a delete cleans up and lets the object go. The operator runs with exactly the RBAC
// rules of the contract: any other verb would be refused (403) and show up below.

const NAME = 'orders-user-events';
const QUEUE = 'order-service.user-events';
const POLICY_KEY = `${QUEUE}.json`;

let standIn: KubeApiStandIn;
let vhost: TestVhost;
let connection: RabbitMqConnection;
let operator: TopologyOperator;
let user: ClusterUser;
let probe: Awaited<ReturnType<typeof brokerProbe>>;

beforeAll(async () => {
  standIn = await startKubeApiStandIn({
    rules: [...OPERATOR_RULES, { apiGroups: ['switchyard.io'], resources: ['eventsubscriptions'], verbs: ['create', 'get', 'delete'] }],
  });
  vhost = await createTestVhost('operator_reconcile');
  connection = new RabbitMqConnection({ url: vhost.url, connectionName: 'topology-operator-test' });
  await connection.start();
  probe = await brokerProbe(vhost.url);
  user = clusterUser(standIn);
  operator = testOperator(standIn, connectionChannels(connection), 'operator-0', {
    config: { watchNamespace: NAMESPACE, podName: 'operator-0', podNamespace: NAMESPACE, leaseName: 'switchyard-topology-operator', resyncSeconds: 300, statusRefreshSeconds: 1 },
  });
  await operator.start();
  await waitForLeader([operator]);
}, 60_000);

afterAll(async () => {
  await operator?.stop();
  await probe?.close();
  await connection?.close();
  await vhost?.drop();
  await standIn?.close();
}, 60_000);

describe('the operator reconciling an EventSubscription', () => {
  it('declares the queues, writes the policy ConfigMap key, the status and an Event', async () => {
    const created = await user.create(NAME, { deletionPolicy: 'Delete' });

    const reconciled = await waitFor('TopologyReconciled True', async () => {
      const current = await user.get(NAME);
      return condition(current, 'TopologyReconciled')?.status === 'True' ? current : undefined;
    }, 30_000);
    expect(reconciled.status?.observedGeneration).toBe(created.metadata.generation);
    expect(reconciled.metadata.finalizers).toContain(FINALIZER);
    expect(reconciled.status?.conditions?.map((c) => c.type)).toEqual(['Ready', 'TopologyReconciled', 'ConsumerHealthy']);
    expect(condition(reconciled, 'ConsumerHealthy')).toMatchObject({ status: 'False', reason: 'NoConsumers' });

    for (const queue of [QUEUE, retryQueueName(QUEUE, 1000), retryQueueName(QUEUE, 5000), `${QUEUE}.dlq`]) {
      expect(await probe.queueExists(queue)).toBe(true);
    }

    const data = await user.configMapData('order-service');
    const policy = parseConsumerPolicy(data?.[POLICY_KEY] ?? '');
    expect(policy).toMatchObject({ service: 'order-service', queue: QUEUE, retryDelaysMs: [1000, 5000], paused: false, prefetch: 20, generation: created.metadata.generation });
    expect(stored(standIn, 'configmaps', 'order-service-consumer-policy')?.metadata.labels).toMatchObject({ 'app.kubernetes.io/managed-by': OPERATOR_NAME });

    const events = await waitFor('a TopologyApplied event', () => {
      const found = eventsAbout(standIn, NAME);
      return found.some((event) => event.reason === 'TopologyApplied') ? found : undefined;
    });
    expect(events.find((event) => event.reason === 'TopologyApplied')).toMatchObject({ type: 'Normal', source: { component: OPERATOR_NAME } });
  }, 60_000);

  it('refreshes depth and consumers in status and turns Ready once a consumer attaches', async () => {
    const channel = await probe.model.createChannel();
    await channel.consume(QUEUE, () => undefined);
    const ready = await waitFor('Ready True with one consumer', async () => {
      const current = await user.get(NAME);
      return condition(current, 'Ready')?.status === 'True' && current?.status?.consumers === 1 ? current : undefined;
    }, 30_000);
    expect(ready.status).toMatchObject({ queueDepth: 0, deadLetterDepth: 0, consumers: 1 });
    await channel.close();
  }, 60_000);

  it('does not rewrite a status in which only lastObservedTime would change', async () => {
    // The consumer of the previous test is gone: wait for that change to be written, then for nothing to change.
    await waitFor('consumers back to 0 in status', async () => (await user.get(NAME))?.status?.consumers === 0, 30_000);
    const statusWrites = () => standIn.requests().filter((request) => request.verb === 'patch' && request.resource === 'eventsubscriptions/status' && request.name === NAME).length;
    const successes = async () => (await operator.metrics.registry.getMetricsAsJSON()).find((metric) => metric.name === 'reconcile_total')?.values.find((value) => value.labels.result === 'success')?.value ?? 0;
    const writesBefore = statusWrites();
    const before = await successes();
    const observedBefore = (await user.get(NAME))?.status?.lastObservedTime;
    // Three more refreshes (one a second), each observing the queues.
    await waitFor('three more reconciles', async () => (await successes()) >= before + 3, 30_000);
    expect(statusWrites()).toBe(writesBefore);
    expect((await user.get(NAME))?.status?.lastObservedTime).toBe(observedBefore);
  }, 60_000);

  it('carries a spec change (retry delays, paused) to the ConfigMap and status.observedGeneration', async () => {
    const patched = await user.patchSpec(NAME, { retry: { maxAttempts: 3, backoff: { delays: ['2s', '10s'] } }, paused: true });
    const policy = await waitFor('the changed policy in the ConfigMap', async () => {
      const text = (await user.configMapData('order-service'))?.[POLICY_KEY];
      const parsed = text ? parseConsumerPolicy(text) : undefined;
      return parsed?.paused === true ? parsed : undefined;
    }, 30_000);
    expect(policy).toMatchObject({ retryDelaysMs: [2000, 10_000], paused: true, generation: patched.metadata.generation });
    await waitFor('observedGeneration of the change', async () => (await user.get(NAME))?.status?.observedGeneration === patched.metadata.generation, 30_000);
    expect(await probe.queueExists(retryQueueName(QUEUE, 2000))).toBe(true);
    expect(await probe.queueExists(retryQueueName(QUEUE, 10_000))).toBe(true);
  }, 60_000);

  it('counts successful reconciles and reports itself as leader in the metrics', async () => {
    const metrics = await operator.metrics.registry.getMetricsAsJSON();
    const total = metrics.find((metric) => metric.name === 'reconcile_total')?.values ?? [];
    expect(total.find((value) => value.labels.result === 'success')?.value).toBeGreaterThan(0);
    expect(metrics.find((metric) => metric.name === 'topology_operator_leader')?.values[0]?.value).toBe(1);
    expect(metrics.map((metric) => metric.name)).toEqual(expect.arrayContaining(['reconcile_duration_seconds', 'topology_operator_workqueue_depth']));
  });

  it('deletes the queues (deletionPolicy Delete) and the ConfigMap key, then lets the object go', async () => {
    await user.delete(NAME);
    await waitFor('the subscription to be gone', async () => (await user.get(NAME)) === undefined, 30_000);
    for (const queue of [QUEUE, retryQueueName(QUEUE, 2000), retryQueueName(QUEUE, 10_000), `${QUEUE}.dlq`]) {
      expect(await probe.queueExists(queue)).toBe(false);
    }
    const data = await user.configMapData('order-service');
    expect(data?.[POLICY_KEY]).toBeUndefined();
    expect(eventsAbout(standIn, NAME).map((event) => event.reason)).toContain('TopologyDeleted');
  }, 60_000);

  it('used only the verbs the contract grants, and none was refused', () => {
    const requests = standIn.requests().filter((request) => request.verb !== undefined);
    expect(requests.filter((request) => request.code === 403)).toEqual([]);
    const used = new Map<string, number>();
    for (const request of requests) used.set(`${request.verb} ${request.resource}`, (used.get(`${request.verb} ${request.resource}`) ?? 0) + 1);
    // The test's own calls (as a user with kubectl would make them) of kinds the operator is not allowed.
    for (const [call, count] of user.ownCalls) {
      // Exactly the test's own calls of a kind the operator is not allowed: one more would be the operator's.
      expect([call, used.get(call)]).toEqual([call, count]);
      used.delete(call);
    }
    expect([...used.keys()].filter((call) => !OPERATOR_VERBS.has(call))).toEqual([]);
    expect([...used.keys()]).toEqual(expect.arrayContaining(['watch eventsubscriptions', 'patch eventsubscriptions/status', 'create configmaps', 'update leases', 'create events']));
  });
});
