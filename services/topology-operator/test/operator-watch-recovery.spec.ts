import { afterAll, afterEach, beforeAll, describe, expect, it } from '@jest/globals';
import { CustomObjectsApi } from '@kubernetes/client-node';
import { parseConsumerPolicy, RabbitMqConnection } from '@switchyard/messaging';
import { createTestVhost, type KubeApiStandIn, startKubeApiStandIn, type TestVhost, waitFor } from '@switchyard/testing';
import { connectionChannels } from '../src/controller/broker-channels.js';
import { SubscriptionInformer } from '../src/kube/subscription-informer.js';
import { silentOperatorLogger } from '../src/operator-logger.js';
import { clusterUser, type ClusterUser, crd, kubeConfigOf, mergePatch, NAMESPACE, subscriptionSpec, testOperator, waitForLeader } from './operator-harness.js';

// The informer against a stand-in that drops watches, expires resourceVersions (410) and fails requests, as API
// servers do on restarts, upgrades and overload: it must recover by itself and keep seeing changes.

let standIn: KubeApiStandIn;
let user: ClusterUser;
const stopAfter: Array<{ stop(): Promise<void> }> = [];

beforeAll(async () => {
  standIn = await startKubeApiStandIn({ bookmarkIntervalMs: 200 });
  user = clusterUser(standIn);
});

afterEach(async () => {
  await Promise.all(stopAfter.splice(0).map((thing) => thing.stop()));
});

afterAll(() => standIn?.close());

function informer(keys: string[], resyncMs = 300_000, namespace?: string): SubscriptionInformer {
  const kubeConfig = kubeConfigOf(standIn);
  const instance = new SubscriptionInformer({
    kubeConfig,
    customObjects: kubeConfig.makeApiClient(CustomObjectsApi),
    namespace,
    resyncMs,
    logger: silentOperatorLogger(),
    restartInitialDelayMs: 100,
    restartMaxDelayMs: 1000,
  });
  instance.onKey((key) => keys.push(key));
  stopAfter.push(instance);
  return instance;
}

describe('SubscriptionInformer', () => {
  it('watches one namespace when given one (WATCH_NAMESPACE), every namespace otherwise', async () => {
    const namespaced: string[] = [];
    const everywhere: string[] = [];
    const inShop = informer(namespaced, 300_000, NAMESPACE);
    const inAll = informer(everywhere);
    await Promise.all([inShop.start(), inAll.start()]);
    expect(inShop.path).toBe(`/apis/switchyard.io/v1alpha1/namespaces/${NAMESPACE}/eventsubscriptions`);
    expect(inAll.path).toBe('/apis/switchyard.io/v1alpha1/eventsubscriptions');
    await user.custom.createNamespacedCustomObject({ ...crd, namespace: 'elsewhere', body: { apiVersion: 'switchyard.io/v1alpha1', kind: 'EventSubscription', metadata: { name: 'far', namespace: 'elsewhere' }, spec: subscriptionSpec() } });
    await user.create('near', {});
    await waitFor('both seen by the cluster-wide informer', () => everywhere.includes('elsewhere/far') && everywhere.includes(`${NAMESPACE}/near`));
    await waitFor('the near one seen by the namespaced informer', () => namespaced.includes(`${NAMESPACE}/near`));
    expect(namespaced).not.toContain('elsewhere/far');
    expect(inShop.get('elsewhere/far')).toBeUndefined();
  }, 30_000);

  it('keeps seeing changes after the server drops its watch', async () => {
    const keys: string[] = [];
    const subject = informer(keys);
    await subject.start();
    await user.create('before-drop', {});
    await waitFor('the first object', () => keys.includes(`${NAMESPACE}/before-drop`));
    await waitFor('an open watch', () => standIn.openWatches > 0);
    expect(standIn.dropWatches()).toBeGreaterThan(0);
    await user.create('after-drop', {});
    await waitFor('the object created after the drop', () => keys.includes(`${NAMESPACE}/after-drop`), 15_000);
    expect(subject.get(`${NAMESPACE}/after-drop`)?.metadata.name).toBe('after-drop');
  }, 30_000);

  it('re-lists after 410 Expired and notices what changed meanwhile, deletions included', async () => {
    await user.create('expiring', {});
    await user.create('deleted-while-away', {});
    const keys: string[] = [];
    const subject = informer(keys);
    await subject.start();
    await waitFor('both objects', () => subject.get(`${NAMESPACE}/expiring`) && subject.get(`${NAMESPACE}/deleted-while-away`));
    await waitFor('an open watch', () => standIn.openWatches > 0);
    standIn.expireWatches();
    await user.patchSpec('expiring', { prefetch: 7 });
    await user.delete('deleted-while-away');
    await waitFor('the spec change after the 410', () => subject.get(`${NAMESPACE}/expiring`)?.spec.prefetch === 7, 15_000);
    await waitFor('the deletion after the 410', () => subject.get(`${NAMESPACE}/deleted-while-away`) === undefined, 15_000);
    expect(keys.filter((key) => key === `${NAMESPACE}/deleted-while-away`).length).toBeGreaterThanOrEqual(2);
  }, 30_000);

  it('restarts with backoff after a failed list and a failed watch', async () => {
    const keys: string[] = [];
    standIn.failNext({ code: 500, verb: 'list', resource: 'eventsubscriptions' });
    const subject = informer(keys);
    await subject.start();
    await waitFor('a successful list after the failed one', () => subject.hasSynced, 15_000);
    await waitFor('an open watch', () => standIn.openWatches > 0);
    standIn.failNext({ code: 500, verb: 'watch', resource: 'eventsubscriptions', count: 2 });
    standIn.dropWatches();
    await user.create('after-failed-watch', {});
    await waitFor('the object created while the watch was failing', () => keys.includes(`${NAMESPACE}/after-failed-watch`), 20_000);
    expect(standIn.requests().filter((request) => request.verb === 'watch' && request.code === 500).length).toBe(2);
  }, 30_000);

  it('hands every cached key over again at each resync', async () => {
    const keys: string[] = [];
    const subject = informer(keys, 300);
    await subject.start();
    await waitFor('cache filled', () => subject.keys().length > 0);
    const target = `${NAMESPACE}/before-drop`;
    const before = keys.filter((key) => key === target).length;
    await waitFor('two resyncs', () => keys.filter((key) => key === target).length >= before + 2, 10_000);
  }, 30_000);

  it('ignores status-only updates, which the operator itself writes, but hands over spec changes', async () => {
    const keys: string[] = [];
    const subject = informer(keys);
    await subject.start();
    const target = `${NAMESPACE}/expiring`;
    await waitFor('the object in the cache', () => subject.get(target));
    keys.length = 0;
    await user.custom.patchNamespacedCustomObjectStatus(
      { ...crd, namespace: NAMESPACE, name: 'expiring', body: { status: { queueDepth: 3 } } },
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

  it('still reconciles spec changes made after the server expired its watch', async () => {
    vhost = await createTestVhost('operator_watch');
    connection = new RabbitMqConnection({ url: vhost.url });
    await connection.start();
    const operator = testOperator(standIn, connectionChannels(connection), 'operator-watch');
    stopAfter.push(operator);
    await operator.start();
    await waitForLeader([operator]);
    await user.create('watched', { queue: 'order-service.watched', service: 'order-service', queueType: 'classic' });
    const policyOf = async () => {
      const text = (await user.configMapData('order-service'))?.['order-service.watched.json'];
      return text ? parseConsumerPolicy(text) : undefined;
    };
    await waitFor('the first policy', async () => (await policyOf()) !== undefined, 30_000);
    await waitFor('an open watch', () => standIn.openWatches > 0);
    standIn.expireWatches();
    await user.patchSpec('watched', { prefetch: 3 });
    await waitFor('the change after the expiry to reach the ConfigMap', async () => (await policyOf())?.prefetch === 3, 30_000);
  }, 60_000);
});
