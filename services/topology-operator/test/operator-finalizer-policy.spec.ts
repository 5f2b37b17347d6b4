import { afterAll, afterEach, beforeAll, describe, expect, it } from '@jest/globals';
import { RabbitMqConnection } from '@switchyard/messaging/topology';
import { createTestVhost, type TestVhost, waitFor } from '@switchyard/testing';
import { FINALIZER } from '../src/api/v1alpha1/index.js';
import { connectionChannels } from '../src/controller/broker-channels.js';
import type { TopologyOperator } from '../src/operator.js';
import {
  brokerProbe,
  type ClusterUser,
  condition,
  crd,
  type OperatorCluster,
  startOperatorCluster,
  testOperator,
  waitForLeader,
} from './operator-harness.js';

// Which subscriptions the operator holds with its finalizer, and what that means for `helm uninstall`: only
// deletionPolicy Delete has broker cleanup to do before the object may go, so only those carry FINALIZER. A Retain
// subscription deleted while no operator runs (the chart's defaults after `helm uninstall` removed the operator)
// goes at once; a Delete one stays until its finalizer is removed by hand, as NOTES.txt and the README say.

let cluster: OperatorCluster;
let vhost: TestVhost;
let connection: RabbitMqConnection;
let user: ClusterUser;
let probe: Awaited<ReturnType<typeof brokerProbe>>;
const running: TopologyOperator[] = [];

beforeAll(async () => {
  cluster = await startOperatorCluster('finalizer');
  vhost = await createTestVhost('operator_finalizer');
  connection = new RabbitMqConnection({
    url: vhost.identityUrl('switchyard-operator'),
    connectionName: 'topology-operator-finalizer-test',
  });
  await connection.start();
  probe = await brokerProbe(vhost.url);
  user = cluster.user;
}, 60_000);

afterEach(async () => {
  await Promise.all(running.splice(0).map((operator) => operator.stop()));
}, 30_000);

afterAll(async () => {
  await probe?.close();
  await connection?.close();
  await vhost?.drop();
  await cluster?.drop();
}, 90_000);

async function startOperator(): Promise<TopologyOperator> {
  const operator = testOperator(cluster, connectionChannels(connection), `finalizer-${running.length}`);
  running.push(operator);
  await operator.start();
  await waitForLeader([operator]);
  return operator;
}

async function reconciled(name: string) {
  return waitFor(
    `${name} reconciled`,
    async () => {
      const current = await user.get(name);
      return condition(current, 'TopologyReconciled')?.status === 'True' ? current : undefined;
    },
    30_000,
  );
}

describe('the operator finalizer', () => {
  it('is not put on a Retain subscription, whose ConfigMap key goes when the watch reports it deleted', async () => {
    await startOperator();
    await user.create('kept-queues', {
      service: 'user-service',
      queue: 'user-service.kept-queues',
      deletionPolicy: 'Retain',
    });
    const subscription = await reconciled('kept-queues');
    expect(subscription.metadata.finalizers ?? []).not.toContain(FINALIZER);
    await waitFor(
      'the policy key',
      async () => (await user.configMapData('user-service'))?.['user-service.kept-queues.json'],
      30_000,
    );

    await user.delete('kept-queues');
    // No finalizer: gone at once, without waiting for the operator.
    expect(await user.get('kept-queues')).toBeUndefined();
    await waitFor(
      'the policy key removed',
      async () => (await user.configMapData('user-service'))?.['user-service.kept-queues.json'] === undefined,
      30_000,
    );
    expect(await probe.queueExists('user-service.kept-queues')).toBe(true);
  }, 60_000);

  it('is put on a Delete subscription and taken off again when it changes to Retain', async () => {
    await startOperator();
    await user.create('policy-change', {
      service: 'user-service',
      queue: 'user-service.policy-change',
      deletionPolicy: 'Delete',
    });
    const subscription = await reconciled('policy-change');
    expect(subscription.metadata.finalizers).toContain(FINALIZER);
    await user.patchSpec('policy-change', { deletionPolicy: 'Retain' });
    await waitFor(
      'the finalizer removed',
      async () => !((await user.get('policy-change'))?.metadata.finalizers ?? []).includes(FINALIZER),
      30_000,
    );
    await user.delete('policy-change');
    expect(await user.get('policy-change')).toBeUndefined();
  }, 60_000);

  it('lets Retain subscriptions go after the operator is gone; a Delete one waits until its finalizer is removed by hand', async () => {
    const operator = await startOperator();
    await user.create('default-retain', {
      service: 'order-service',
      queue: 'order-service.default-retain',
      deletionPolicy: 'Retain',
    });
    await user.create('needs-cleanup', {
      service: 'order-service',
      queue: 'order-service.needs-cleanup',
      deletionPolicy: 'Delete',
    });
    await reconciled('default-retain');
    const beforeDelete = await reconciled('needs-cleanup');
    // `helm uninstall`: the Deployment goes first, the subscriptions after it.
    await operator.stop();
    running.splice(running.indexOf(operator), 1);

    await user.delete('default-retain');
    expect(await user.get('default-retain')).toBeUndefined();

    await user.delete('needs-cleanup');
    const stuck = await user.get('needs-cleanup');
    expect(stuck?.metadata.deletionTimestamp).toEqual(expect.any(String));
    expect(stuck?.metadata.finalizers).toContain(FINALIZER);
    // The API server counts setting deletionTimestamp as a new generation.
    expect(stuck?.metadata.generation).toBe((beforeDelete.metadata.generation ?? 0) + 1);

    // The documented way out: kubectl patch ... --type json -p '[{"op":"remove","path":"/metadata/finalizers"}]'
    // (the generated client sends a JSON patch by default).
    await user.custom.patchNamespacedCustomObject({
      ...crd,
      namespace: cluster.namespace,
      name: 'needs-cleanup',
      body: [{ op: 'remove', path: '/metadata/finalizers' }],
    });
    expect(await user.get('needs-cleanup')).toBeUndefined();
    // Without the operator nothing was cleaned up on the broker.
    expect(await probe.queueExists('order-service.needs-cleanup')).toBe(true);
  }, 60_000);
});
