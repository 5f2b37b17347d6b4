import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { ApiException, CoordinationV1Api, CoreV1Api, CustomObjectsApi, KubeConfig, PatchStrategy, setHeaderOptions, type V1Lease } from '@kubernetes/client-node';
import { startKubeApiStandIn, type KubeApiStandIn, type KubeObject } from '@switchyard/testing';
import { API_GROUP, API_VERSION, FINALIZER, KIND, PLURAL } from '../src/api-names.js';

// The operator's real client (@kubernetes/client-node) against the in-process API server stand-in: these tests pin
// the server semantics the operator relies on, so a divergence from a real API server shows up here first.

const crd = { group: API_GROUP, version: API_VERSION, plural: PLURAL };
const mergePatch = setHeaderOptions('Content-Type', PatchStrategy.MergePatch);
const jsonPatch = setHeaderOptions('Content-Type', PatchStrategy.JsonPatch);

let standIn: KubeApiStandIn;
let custom: CustomObjectsApi;
let core: CoreV1Api;
let coordination: CoordinationV1Api;

beforeAll(async () => {
  standIn = await startKubeApiStandIn();
  const kubeConfig = new KubeConfig();
  kubeConfig.loadFromOptions(standIn.kubeConfig());
  custom = kubeConfig.makeApiClient(CustomObjectsApi);
  core = kubeConfig.makeApiClient(CoreV1Api);
  coordination = kubeConfig.makeApiClient(CoordinationV1Api);
});

afterAll(() => standIn.close());

function subscription(name: string, extra: Partial<KubeObject> = {}): KubeObject {
  return {
    apiVersion: `${API_GROUP}/${API_VERSION}`,
    kind: KIND,
    metadata: { name },
    spec: { service: 'order-service', queue: 'order-service.user-events', events: [{ type: 'user.created' }], prefetch: 20, paused: false },
    ...extra,
  };
}

/** The Status a failed call was answered with. */
async function failure(call: Promise<unknown>): Promise<{ code: number; reason: string; message: string }> {
  try {
    await call;
  } catch (error) {
    if (!(error instanceof ApiException)) throw error;
    const status = JSON.parse(String(error.body)) as { kind: string; code: number; reason: string; message: string };
    expect(status).toMatchObject({ kind: 'Status', apiVersion: 'v1', status: 'Failure', code: error.code });
    return { code: error.code, reason: status.reason, message: status.message };
  }
  throw new Error('expected the call to fail');
}

const createSubscription = (namespace: string, body: KubeObject): Promise<KubeObject> => custom.createNamespacedCustomObject({ ...crd, namespace, body });
const getSubscription = (namespace: string, name: string): Promise<KubeObject> => custom.getNamespacedCustomObject({ ...crd, namespace, name });
const patchSubscription = (namespace: string, name: string, body: unknown): Promise<KubeObject> => custom.patchNamespacedCustomObject({ ...crd, namespace, name, body }, mergePatch);

describe('kube API stand-in: object semantics', () => {
  it('creates a custom resource with uid, creationTimestamp, resourceVersion and generation 1, dropping status', async () => {
    const created = await createSubscription('create', subscription('orders', { status: { queueDepth: 5 } }));
    expect(created.metadata).toMatchObject({ name: 'orders', namespace: 'create', generation: 1, uid: expect.any(String), resourceVersion: expect.stringMatching(/^\d+$/) });
    expect(created.metadata.creationTimestamp).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
    expect(created.status).toBeUndefined();
    expect(await getSubscription('create', 'orders')).toEqual(created);
    expect(await failure(createSubscription('create', subscription('orders')))).toMatchObject({ code: 409, reason: 'AlreadyExists', message: 'eventsubscriptions.switchyard.io "orders" already exists' });
    expect(await failure(getSubscription('create', 'missing'))).toMatchObject({ code: 404, reason: 'NotFound' });
    expect(await failure(createSubscription('create', subscription('Not_A_Name')))).toMatchObject({ code: 422, reason: 'Invalid' });
    expect(await failure(createSubscription('create', { ...subscription('x'), metadata: { name: 'x', namespace: 'elsewhere' } }))).toMatchObject({ code: 400, reason: 'BadRequest' });
  }, 20_000);

  it('increments metadata.generation only when the spec changes, and stores nothing for a no-op write', async () => {
    const created = await createSubscription('generation', subscription('orders'));
    const labelled = await patchSubscription('generation', 'orders', { metadata: { labels: { team: 'orders' } } });
    expect(labelled.metadata.generation).toBe(1);
    expect(Number(labelled.metadata.resourceVersion)).toBeGreaterThan(Number(created.metadata.resourceVersion));
    const respecced = await patchSubscription('generation', 'orders', { spec: { prefetch: 50 } });
    expect(respecced.metadata.generation).toBe(2);
    expect(respecced.spec).toMatchObject({ prefetch: 50, queue: 'order-service.user-events' });
    const unchanged = await patchSubscription('generation', 'orders', { spec: { prefetch: 50 } });
    expect(unchanged.metadata.resourceVersion).toBe(respecced.metadata.resourceVersion);
  }, 20_000);

  it('ignores .status on the main resource and everything but .status on /status', async () => {
    await createSubscription('status', subscription('orders'));
    const mainWrite = await patchSubscription('status', 'orders', { status: { queueDepth: 9 } });
    expect(mainWrite.status).toBeUndefined();
    const statusWrite: KubeObject = await custom.patchNamespacedCustomObjectStatus(
      { ...crd, namespace: 'status', name: 'orders', body: { spec: { paused: true }, metadata: { labels: { sneaky: 'yes' } }, status: { observedGeneration: 1, queueDepth: 3 } } },
      mergePatch,
    );
    expect(statusWrite.status).toEqual({ observedGeneration: 1, queueDepth: 3 });
    expect(statusWrite.spec).toMatchObject({ paused: false });
    expect(statusWrite.metadata.labels).toBeUndefined();
    expect(statusWrite.metadata.generation).toBe(1);
    const replaced: KubeObject = await custom.replaceNamespacedCustomObjectStatus({ ...crd, namespace: 'status', name: 'orders', body: { ...statusWrite, status: { observedGeneration: 1, queueDepth: 4 } } });
    expect(replaced.status).toEqual({ observedGeneration: 1, queueDepth: 4 });
  }, 20_000);

  it('answers a PUT with a stale resourceVersion with 409 Conflict, and one without any with 422', async () => {
    const created = await createSubscription('conflict', subscription('orders'));
    await patchSubscription('conflict', 'orders', { spec: { paused: true } });
    const stale = await failure(custom.replaceNamespacedCustomObject({ ...crd, namespace: 'conflict', name: 'orders', body: created }));
    expect(stale).toEqual({ code: 409, reason: 'Conflict', message: expect.stringContaining('the object has been modified') });
    const { resourceVersion: _omitted, ...metadata } = created.metadata;
    expect(await failure(custom.replaceNamespacedCustomObject({ ...crd, namespace: 'conflict', name: 'orders', body: { ...created, metadata } }))).toMatchObject({ code: 422, reason: 'Invalid' });
    // A merge patch naming a resourceVersion is conditional too.
    expect(await failure(patchSubscription('conflict', 'orders', { metadata: { resourceVersion: created.metadata.resourceVersion }, spec: { prefetch: 1 } }))).toMatchObject({ code: 409 });
  }, 20_000);

  it('keeps an object with finalizers until they are removed, and accepts no new finalizers while it is deleting', async () => {
    await createSubscription('finalizers', subscription('orders', { metadata: { name: 'orders', finalizers: [FINALIZER] } }));
    const deleting: KubeObject = await custom.deleteNamespacedCustomObject({ ...crd, namespace: 'finalizers', name: 'orders' });
    expect(deleting.metadata.deletionTimestamp).toEqual(expect.any(String));
    expect((await getSubscription('finalizers', 'orders')).metadata.finalizers).toEqual([FINALIZER]);
    const added = await failure(patchSubscription('finalizers', 'orders', { metadata: { finalizers: [FINALIZER, 'example.com/another'] } }));
    expect(added).toMatchObject({ code: 422, reason: 'Invalid', message: expect.stringContaining('no new finalizers can be added') });
    // Status writes still work while deleting (the operator reports cleanup progress).
    await custom.patchNamespacedCustomObjectStatus({ ...crd, namespace: 'finalizers', name: 'orders', body: { status: { queueDepth: 0 } } }, mergePatch);
    await patchSubscription('finalizers', 'orders', { metadata: { finalizers: null } });
    expect(await failure(getSubscription('finalizers', 'orders'))).toMatchObject({ code: 404 });
    expect(standIn.objects(PLURAL, 'finalizers')).toEqual([]);
  }, 20_000);

  it('applies merge patches (null removes a key) and JSON patches to ConfigMaps, with 422 for a failed test op and 415 for unsupported types', async () => {
    await core.createNamespacedConfigMap({ namespace: 'patches', body: { metadata: { name: 'policy' }, data: { 'a.json': '{}', 'b.json': '{}' } } });
    const merged = await core.patchNamespacedConfigMap({ namespace: 'patches', name: 'policy', body: { data: { 'a.json': null, 'c.json': '{"prefetch":5}' } } }, mergePatch);
    expect(merged.data).toEqual({ 'b.json': '{}', 'c.json': '{"prefetch":5}' });
    const patched = await core.patchNamespacedConfigMap(
      { namespace: 'patches', name: 'policy', body: [{ op: 'test', path: '/data/b.json', value: '{}' }, { op: 'add', path: '/data/d.json', value: '[]' }, { op: 'remove', path: '/data/b.json' }] },
      jsonPatch,
    );
    expect(patched.data).toEqual({ 'c.json': '{"prefetch":5}', 'd.json': '[]' });
    const moved = await core.patchNamespacedConfigMap(
      { namespace: 'patches', name: 'policy', body: [{ op: 'copy', from: '/data/c.json', path: '/data/f.json' }, { op: 'move', from: '/data/d.json', path: '/data/g.json' }, { op: 'replace', path: '/data/c.json', value: '{}' }] },
      jsonPatch,
    );
    expect(moved.data).toEqual({ 'c.json': '{}', 'f.json': '{"prefetch":5}', 'g.json': '[]' });
    expect(await failure(core.patchNamespacedConfigMap({ namespace: 'patches', name: 'policy', body: [{ op: 'replace', path: '/data/missing', value: '' }] }, jsonPatch))).toMatchObject({ code: 422 });
    expect(await failure(core.patchNamespacedConfigMap({ namespace: 'patches', name: 'policy', body: [{ op: 'test', path: '/data/g.json', value: 'x' }] }, jsonPatch))).toMatchObject({ code: 422 });
    // client-node's default patch content type is JSON patch: an object body is a 400, as on a real server.
    expect(await failure(core.patchNamespacedConfigMap({ namespace: 'patches', name: 'policy', body: { data: {} } }))).toMatchObject({ code: 400 });
    expect(await failure(core.patchNamespacedConfigMap({ namespace: 'patches', name: 'policy', body: { data: { x: 1 } } }, mergePatch))).toMatchObject({ code: 422, message: expect.stringContaining('data[x]') });
    await createSubscription('patches', subscription('orders'));
    const strategic = setHeaderOptions('Content-Type', PatchStrategy.StrategicMergePatch);
    expect(await failure(custom.patchNamespacedCustomObject({ ...crd, namespace: 'patches', name: 'orders', body: { spec: {} } }, strategic))).toMatchObject({ code: 415, reason: 'UnsupportedMediaType' });
    const strategicOnCore = await core.patchNamespacedConfigMap({ namespace: 'patches', name: 'policy', body: { data: { 'e.json': '1' } } }, strategic);
    expect(strategicOnCore.data).toMatchObject({ 'e.json': '1' });
  }, 20_000);

  it('creates Leases, and refuses a second create and an update with a stale resourceVersion', async () => {
    const lease = { metadata: { name: 'operator' }, spec: { holderIdentity: 'pod-a', leaseDurationSeconds: 15, renewTime: new Date() } };
    const created = await coordination.createNamespacedLease({ namespace: 'leases', body: lease });
    expect(created.spec?.holderIdentity).toBe('pod-a');
    expect(await failure(coordination.createNamespacedLease({ namespace: 'leases', body: lease }))).toMatchObject({ code: 409, reason: 'AlreadyExists' });
    const renewed = await coordination.replaceNamespacedLease({ namespace: 'leases', name: 'operator', body: { ...created, spec: { ...created.spec, renewTime: new Date() } } });
    const takeover: V1Lease = { ...created, spec: { ...created.spec, holderIdentity: 'pod-b' } };
    expect(await failure(coordination.replaceNamespacedLease({ namespace: 'leases', name: 'operator', body: takeover }))).toMatchObject({ code: 409, reason: 'Conflict' });
    expect((await coordination.readNamespacedLease({ namespace: 'leases', name: 'operator' })).metadata?.resourceVersion).toBe(renewed.metadata?.resourceVersion);
  }, 20_000);

  it('records Events, listable through the API and the stand-in', async () => {
    await core.createNamespacedEvent({
      namespace: 'events',
      body: {
        metadata: { generateName: 'orders.' },
        involvedObject: { apiVersion: `${API_GROUP}/${API_VERSION}`, kind: KIND, name: 'orders', namespace: 'events' },
        type: 'Warning',
        reason: 'TopologyConflict',
        message: 'queue type cannot change in place',
      },
    });
    const listed = await core.listNamespacedEvent({ namespace: 'events' });
    expect(listed.items.map((event) => [event.reason, event.metadata.name])).toEqual([['TopologyConflict', expect.stringMatching(/^orders\.[0-9a-f]{5}$/)]]);
    expect(listed.metadata?.resourceVersion).toMatch(/^\d+$/);
    expect(standIn.objects('events', 'events')).toHaveLength(1);
  }, 20_000);

  it('fails the next matching requests with an injected 429 or 500, then serves normally', async () => {
    await core.createNamespacedConfigMap({ namespace: 'faults', body: { metadata: { name: 'cm' } } });
    standIn.failNext({ code: 429, verb: 'get', resource: 'configmaps', count: 2 });
    expect(await failure(core.readNamespacedConfigMap({ namespace: 'faults', name: 'cm' }))).toMatchObject({ code: 429, reason: 'TooManyRequests' });
    expect(await failure(core.readNamespacedConfigMap({ namespace: 'faults', name: 'cm' }))).toMatchObject({ code: 429 });
    standIn.failNext({ code: 500 });
    expect(await failure(core.readNamespacedConfigMap({ namespace: 'faults', name: 'cm' }))).toMatchObject({ code: 500, reason: 'InternalError' });
    expect((await core.readNamespacedConfigMap({ namespace: 'faults', name: 'cm' })).metadata?.name).toBe('cm');
    expect(standIn.requests().filter((r) => r.namespace === 'faults').map((r) => `${r.verb} ${r.code}`)).toEqual(['create 201', 'get 429', 'get 429', 'get 500', 'get 200']);
  }, 20_000);

  it('writes a kubeconfig file, for KUBECONFIG of an operator process, that the client loads', async () => {
    const fromFile = new KubeConfig();
    fromFile.loadFromFile(standIn.kubeConfigFile('from-file'));
    expect(fromFile.getContextObject(fromFile.getCurrentContext())?.namespace).toBe('from-file');
    await fromFile.makeApiClient(CoreV1Api).createNamespacedConfigMap({ namespace: 'from-file', body: { metadata: { name: 'cm' }, data: { k: 'v' } } });
    expect(standIn.objects('configmaps', 'from-file')).toMatchObject([{ metadata: { name: 'cm' }, data: { k: 'v' } }]);
  }, 20_000);

  it('answers 401 without the kubeconfig token and a 404 Status for paths it does not serve', async () => {
    const unauthenticated = await fetch(`${standIn.url}/api/v1/namespaces/x/configmaps`);
    expect(unauthenticated.status).toBe(401);
    const unknown = await fetch(`${standIn.url}/apis/apps/v1/namespaces/x/deployments`, { headers: { authorization: `Bearer ${standIn.kubeConfig().users[0]?.token}` } });
    expect(unknown.status).toBe(404);
    expect(await unknown.json()).toMatchObject({ kind: 'Status', code: 404, reason: 'NotFound' });
  }, 20_000);
});

describe('kube API stand-in: authorization', () => {
  it('allows exactly the verbs and resources a rule list grants and answers 403 Forbidden to the rest', async () => {
    const restricted = await startKubeApiStandIn({
      rules: [
        { apiGroups: [API_GROUP], resources: [PLURAL], verbs: ['get', 'list', 'watch', 'patch'] },
        { apiGroups: [API_GROUP], resources: [`${PLURAL}/status`], verbs: ['patch'] },
        { apiGroups: [''], resources: ['configmaps'], verbs: ['get', 'create', 'patch'], resourceNames: [] },
      ],
    });
    try {
      const kubeConfig = new KubeConfig();
      kubeConfig.loadFromOptions(restricted.kubeConfig());
      const api = kubeConfig.makeApiClient(CustomObjectsApi);
      const coreApi = kubeConfig.makeApiClient(CoreV1Api);
      const denied = await failure(api.createNamespacedCustomObject({ ...crd, namespace: 'rbac', body: subscription('orders') }));
      expect(denied).toEqual({
        code: 403,
        reason: 'Forbidden',
        message: 'eventsubscriptions.switchyard.io is forbidden: User "system:serviceaccount:default:switchyard-topology-operator" cannot create resource "eventsubscriptions" in API group "switchyard.io" in the namespace "rbac"',
      });
      expect(await api.listClusterCustomObject(crd)).toMatchObject({ items: [] });
      restricted.setRules(undefined);
      await api.createNamespacedCustomObject({ ...crd, namespace: 'rbac', body: subscription('orders') });
      restricted.setRules([{ apiGroups: [API_GROUP], resources: [PLURAL], verbs: ['patch'] }]);
      expect(await failure(api.patchNamespacedCustomObjectStatus({ ...crd, namespace: 'rbac', name: 'orders', body: { status: {} } }, mergePatch))).toMatchObject({ code: 403, message: expect.stringContaining('cannot patch resource "eventsubscriptions/status"') });
      expect(await failure(coreApi.listNamespacedConfigMap({ namespace: 'rbac' }))).toMatchObject({ code: 403 });
      await api.patchNamespacedCustomObject({ ...crd, namespace: 'rbac', name: 'orders', body: { spec: { paused: true } } }, mergePatch);
    } finally {
      await restricted.close();
    }
  }, 20_000);
});
