import { afterAll, afterEach, beforeAll, describe, expect, it } from '@jest/globals';
import { CustomObjectsApi } from '@kubernetes/client-node';
import { type ChannelFactory } from '@switchyard/messaging';
import { type KubeApiStandIn, startKubeApiStandIn, waitFor } from '@switchyard/testing';
import { DEFAULT_WATCH_TIMEOUT_SECONDS } from '../src/kube/bookmark-watch.js';
import { SubscriptionInformer } from '../src/kube/subscription-informer.js';
import { silentOperatorLogger } from '../src/operator-logger.js';
import { clusterUser, type ClusterUser, kubeConfigOf, NAMESPACE, OPERATOR_RULES, testOperator, waitForLeader } from './operator-harness.js';

// The watch of EventSubscriptions asks for bookmarks and a server-side timeout, so a quiet watch keeps a current
// resourceVersion (no 410 and full re-list on every reconnect) and ends cleanly before client-node's 30 s
// inactivity timeout; and the operator is ready only once the listed subscriptions are in its cache.

/** client-node 2.0.1 Watch: a watch with no data for this long is aborted as a TimeoutError. */
const CLIENT_NODE_INACTIVITY_TIMEOUT_SECONDS = 30;

let standIn: KubeApiStandIn;
let user: ClusterUser;
const stopAfter: Array<{ stop(): Promise<void> }> = [];

beforeAll(async () => {
  standIn = await startKubeApiStandIn({
    bookmarkIntervalMs: 200,
    rules: [...OPERATOR_RULES, { apiGroups: ['switchyard.io'], resources: ['eventsubscriptions'], verbs: ['create', 'get', 'delete'] }],
  });
  user = clusterUser(standIn);
});

afterEach(async () => {
  await Promise.all(stopAfter.splice(0).map((thing) => thing.stop()));
});

afterAll(() => standIn?.close());

function informer(): SubscriptionInformer {
  const kubeConfig = kubeConfigOf(standIn);
  const instance = new SubscriptionInformer({ kubeConfig, customObjects: kubeConfig.makeApiClient(CustomObjectsApi), namespace: NAMESPACE, resyncMs: 300_000, logger: silentOperatorLogger() });
  stopAfter.push(instance);
  return instance;
}

const subscriptionWatches = () => standIn.requests().filter((request) => request.verb === 'watch' && request.resource === 'eventsubscriptions');

describe('the operator watch of EventSubscriptions', () => {
  it('asks for bookmarks and a server-side timeout below the client inactivity timeout', async () => {
    // No broker is needed to list and watch: a factory that is never connected reports each reconcile as a broker error.
    const offline: ChannelFactory = { createChannel: () => Promise.reject(new Error('no broker in this test')) };
    const operator = testOperator(standIn, offline, 'bookmarks-0');
    stopAfter.push(operator);
    await operator.start();
    await waitForLeader([operator]);
    await waitFor('a watch of eventsubscriptions', () => subscriptionWatches().length > 0);
    for (const watch of subscriptionWatches()) {
      expect(watch.query).toMatchObject({ watch: 'true', allowWatchBookmarks: 'true', timeoutSeconds: String(DEFAULT_WATCH_TIMEOUT_SECONDS) });
    }
    expect(DEFAULT_WATCH_TIMEOUT_SECONDS).toBeLessThan(CLIENT_NODE_INACTIVITY_TIMEOUT_SECONDS);
  }, 30_000);

  it('advances its resourceVersion on bookmarks and resumes from it after the watch ends', async () => {
    await user.create('quiet', {});
    const subject = informer();
    await subject.start();
    await waitFor('an open watch', () => subject.hasSynced && standIn.openWatches > 0);
    // Other resources change (ConfigMaps here; Lease renewals in a cluster): the global resourceVersion moves on
    // while nothing happens to subscriptions. Only a bookmark can carry that to this watch.
    const other = await user.core.createNamespacedConfigMap({ namespace: NAMESPACE, body: { metadata: { name: 'unrelated' }, data: { a: '1' } } });
    const otherVersion = Number(other.metadata?.resourceVersion);
    await waitFor('a bookmark past the unrelated change', () => Number(subject.resourceVersion) >= otherVersion, 10_000);
    const watchesBefore = subscriptionWatches().length;
    standIn.dropWatches();
    const resumed = await waitFor('the watch reopened', () => subscriptionWatches()[watchesBefore], 15_000);
    expect(Number(resumed.query['resourceVersion'])).toBeGreaterThanOrEqual(otherVersion);
    expect(resumed.query['allowWatchBookmarks']).toBe('true');
  }, 30_000);

  it('is synced (and the operator ready) only once the listed subscriptions are in the cache', async () => {
    for (const name of ['listed-a', 'listed-b', 'listed-c']) await user.create(name, {});
    const expected = standIn.objects('eventsubscriptions', NAMESPACE).length;
    const subject = informer();
    // Handlers run as ListWatch puts each listed item into its cache: record what a readiness probe would have seen then.
    const seen: Array<{ synced: boolean; cached: number }> = [];
    subject.onKey(() => seen.push({ synced: subject.hasSynced, cached: subject.keys().length }));
    await subject.start();
    await waitFor('synced', () => subject.hasSynced, 15_000);
    expect(seen.length).toBeGreaterThanOrEqual(expected);
    expect(seen.filter((moment) => moment.synced && moment.cached < expected)).toEqual([]);
    expect(subject.keys().length).toBe(expected);
  }, 30_000);
});
