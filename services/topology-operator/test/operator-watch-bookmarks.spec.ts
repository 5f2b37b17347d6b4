import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from '@jest/globals';
import { CustomObjectsApi } from '@kubernetes/client-node';
import { type ChannelFactory } from '@switchyard/messaging/topology';
import { waitFor } from '@switchyard/testing';
import { PLURAL } from '../src/api/v1alpha1/index.js';
import { DEFAULT_WATCH_TIMEOUT_SECONDS } from '../src/kube/bookmark-watch.js';
import { SubscriptionInformer } from '../src/kube/subscription-informer.js';
import { silentOperatorLogger } from '../src/operator-logger.js';
import {
  type ClusterUser,
  type OperatorCluster,
  recordWatches,
  startOperatorCluster,
  testOperator,
  waitForLeader,
  type WatchRecord,
} from './operator-harness.js';

// The watch of EventSubscriptions asks for bookmarks and a server-side timeout, so a quiet watch keeps a current
// resourceVersion (no 410 and full re-list on every reconnect) and ends cleanly before client-node's 30 s
// inactivity timeout; and the operator is ready only once the listed subscriptions are in its cache. Against the
// real API server: its watch cache sends a BOOKMARK 2 s before a watch's timeoutSeconds (and about every minute),
// so a short timeout shows one within seconds.

/** client-node 2.0.1 Watch: a watch with no data for this long is aborted as a TimeoutError. */
const CLIENT_NODE_INACTIVITY_TIMEOUT_SECONDS = 30;
/** A short server-side timeout for the informer under test: the server's bookmark comes 2 s before it. */
const SHORT_WATCH_SECONDS = 5;

let cluster: OperatorCluster;
let user: ClusterUser;
let recorded: ReturnType<typeof recordWatches>;
const stopAfter: Array<{ stop(): Promise<void> }> = [];
/** Watches opened before the running test (by informers stopped since) are not its business. */
let firstWatchOfTest = 0;

beforeAll(async () => {
  cluster = await startOperatorCluster('bookmarks');
  user = cluster.user;
  recorded = recordWatches();
}, 90_000);

beforeEach(() => {
  firstWatchOfTest = recorded.watches.length;
});

afterEach(async () => {
  await Promise.all(stopAfter.splice(0).map((thing) => thing.stop()));
});

afterAll(async () => {
  recorded?.restore();
  await cluster?.drop();
}, 90_000);

/** An informer on the test namespace as the operator's ServiceAccount, counting its lists. */
function informer(watchTimeoutSeconds?: number): { subject: SubscriptionInformer; lists: () => number } {
  const kubeConfig = cluster.operatorKubeConfig();
  const customObjects = kubeConfig.makeApiClient(CustomObjectsApi);
  let lists = 0;
  const list = customObjects.listNamespacedCustomObject.bind(customObjects);
  customObjects.listNamespacedCustomObject = (...args: Parameters<typeof list>) => {
    lists++;
    return list(...args);
  };
  const subject = new SubscriptionInformer({
    kubeConfig,
    customObjects,
    namespace: cluster.namespace,
    resyncMs: 300_000,
    logger: silentOperatorLogger(),
    watchTimeoutSeconds,
  });
  stopAfter.push(subject);
  return { subject, lists: () => lists };
}

const subscriptionWatches = (): WatchRecord[] =>
  recorded.watches
    .slice(firstWatchOfTest)
    .filter((watch) => watch.path.endsWith(`/namespaces/${cluster.namespace}/${PLURAL}`));
const openWatch = (): WatchRecord | undefined => subscriptionWatches().find((watch) => watch.opened && !watch.ended);

describe('the operator watch of EventSubscriptions', () => {
  it('asks for bookmarks and a server-side timeout below the client inactivity timeout, which the server accepts', async () => {
    // No broker is needed to list and watch: a factory that is never connected reports each reconcile as a broker error.
    const offline: ChannelFactory = { createChannel: () => Promise.reject(new Error('no broker in this test')) };
    const operator = testOperator(cluster, offline, 'bookmarks-0');
    stopAfter.push(operator);
    await operator.start();
    await waitForLeader([operator]);
    const opened = await waitFor('a watch of eventsubscriptions open on the server', openWatch, 15_000);
    for (const watch of subscriptionWatches()) {
      expect(watch.query).toMatchObject({
        allowWatchBookmarks: true,
        timeoutSeconds: DEFAULT_WATCH_TIMEOUT_SECONDS,
        resourceVersion: expect.stringMatching(/^\d+$/),
      });
    }
    expect(opened.events.filter((event) => event.type === 'ERROR')).toEqual([]);
    expect(DEFAULT_WATCH_TIMEOUT_SECONDS).toBeLessThan(CLIENT_NODE_INACTIVITY_TIMEOUT_SECONDS);
  }, 30_000);

  it('advances its resourceVersion on the bookmarks the server sends and resumes from it, without a re-list, after the watch ends', async () => {
    await user.create('quiet', {});
    const { subject, lists } = informer(SHORT_WATCH_SECONDS);
    await subject.start();
    const first = await waitFor('an open watch', () => subject.hasSynced && openWatch(), 15_000);
    // Other resources change (a ConfigMap here; Lease renewals in a cluster): the global resourceVersion moves on
    // while nothing happens to subscriptions. Only a bookmark can carry that to this watch. The server's watch cache
    // learns etcd's current revision from a progress notification, which the server asks etcd for whenever a client
    // makes a consistent list (on a busy server, all the time; etcd also sends one every 10 minutes on its own): the
    // test lists once, so the bookmark does not depend on what other tests happen to do.
    const other = await user.core.createNamespacedConfigMap({
      namespace: cluster.namespace,
      body: { metadata: { name: 'unrelated' }, data: { a: '1' } },
    });
    const otherVersion = Number(other.metadata?.resourceVersion);
    await user.list();
    await waitFor(
      'a bookmark past the unrelated change',
      () => Number(subject.resourceVersion) >= otherVersion,
      (SHORT_WATCH_SECONDS + 10) * 1000,
    );
    const bookmarks = subscriptionWatches().flatMap((watch) =>
      watch.events.filter((event) => event.type === 'BOOKMARK'),
    );
    expect(bookmarks.map((event) => Number(event.resourceVersion))).toContainEqual(expect.any(Number));
    expect(Math.max(...bookmarks.map((event) => Number(event.resourceVersion)))).toBeGreaterThanOrEqual(otherVersion);
    expect(first.events.filter((event) => event.type !== 'BOOKMARK')).toEqual([]);

    // The server ends the watch at its timeout; the informer opens the next one from the bookmarked version.
    const listsBefore = lists();
    const resumed = await waitFor(
      'a watch reopened from a version at or past the unrelated change',
      () => subscriptionWatches().find((watch) => Number(watch.query.resourceVersion) >= otherVersion && watch.opened),
      (SHORT_WATCH_SECONDS + 10) * 1000,
    );
    expect(resumed.query).toMatchObject({ allowWatchBookmarks: true, timeoutSeconds: SHORT_WATCH_SECONDS });
    expect(first.ended).toBe(true);
    expect(resumed.events.filter((event) => event.type === 'ERROR')).toEqual([]);
    expect(lists()).toBe(listsBefore);
  }, 60_000);

  it('is synced (and the operator ready) only once the listed subscriptions are in the cache', async () => {
    for (const name of ['listed-a', 'listed-b', 'listed-c']) await user.create(name, {});
    const expected = (await user.list()).length;
    expect(expected).toBeGreaterThanOrEqual(3);
    const { subject } = informer();
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
