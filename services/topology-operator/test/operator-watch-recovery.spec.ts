import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from '@jest/globals';
import { CustomObjectsApi } from '@kubernetes/client-node';
import { parseConsumerPolicy, RabbitMqConnection } from '@switchyard/messaging/topology';
import {
  compactEtcd,
  type ControlPlane,
  createTestNamespace,
  createTestVhost,
  type FaultProxy,
  restartApiServer,
  startFaultProxy,
  startPrivateControlPlane,
  type TestVhost,
  waitFor,
} from '@switchyard/testing';
import { PLURAL } from '../src/api/v1alpha1/index.js';
import { connectionChannels } from '../src/controller/broker-channels.js';
import { SubscriptionInformer } from '../src/kube/subscription-informer.js';
import { type OperatorLogger, silentOperatorLogger } from '../src/operator-logger.js';
import {
  type ClusterUser,
  crd,
  mergePatch,
  type OperatorCluster,
  recordingLogger,
  recordWatches,
  startOperatorCluster,
  subscriptionSpec,
  testOperator,
  waitForLeader,
  type WatchRecord,
} from './operator-harness.js';

// The informer against a real API server that drops its watches, expires resourceVersions (410 Gone) and cannot be
// reached, as happens on restarts, upgrades and network trouble: it must recover by itself and keep seeing
// changes. A control plane of this file's own, since the server is restarted and its etcd compacted; the operator
// reaches it through a TCP fault proxy (TLS passes through), which cuts or refuses its connections on demand.

const RESTART_TIMEOUT_MS = 180_000;

let plane: ControlPlane;
let cluster: OperatorCluster;
let elsewhere: string;
let proxy: FaultProxy;
let viaProxy: string;
let user: ClusterUser;
let recorded: ReturnType<typeof recordWatches>;
const stopAfter: Array<{ stop(): Promise<void> }> = [];
/** Watches opened before the running test (by informers stopped since) are not its business. */
let firstWatchOfTest = 0;

beforeAll(async () => {
  plane = await startPrivateControlPlane();
  // Every namespace watched (the chart's ClusterRole), for the first test; the others watch the test namespace.
  cluster = await startOperatorCluster('watch', { plane, clusterWide: true });
  elsewhere = (await createTestNamespace(plane, 'elsewhere')).name;
  proxy = await startFaultProxy('topology-operator → kube-apiserver', { port: Number(new URL(plane.server).port) });
  viaProxy = `https://127.0.0.1:${proxy.port}`;
  user = cluster.user;
  recorded = recordWatches();
}, 240_000);

beforeEach(() => {
  firstWatchOfTest = recorded.watches.length;
});

afterEach(async () => {
  proxy?.passThrough();
  await Promise.all(stopAfter.splice(0).map((thing) => thing.stop()));
});

afterAll(async () => {
  recorded?.restore();
  await proxy?.close();
  // The private control plane goes as a whole: no namespaces or RBAC objects to remove one by one.
  await plane?.stop();
}, 60_000);

/** An informer as the operator's ServiceAccount, through the fault proxy, counting its lists. */
function informer(
  keys: string[],
  options: { resyncMs?: number; namespace?: string | null; logger?: OperatorLogger } = {},
): { subject: SubscriptionInformer; lists: () => number } {
  const kubeConfig = cluster.operatorKubeConfig(viaProxy);
  const customObjects = kubeConfig.makeApiClient(CustomObjectsApi);
  let lists = 0;
  for (const method of ['listNamespacedCustomObject', 'listClusterCustomObject'] as const) {
    const list = customObjects[method].bind(customObjects) as (...args: unknown[]) => Promise<unknown>;
    (customObjects as unknown as Record<string, unknown>)[method] = (...args: unknown[]) => {
      lists++;
      return list(...args);
    };
  }
  const subject = new SubscriptionInformer({
    kubeConfig,
    customObjects,
    namespace: options.namespace === null ? undefined : (options.namespace ?? cluster.namespace),
    resyncMs: options.resyncMs ?? 300_000,
    logger: options.logger ?? silentOperatorLogger(),
    restartInitialDelayMs: 100,
    restartMaxDelayMs: 1000,
  });
  subject.onKey((key) => keys.push(key));
  stopAfter.push(subject);
  return { subject, lists: () => lists };
}

const watchesOf = (namespace: string): WatchRecord[] =>
  recorded.watches.slice(firstWatchOfTest).filter((watch) => watch.path.endsWith(`/namespaces/${namespace}/${PLURAL}`));
const openWatchIn = (namespace: string): WatchRecord | undefined =>
  watchesOf(namespace).find((watch) => watch.opened && !watch.ended);
const expiredWatches = (namespace: string): WatchRecord[] =>
  watchesOf(namespace).filter((watch) => watch.events.some((event) => event.type === 'ERROR' && event.code === 410));

/**
 * While the operator cannot reach the server (its connections refused at the proxy, so its watch ends and cannot
 * reopen), `change` happens; then etcd is compacted and the API server restarted, as by an upgrade: its watch cache
 * starts at etcd's current revision, and the operator's next watch, from its old resourceVersion, is answered with
 * an ERROR event 410 "too old resource version". Compaction alone would not do it (checked by hand on v1.34): the
 * running server's watch cache still serves a compacted resourceVersion it holds.
 */
async function expireWhileAway(namespace: string, change: () => Promise<void>): Promise<number> {
  const open = await waitFor('an open watch', () => openWatchIn(namespace), 15_000);
  proxy.setMode({ kind: 'reset' });
  await waitFor('the watch cut', () => open.ended, 15_000);
  await change();
  const compactedAt = await compactEtcd(plane);
  await restartApiServer(plane);
  proxy.passThrough();
  return compactedAt;
}

describe('SubscriptionInformer', () => {
  it('watches one namespace when given one (WATCH_NAMESPACE), every namespace otherwise', async () => {
    const namespaced: string[] = [];
    const everywhere: string[] = [];
    const inTest = informer(namespaced).subject;
    const inAll = informer(everywhere, { namespace: null }).subject;
    await Promise.all([inTest.start(), inAll.start()]);
    expect(inTest.path).toBe(`/apis/switchyard.io/v1alpha1/namespaces/${cluster.namespace}/eventsubscriptions`);
    expect(inAll.path).toBe('/apis/switchyard.io/v1alpha1/eventsubscriptions');
    await user.custom.createNamespacedCustomObject({
      ...crd,
      namespace: elsewhere,
      body: {
        apiVersion: 'switchyard.io/v1alpha1',
        kind: 'EventSubscription',
        metadata: { name: 'far', namespace: elsewhere },
        spec: subscriptionSpec(),
      },
    });
    await user.create('near', {});
    await waitFor(
      'both seen by the cluster-wide informer',
      () => everywhere.includes(`${elsewhere}/far`) && everywhere.includes(`${cluster.namespace}/near`),
      15_000,
    );
    await waitFor('the near one seen by the namespaced informer', () =>
      namespaced.includes(`${cluster.namespace}/near`),
    );
    expect(namespaced).not.toContain(`${elsewhere}/far`);
    expect(inTest.get(`${elsewhere}/far`)).toBeUndefined();
  }, 30_000);

  it('keeps seeing changes after its connection to the server is cut', async () => {
    const keys: string[] = [];
    const { subject } = informer(keys);
    await subject.start();
    await user.create('before-drop', {});
    await waitFor('the first object', () => keys.includes(`${cluster.namespace}/before-drop`));
    const open = await waitFor('an open watch', () => openWatchIn(cluster.namespace), 15_000);
    proxy.resetConnections();
    await waitFor('the watch cut', () => open.ended, 15_000);
    await user.create('after-drop', {});
    await waitFor('the object created after the cut', () => keys.includes(`${cluster.namespace}/after-drop`), 15_000);
    expect(subject.get(`${cluster.namespace}/after-drop`)?.metadata.name).toBe('after-drop');
  }, 30_000);

  it(
    're-lists after 410 Gone from a restarted server and notices what changed meanwhile, deletions included',
    async () => {
      await user.create('expiring', {});
      await user.create('deleted-while-away', {});
      const keys: string[] = [];
      const { subject, lists } = informer(keys);
      await subject.start();
      await waitFor(
        'both objects',
        () => subject.get(`${cluster.namespace}/expiring`) && subject.get(`${cluster.namespace}/deleted-while-away`),
      );
      const listsBefore = lists();
      const compactedAt = await expireWhileAway(cluster.namespace, async () => {
        await user.patchSpec('expiring', { prefetch: 7 });
        await user.delete('deleted-while-away');
      });
      await waitFor(
        'the spec change after the 410',
        () => subject.get(`${cluster.namespace}/expiring`)?.spec.prefetch === 7,
        RESTART_TIMEOUT_MS,
      );
      await waitFor(
        'the deletion after the 410',
        () => subject.get(`${cluster.namespace}/deleted-while-away`) === undefined,
        15_000,
      );
      expect(keys.filter((key) => key === `${cluster.namespace}/deleted-while-away`).length).toBeGreaterThanOrEqual(2);
      // The server's own answer: a watch from a version before the compaction, ended by ERROR 410, then a fresh list.
      const [expired] = expiredWatches(cluster.namespace);
      expect(Number(expired?.query.resourceVersion)).toBeLessThan(compactedAt);
      expect(lists()).toBeGreaterThan(listsBefore);
    },
    RESTART_TIMEOUT_MS + 60_000,
  );

  it('restarts with backoff after a failed list and a failed watch', async () => {
    const keys: string[] = [];
    const { logger, lines } = recordingLogger();
    const failures = () => lines.filter((line) => line.msg === 'list/watch of eventsubscriptions failed; restarting');
    // The server cannot be reached: the first list fails.
    proxy.setMode({ kind: 'reset' });
    const { subject } = informer(keys, { logger });
    await subject.start();
    await waitFor('a failed list', () => failures().length > 0, 15_000);
    expect(subject.hasSynced).toBe(false);
    proxy.passThrough();
    await waitFor('a successful list after the failed one', () => subject.hasSynced, 15_000);
    const open = await waitFor('an open watch', () => openWatchIn(cluster.namespace), 15_000);

    // Then the watch is cut and the server stays unreachable for a few attempts.
    const failedBefore = failures().length;
    proxy.setMode({ kind: 'reset' });
    await waitFor('the watch cut', () => open.ended, 15_000);
    await waitFor('three failed attempts to watch again', () => failures().length >= failedBefore + 3, 15_000);
    const delays = failures()
      .slice(failedBefore)
      .map((line) => Number(line.retryInMs));
    expect(delays.slice(0, 3)).toEqual([100, 200, 400]);
    proxy.passThrough();
    await user.create('after-failed-watch', {});
    await waitFor(
      'the object created while the watch was failing',
      () => keys.includes(`${cluster.namespace}/after-failed-watch`),
      20_000,
    );
  }, 60_000);

  it('hands every cached key over again at each resync', async () => {
    const keys: string[] = [];
    const { subject } = informer(keys, { resyncMs: 300 });
    await subject.start();
    await waitFor('cache filled', () => subject.keys().length > 0);
    const target = `${cluster.namespace}/before-drop`;
    const before = keys.filter((key) => key === target).length;
    await waitFor('two resyncs', () => keys.filter((key) => key === target).length >= before + 2, 10_000);
  }, 30_000);

  it('ignores status-only updates, which the operator itself writes, but hands over spec changes', async () => {
    const keys: string[] = [];
    const { subject } = informer(keys);
    await subject.start();
    const target = `${cluster.namespace}/expiring`;
    await waitFor('the object in the cache', () => subject.get(target));
    keys.length = 0;
    await user.custom.patchNamespacedCustomObjectStatus(
      { ...crd, namespace: cluster.namespace, name: 'expiring', body: { status: { queueDepth: 3 } } },
      mergePatch,
    );
    await waitFor('the status update in the cache', () => subject.get(target)?.status?.queueDepth === 3);
    expect(keys).not.toContain(target);
    await user.patchSpec('expiring', { prefetch: 8 });
    await waitFor('the spec change handed over', () => keys.includes(target));
  }, 30_000);
});

describe('the operator after a watch expiry', () => {
  let vhost: TestVhost;
  let connection: RabbitMqConnection;

  afterAll(async () => {
    await connection?.close();
    await vhost?.drop();
  }, 30_000);

  it(
    'still reconciles spec changes made while it could not reach the server, which then answered its watch 410',
    async () => {
      vhost = await createTestVhost('operator_watch');
      connection = new RabbitMqConnection({ url: vhost.identityUrl('switchyard-operator') });
      await connection.start();
      const operator = testOperator(cluster, connectionChannels(connection), 'operator-watch', { server: viaProxy });
      stopAfter.push(operator);
      await operator.start();
      await waitForLeader([operator]);
      await user.create('watched', { queue: 'order-service.watched', service: 'order-service', queueType: 'classic' });
      const policyOf = async () => {
        const text = (await user.configMapData('order-service'))?.['order-service.watched.json'];
        return text ? parseConsumerPolicy(text) : undefined;
      };
      await waitFor('the first policy', async () => (await policyOf()) !== undefined, 30_000);
      const expiredBefore = expiredWatches(cluster.namespace).length;
      await expireWhileAway(cluster.namespace, async () => {
        await user.patchSpec('watched', { prefetch: 3 });
      });
      await waitFor(
        'the change made while away to reach the ConfigMap',
        async () => (await policyOf())?.prefetch === 3,
        RESTART_TIMEOUT_MS,
      );
      expect(expiredWatches(cluster.namespace).length).toBeGreaterThan(expiredBefore);
    },
    RESTART_TIMEOUT_MS + 60_000,
  );
});
