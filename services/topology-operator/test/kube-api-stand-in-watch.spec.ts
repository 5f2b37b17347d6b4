import { afterAll, afterEach, beforeAll, describe, expect, it } from '@jest/globals';
import { CustomObjectsApi, KubeConfig, makeInformer, PatchStrategy, setHeaderOptions, Watch, type Informer, type KubernetesListObject, type KubernetesObject, type ObjectCache } from '@kubernetes/client-node';
import { startKubeApiStandIn, waitFor, type KubeApiStandIn, type KubeObject } from '@switchyard/testing';
import { API_GROUP, API_VERSION, KIND, PLURAL } from '../src/api-names.js';

// List+watch through @kubernetes/client-node's own informer and Watch against the stand-in: the restart paths
// (server closing the stream, 410 Expired) are the ones the operator's informer must survive on a real cluster.

const crd = { group: API_GROUP, version: API_VERSION, plural: PLURAL };
const clusterPath = `/apis/${API_GROUP}/${API_VERSION}/${PLURAL}`;
const mergePatch = setHeaderOptions('Content-Type', PatchStrategy.MergePatch);

let standIn: KubeApiStandIn;
let kubeConfig: KubeConfig;
let custom: CustomObjectsApi;
/** What the informer hands out: the client's object type, with the spec the tests look at. */
type Subscription = KubernetesObject & { spec?: { prefetch?: number } };
const informers: Informer<Subscription>[] = [];

beforeAll(async () => {
  standIn = await startKubeApiStandIn({ bookmarkIntervalMs: 100 });
  kubeConfig = new KubeConfig();
  kubeConfig.loadFromOptions(standIn.kubeConfig());
  custom = kubeConfig.makeApiClient(CustomObjectsApi);
});

afterEach(async () => {
  await Promise.all(informers.splice(0).map((informer) => informer.stop()));
});

afterAll(() => standIn.close());

const create = (namespace: string, name: string): Promise<KubeObject> =>
  custom.createNamespacedCustomObject({ ...crd, namespace, body: { apiVersion: `${API_GROUP}/${API_VERSION}`, kind: KIND, metadata: { name }, spec: { service: 'order-service', prefetch: 20 } } });
const patchSpec = (namespace: string, name: string, spec: Record<string, unknown>): Promise<KubeObject> => custom.patchNamespacedCustomObject({ ...crd, namespace, name, body: { spec } }, mergePatch);
const remove = (namespace: string, name: string): Promise<unknown> => custom.deleteNamespacedCustomObject({ ...crd, namespace, name });

/** A cluster-wide informer on subscriptions, as the operator runs it, logging what it reports as `verb ns/name`. */
async function startInformer(): Promise<{ informer: Informer<Subscription> & ObjectCache<Subscription>; seen: string[]; errors: unknown[] }> {
  const informer = makeInformer<Subscription>(kubeConfig, clusterPath, () => custom.listClusterCustomObject(crd) as Promise<KubernetesListObject<Subscription>>);
  const seen: string[] = [];
  const errors: unknown[] = [];
  for (const verb of ['add', 'update', 'delete'] as const) informer.on(verb, (object) => seen.push(`${verb} ${object.metadata?.namespace}/${object.metadata?.name}`));
  informer.on('error', (error) => errors.push(error));
  informers.push(informer);
  await informer.start();
  return { informer, seen, errors };
}

const listRequests = () => standIn.requests().filter((r) => r.verb === 'list' && r.resource === PLURAL).length;

describe('kube API stand-in: list and watch', () => {
  it('feeds an informer ADDED, MODIFIED and DELETED across namespaces', async () => {
    await create('watch-a', 'existing');
    const { informer, seen, errors } = await startInformer();
    expect(seen).toEqual(['add watch-a/existing']);
    await create('watch-b', 'fresh');
    await patchSpec('watch-a', 'existing', { prefetch: 5 });
    await remove('watch-b', 'fresh');
    await waitFor('the informer to see the delete', () => seen.includes('delete watch-b/fresh'), 20_000);
    expect(seen).toEqual(['add watch-a/existing', 'add watch-b/fresh', 'update watch-a/existing', 'delete watch-b/fresh']);
    expect(informer.get('existing', 'watch-a')?.spec).toMatchObject({ prefetch: 5 });
    expect(errors).toEqual([]);
    await remove('watch-a', 'existing');
  }, 30_000);

  it('lets an informer resume from its resourceVersion after the server drops its watch, without re-listing', async () => {
    const { seen } = await startInformer();
    const lists = listRequests();
    expect(standIn.dropWatches()).toBe(1);
    await create('resume', 'after-drop');
    await waitFor('the informer to see the object created after the drop', () => seen.includes('add resume/after-drop'), 20_000);
    expect(listRequests()).toBe(lists);
    await remove('resume', 'after-drop');
  }, 30_000);

  it('reports a failed watch request to the informer, which resumes from its resourceVersion once restarted', async () => {
    const { informer, seen, errors } = await startInformer();
    standIn.failNext({ code: 500, verb: 'watch', resource: PLURAL });
    standIn.dropWatches();
    await waitFor('the informer to report the failed watch', () => errors.length === 1, 20_000);
    expect(errors[0]).toMatchObject({ statusCode: 500 });
    // client-node's ListWatch stops on any error but 410 Gone: restarting it is the operator's job.
    await informer.start();
    await create('restart', 'after-error');
    await waitFor('the restarted informer to see a new object', () => seen.includes('add restart/after-error'), 20_000);
    await remove('restart', 'after-error');
  }, 30_000);

  it('sends 410 Expired to a watch from a compacted resourceVersion, so the informer re-lists and notices what it missed', async () => {
    await create('relist', 'kept');
    await create('relist', 'doomed');
    const { informer, seen } = await startInformer();
    await informer.stop();
    await remove('relist', 'doomed');
    await patchSpec('relist', 'kept', { prefetch: 7 });
    standIn.compactHistory();
    const lists = listRequests();
    await informer.start();
    await waitFor('the re-list to report the missed delete and update', () => seen.includes('delete relist/doomed') && seen.includes('update relist/kept'), 20_000);
    expect(listRequests()).toBe(lists + 1);
    expect(informer.list('relist').map((o) => [o.metadata?.name, o.spec?.prefetch])).toEqual([['kept', 7]]);
    await remove('relist', 'kept');
  }, 30_000);

  it('makes every open informer re-list when the watches expire', async () => {
    const { seen } = await startInformer();
    const lists = listRequests();
    expect(standIn.expireWatches()).toBe(1);
    await waitFor('a re-list after the expiry', () => listRequests() === lists + 1, 20_000);
    await create('expire', 'after');
    await waitFor('the re-listed informer to keep watching', () => seen.includes('add expire/after'), 20_000);
    await remove('expire', 'after');
  }, 30_000);

  it('replays changes after a resourceVersion, sends bookmarks when asked and ends the stream at timeoutSeconds', async () => {
    const first = await create('raw-watch', 'one');
    await patchSpec('raw-watch', 'one', { prefetch: 1 });
    await create('raw-watch', 'two');
    await create('other-namespace', 'ignored');
    const events: { type: string; name?: string; resourceVersion?: string }[] = [];
    let ended: unknown = 'still open';
    await new Watch(kubeConfig).watch(
      `/apis/${API_GROUP}/${API_VERSION}/namespaces/raw-watch/${PLURAL}`,
      { resourceVersion: first.metadata.resourceVersion, allowWatchBookmarks: true, timeoutSeconds: 1 },
      (type, object: KubeObject) => events.push({ type, name: object.metadata.name, resourceVersion: object.metadata.resourceVersion }),
      (error) => (ended = error),
    );
    await waitFor('the server to end the watch at timeoutSeconds', () => ended !== 'still open', 20_000);
    expect(ended).toBeNull();
    expect(events.filter((e) => e.type !== 'BOOKMARK').map((e) => `${e.type} ${e.name}`)).toEqual(['MODIFIED one', 'ADDED two']);
    const bookmark = events.find((e) => e.type === 'BOOKMARK');
    expect(bookmark).toMatchObject({ name: undefined, resourceVersion: expect.stringMatching(/^\d+$/) });
    expect(Number(bookmark?.resourceVersion)).toBeGreaterThanOrEqual(Number(events[1]?.resourceVersion));
  }, 30_000);

  it('answers a watch from a compacted resourceVersion with an ERROR event carrying a 410 Status', async () => {
    const old = await create('expired', 'one');
    await patchSpec('expired', 'one', { prefetch: 2 });
    standIn.compactHistory();
    const events: { type: string; object: unknown }[] = [];
    let ended: unknown = 'still open';
    await new Watch(kubeConfig).watch(
      `/apis/${API_GROUP}/${API_VERSION}/namespaces/expired/${PLURAL}`,
      { resourceVersion: old.metadata.resourceVersion },
      (type, object) => events.push({ type, object }),
      (error) => (ended = error),
    );
    await waitFor('the expired watch to end', () => ended !== 'still open', 20_000);
    expect(events).toEqual([{ type: 'ERROR', object: expect.objectContaining({ kind: 'Status', code: 410, reason: 'Expired' }) }]);
  }, 30_000);
});
