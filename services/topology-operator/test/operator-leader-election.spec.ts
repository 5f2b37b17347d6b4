import { afterAll, afterEach, beforeAll, describe, expect, it } from '@jest/globals';
import { CoordinationV1Api, V1MicroTime } from '@kubernetes/client-node';
import { RabbitMqConnection } from '@switchyard/messaging/topology';
import { createTestVhost, type TestVhost, waitFor } from '@switchyard/testing';
import { connectionChannels } from '../src/controller/broker-channels.js';
import { LeaderElector } from '../src/leader-election/leader-elector.js';
import type { TopologyOperator } from '../src/operator.js';
import { silentOperatorLogger } from '../src/operator-logger.js';
import {
  condition,
  type OperatorCluster,
  startOperatorCluster,
  testOperator,
  waitForLeader,
} from './operator-harness.js';

// Two replicas against the real API server and the real RabbitMQ, electing their leader on a real
// coordination.k8s.io Lease in the test namespace as their ServiceAccount (the chart's Lease rules, with the
// test's Lease names): exactly one leads and reconciles, the other takes over when the leader hands the Lease back
// or stops renewing it, and a leader whose Lease is taken stops at once.

const LEASES = ['race', 'expiry', 'taken', 'topology-leader-test', 'taken-from-operator'];

let cluster: OperatorCluster;
let vhost: TestVhost;
let connection: RabbitMqConnection;
/** As the candidates see it: their ServiceAccount. */
let coordination: CoordinationV1Api;
/** As an intruder with more rights than the chart's: the admin. */
let admin: CoordinationV1Api;
const running: Array<{ stop(): Promise<void> }> = [];

beforeAll(async () => {
  cluster = await startOperatorCluster('leader', { leaseNames: LEASES });
  vhost = await createTestVhost('operator_leader');
  connection = new RabbitMqConnection({
    url: vhost.identityUrl('switchyard-operator'),
    connectionName: 'topology-operator-leader-test',
  });
  await connection.start();
  coordination = cluster.operatorKubeConfig().makeApiClient(CoordinationV1Api);
  admin = cluster.admin.makeApiClient(CoordinationV1Api);
}, 60_000);

afterEach(async () => {
  await Promise.all(running.splice(0).map((thing) => thing.stop()));
}, 30_000);

afterAll(async () => {
  await connection?.close();
  await vhost?.drop();
  await cluster?.drop();
}, 90_000);

function elector(name: string, identity: string, log: string[]): LeaderElector {
  const candidate = new LeaderElector({
    coordination,
    namespace: cluster.namespace,
    name,
    identity,
    logger: silentOperatorLogger(),
    leaseDurationMs: 2000,
    renewDeadlineMs: 1500,
    retryPeriodMs: 200,
    onStartedLeading: () => log.push(`${identity} started`),
    onStoppedLeading: () => log.push(`${identity} stopped`),
  });
  running.push(candidate);
  return candidate;
}

function operator(identity: string): TopologyOperator {
  const instance = testOperator(cluster, connectionChannels(connection), identity, {
    config: {
      watchNamespace: cluster.namespace,
      podName: identity,
      podNamespace: cluster.namespace,
      leaseName: 'topology-leader-test',
      resyncSeconds: 300,
      statusRefreshSeconds: 30,
    },
    // A long Lease, so a hand-over by release (one retry period) cannot be mistaken for one by expiry (15 s).
    leaderElection: { leaseDurationMs: 15_000, renewDeadlineMs: 5000, retryPeriodMs: 300 },
  });
  running.push(instance);
  return instance;
}

describe('leader election on a coordination.k8s.io Lease', () => {
  it('lets exactly one of several candidates racing for a free Lease lead, and never two at once', async () => {
    const log: string[] = [];
    const candidates = ['a', 'b', 'c'].map((identity) => elector('race', identity, log));
    for (const candidate of candidates) candidate.start();
    const deadline = Date.now() + 3000;
    while (Date.now() < deadline) {
      expect(candidates.filter((candidate) => candidate.isLeader).length).toBeLessThanOrEqual(1);
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    expect(candidates.filter((candidate) => candidate.isLeader)).toHaveLength(1);
    expect(log).toHaveLength(1);
    const lease = await coordination.readNamespacedLease({ name: 'race', namespace: cluster.namespace });
    expect(candidates.find((candidate) => candidate.isLeader)).toBe(
      candidates[['a', 'b', 'c'].indexOf(lease.spec!.holderIdentity!)],
    );
  }, 30_000);

  it('hands over only after the Lease expires when the leader dies without releasing it', async () => {
    const log: string[] = [];
    const first = elector('expiry', 'first', log);
    first.start();
    await waitFor('first to lead', () => first.isLeader);
    const second = elector('expiry', 'second', log);
    second.start();
    // A dead leader stops renewing but leaves the Lease as it was.
    await first.stop();
    const diedAt = Date.now();
    await waitFor('second to lead', () => second.isLeader, 15_000);
    // Not before the Lease's duration (2 s) has passed without a renewal as the standby saw it (its last look at a
    // renewal may predate the death by a retry period or two).
    expect(Date.now() - diedAt).toBeGreaterThanOrEqual(1000);
    const lease = await coordination.readNamespacedLease({ name: 'expiry', namespace: cluster.namespace });
    expect(lease.spec).toMatchObject({ holderIdentity: 'second', leaseTransitions: 1 });
  }, 30_000);

  it('steps down at once when another holder takes the Lease', async () => {
    const log: string[] = [];
    const leader = elector('taken', 'leader', log);
    leader.start();
    await waitFor('leader to lead', () => leader.isLeader);
    const lease = await coordination.readNamespacedLease({ name: 'taken', namespace: cluster.namespace });
    await admin.replaceNamespacedLease({
      name: 'taken',
      namespace: cluster.namespace,
      body: { ...lease, spec: { ...lease.spec, holderIdentity: 'intruder', renewTime: new V1MicroTime() } },
    });
    const takenAt = Date.now();
    await waitFor('the leader to step down', () => !leader.isLeader, 5000);
    expect(Date.now() - takenAt).toBeLessThan(1500);
    expect(log).toEqual(['leader started', 'leader stopped']);
  }, 30_000);
});

describe('two operator replicas', () => {
  it('reconcile only on the leader; the standby stays ready with a warm cache and takes over when the leader stops', async () => {
    const user = cluster.user;
    const replicas = [operator('replica-a'), operator('replica-b')];
    await Promise.all(replicas.map((replica) => replica.start()));
    const leader = await waitForLeader(replicas);
    const standby = replicas.find((replica) => replica !== leader)!;
    // Give the standby a few retry periods: it must stay a standby.
    await new Promise((resolve) => setTimeout(resolve, 1000));
    expect(replicas.filter((replica) => replica.isLeader)).toEqual([leader]);
    await waitFor('both informers synced', () => replicas.every((replica) => replica.readiness().ready));

    await user.create('leader-test', { queueType: 'classic' });
    await waitFor(
      'the leader to reconcile it',
      async () => condition(await user.get('leader-test'), 'TopologyReconciled')?.status === 'True',
      30_000,
    );
    const reconcilesOf = async (replica: TopologyOperator) =>
      (await replica.metrics.registry.getMetricsAsJSON())
        .find((metric) => metric.name === 'reconcile_total')!
        .values.reduce((sum, value) => sum + value.value, 0);
    // Counted when the reconcile has finished (Events come after the status write).
    await waitFor('the leader to count its reconcile', async () => (await reconcilesOf(leader)) > 0);
    expect(await reconcilesOf(standby)).toBe(0);

    // The leader stops (SIGTERM in a pod): it releases the Lease, so the standby takes over within a retry period or two, far sooner than expiry.
    const stoppedAt = Date.now();
    await leader.stop();
    await waitFor('the standby to lead', () => standby.isLeader, 10_000);
    expect(Date.now() - stoppedAt).toBeLessThan(8000);
    const lease = await coordination.readNamespacedLease({
      name: 'topology-leader-test',
      namespace: cluster.namespace,
    });
    expect(lease.spec?.holderIdentity).toBe(standby === replicas[0] ? 'replica-a' : 'replica-b');
    // The new leader queues everything from its warm cache and reconciles it.
    await waitFor('the new leader to reconcile', async () => (await reconcilesOf(standby)) > 0, 30_000);
  }, 60_000);

  it('stop writing the moment the Lease is taken, and resume once they hold it again', async () => {
    const user = cluster.user;
    const replica = testOperator(cluster, connectionChannels(connection), 'replica-c', {
      config: {
        watchNamespace: cluster.namespace,
        podName: 'replica-c',
        podNamespace: cluster.namespace,
        leaseName: 'taken-from-operator',
        resyncSeconds: 300,
        statusRefreshSeconds: 1,
      },
    });
    running.push(replica);
    await replica.start();
    await waitForLeader([replica]);
    await user.create('refreshed', { queue: 'order-service.refreshed', queueType: 'classic', prefetch: 10 });
    const policyPrefetch = async () => {
      const text = (await user.configMapData('order-service'))?.['order-service.refreshed.json'];
      return text ? (JSON.parse(text) as { prefetch: number }).prefetch : undefined;
    };
    await waitFor(
      'reconciled',
      async () => condition(await user.get('refreshed'), 'TopologyReconciled')?.status === 'True',
      30_000,
    );
    await waitFor('the policy written', async () => (await policyPrefetch()) === 10, 30_000);
    const reconciles = async () =>
      (await replica.metrics.registry.getMetricsAsJSON())
        .find((metric) => metric.name === 'reconcile_total')!
        .values.reduce((sum, value) => sum + value.value, 0);
    // Refreshed every second while it leads.
    const leadingSince = await reconciles();
    await waitFor('two refreshes', async () => (await reconciles()) >= leadingSince + 2, 30_000);

    const lease = await admin.readNamespacedLease({ name: 'taken-from-operator', namespace: cluster.namespace });
    await admin.replaceNamespacedLease({
      name: 'taken-from-operator',
      namespace: cluster.namespace,
      body: { ...lease, spec: { ...lease.spec, holderIdentity: 'intruder', renewTime: new V1MicroTime() } },
    });
    await waitFor('the replica to step down', () => !replica.isLeader, 5000);
    const steppedDownAt = Date.now();
    const leaderGauge = async () =>
      (await replica.metrics.registry.getMetricsAsJSON()).find((metric) => metric.name === 'topology_operator_leader')!
        .values[0]!.value;
    expect(await leaderGauge()).toBe(0);
    // A reconcile already under way when the Lease was lost may still finish; after that, nothing. The intruder's
    // Lease lasts 3 s from when the replica saw it, so [0.3 s, 2 s] after stepping down is safely leaderless. A spec
    // change made in it is what a leader would carry to the ConfigMap and status within a refresh: it must stay unapplied.
    await new Promise((resolve) => setTimeout(resolve, 300));
    const reconcilesWhenStopped = await reconciles();
    const changed = await user.patchSpec('refreshed', { prefetch: 11 });
    await new Promise((resolve) => setTimeout(resolve, Math.max(0, steppedDownAt + 2000 - Date.now())));
    expect(replica.isLeader).toBe(false);
    expect(await reconciles()).toBe(reconcilesWhenStopped);
    expect(await policyPrefetch()).toBe(10);
    expect((await user.get('refreshed'))?.status?.observedGeneration).toBeLessThan(changed.metadata.generation!);
    // The intruder never renews: its Lease expires, and the replica takes it back and resumes.
    await waitFor('the replica to lead again', () => replica.isLeader, 20_000);
    expect(await leaderGauge()).toBe(1);
    await waitFor('the change applied once it leads again', async () => (await policyPrefetch()) === 11, 30_000);
    await waitFor(
      'observedGeneration of the change',
      async () => (await user.get('refreshed'))?.status?.observedGeneration === changed.metadata.generation,
      30_000,
    );
  }, 60_000);
});
