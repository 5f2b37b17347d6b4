// Shared by the operator-*.spec.ts tests: the real operator runtime (informer, Lease, work queue, Kubernetes
// clients from @kubernetes/client-node) against a real kube-apiserver (the shared control plane of the test run,
// or a private one where a test restarts it), and the real RabbitMQ through a fresh vhost. Each test file works in
// a namespace of its own; the operator runs as a ServiceAccount bound to exactly the RBAC objects the chart
// renders, so a verb the chart lacks is a real 403, and the test acts as an admin (kubectl's user).
import {
  CoreV1Api,
  CustomObjectsApi,
  KubeConfig,
  PatchStrategy,
  setHeaderOptions,
  Watch,
} from '@kubernetes/client-node';
import { type ChannelFactory } from '@switchyard/messaging/topology';
import {
  applyCrd,
  type ControlPlane,
  createTestNamespace,
  helm,
  serviceAccountKubeconfig,
  sharedControlPlane,
  type TestNamespace,
  waitFor,
} from '@switchyard/testing';
import amqp, { type ChannelModel } from 'amqplib';
import { cpSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { pino } from 'pino';
import { parseAllDocuments } from 'yaml';
import {
  API_GROUP,
  API_VERSION,
  CRD_NAME,
  KIND,
  PLURAL,
  type EventSubscription,
  type EventSubscriptionSpec,
} from '../src/api/v1alpha1/index.js';
import { TopologyOperator, type TopologyOperatorOptions } from '../src/operator.js';
import { type OperatorLogger, silentOperatorLogger } from '../src/operator-logger.js';
import { OperatorMetrics } from '../src/operator-metrics.js';
import { kubectlOutcome } from '../../../k8s/test/kubectl-outcome.js';

const CHARTS_DIR = fileURLToPath(new URL('../../../charts', import.meta.url));
/** The CRD as the chart ships it (cluster-scoped and shared by every test file: applied, never deleted). */
export const CRD_MANIFEST = join(CHARTS_DIR, 'topology-operator', 'crds', `${CRD_NAME}.yaml`);
/** The Lease the operator elects its leader on unless a test names another. */
export const DEFAULT_LEASE = 'switchyard-topology-operator';
const RELEASE = 'op';
export const crd = { group: API_GROUP, version: API_VERSION, plural: PLURAL };
export const mergePatch = setHeaderOptions('Content-Type', PatchStrategy.MergePatch);

/** A rendered Kubernetes object, as much of it as the harness reads or changes. */
interface Manifest {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string };
  rules?: Array<{ apiGroups: string[]; resources: string[]; verbs: string[]; resourceNames?: string[] }>;
  subjects?: Array<{ kind: string; name: string; namespace?: string }>;
}

/**
 * `helm template` of charts/topology-operator for a release in `namespace`, from a private copy (with its library
 * chart beside it, as its `file://../switchyard-lib` dependency expects): building dependencies writes into the
 * chart directory, which the k8s tests build too, and a clean clone has no built dependencies yet.
 */
function renderOperatorChart(namespace: string, values: Record<string, string>): Manifest[] {
  const dir = mkdtempSync(join(tmpdir(), 'operator-chart-'));
  try {
    const skipBuildOutput = (source: string) => !/[/\\](charts|Chart\.lock)$/.test(source.slice(CHARTS_DIR.length));
    for (const chart of ['topology-operator', 'switchyard-lib'])
      cpSync(join(CHARTS_DIR, chart), join(dir, chart), { recursive: true, filter: skipBuildOutput });
    helm(['dependency', 'build', join(dir, 'topology-operator')]);
    const sets = Object.entries(values).flatMap(([key, value]) => ['--set', `${key}=${value}`]);
    const rendered = helm(['template', RELEASE, join(dir, 'topology-operator'), '--namespace', namespace, ...sets]);
    return parseAllDocuments(rendered)
      .map((document) => document.toJS() as Manifest | null)
      .filter((object): object is Manifest => object !== null);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

export interface ChartRbacOptions {
  /**
   * Render the chart with `clusterWide: true` (ClusterRole + ClusterRoleBinding) instead of its default: a Role in
   * the release namespace, which is the test namespace.
   */
  clusterWide?: boolean;
  /** Leases the operator may get and update: the chart grants its one Lease by name; tests name theirs. */
  leaseNames?: string[];
  /** Take one verb out of the chart's rules, to see the operator meet the 403. */
  withoutVerb?: { resource: string; verb: string };
}

/**
 * The Roles, ClusterRoles and bindings `helm template` renders from charts/topology-operator for a release in
 * `namespace`, with only the Lease's resourceNames (and, if asked, one verb) changed. The ClusterRole's name holds
 * the release namespace, so each test namespace gets its own.
 */
export function chartRbac(namespace: string, options: ChartRbacOptions = {}): Manifest[] {
  const leaseNames = options.leaseNames ?? [DEFAULT_LEASE];
  const placeholder = 'lease-named-by-the-test';
  const values: Record<string, string> = {
    leaseName: placeholder,
    ...(options.clusterWide ? { clusterWide: 'true' } : {}),
  };
  const rbac = renderOperatorChart(namespace, values).filter((object) =>
    /^(Cluster)?Role(Binding)?$/.test(object.kind),
  );
  if (!rbac.some((object) => object.rules?.length))
    throw new Error('no RBAC rules rendered from charts/topology-operator');
  for (const object of rbac) {
    object.rules = object.rules
      ?.map((rule) => ({
        ...rule,
        ...(rule.resourceNames
          ? { resourceNames: rule.resourceNames.flatMap((name) => (name === placeholder ? leaseNames : [name])) }
          : {}),
        verbs: rule.verbs.filter(
          (verb) =>
            !(
              options.withoutVerb &&
              rule.resources.includes(options.withoutVerb.resource) &&
              verb === options.withoutVerb.verb
            ),
        ),
      }))
      .filter((rule) => rule.verbs.length > 0);
  }
  return rbac;
}

/** What a test does to the API as a user would with kubectl (admin), in the test namespace. */
export interface ClusterUser {
  namespace: string;
  custom: CustomObjectsApi;
  core: CoreV1Api;
  create(name: string, spec: Partial<EventSubscriptionSpec>, namespace?: string): Promise<EventSubscription>;
  get(name: string): Promise<EventSubscription | undefined>;
  list(): Promise<EventSubscription[]>;
  patchSpec(name: string, spec: Partial<EventSubscriptionSpec>): Promise<EventSubscription>;
  delete(name: string): Promise<void>;
  configMapData(service: string): Promise<Record<string, string> | undefined>;
}

const notFoundAsUndefined = (error: unknown) => {
  if ((error as { code?: number }).code === 404) return undefined;
  throw error;
};

export function clusterUser(kubeConfig: KubeConfig, namespace: string): ClusterUser {
  const custom = kubeConfig.makeApiClient(CustomObjectsApi);
  const core = kubeConfig.makeApiClient(CoreV1Api);
  return {
    namespace,
    custom,
    core,
    create: async (name, spec, inNamespace = namespace) => {
      const body = {
        apiVersion: `${API_GROUP}/${API_VERSION}`,
        kind: KIND,
        metadata: { name, namespace: inNamespace },
        spec: subscriptionSpec(spec),
      };
      return (await custom.createNamespacedCustomObject({ ...crd, namespace: inNamespace, body })) as EventSubscription;
    },
    get: async (name) =>
      (await custom.getNamespacedCustomObject({ ...crd, namespace, name }).catch(notFoundAsUndefined)) as
        EventSubscription | undefined,
    list: async () =>
      ((await custom.listNamespacedCustomObject({ ...crd, namespace })) as { items: EventSubscription[] }).items,
    patchSpec: async (name, spec) =>
      (await custom.patchNamespacedCustomObject(
        { ...crd, namespace, name, body: { spec } },
        mergePatch,
      )) as EventSubscription,
    delete: async (name) => {
      await custom.deleteNamespacedCustomObject({ ...crd, namespace, name });
    },
    configMapData: async (service) =>
      (await core.readNamespacedConfigMap({ name: `${service}-consumer-policy`, namespace }).catch(notFoundAsUndefined))
        ?.data,
  };
}

/**
 * The spec fields the tests rely on (two event types, two retry tiers of 1 s and 5 s), overridable per test; the
 * API server fills in the rest from the CRD's defaults (quorum queue, prefetch 20, deletionPolicy Retain, ...).
 */
export function subscriptionSpec(overrides: Partial<EventSubscriptionSpec> = {}): Partial<EventSubscriptionSpec> {
  return {
    service: 'order-service',
    queue: 'order-service.user-events',
    events: [{ type: 'user.created' }, { type: 'user.deleted' }],
    retry: { maxAttempts: 3, backoff: { delays: ['1s', '5s'] } },
    ...overrides,
  };
}

export interface KubeEvent {
  type: string;
  reason: string;
  message: string;
  source?: { component?: string };
  reportingInstance?: string;
}

/** One test file's place on the API server: its namespace, the admin user, and the operator's identity. */
export interface OperatorCluster {
  plane: ControlPlane;
  namespace: string;
  /** The admin's KubeConfig (system:masters), for the test's own actions. */
  admin: KubeConfig;
  user: ClusterUser;
  /** The operator's ServiceAccount, bound to the chart's RBAC. */
  serviceAccount: string;
  /** Kubeconfig file of the operator's ServiceAccount (a token the server issued). */
  kubeconfigPath: string;
  /** The operator's KubeConfig, reaching the server directly or at `server` (a fault proxy in front of it). */
  operatorKubeConfig(server?: string): KubeConfig;
  /** Core/v1 Events about one object in the test namespace, oldest first, as the server stored them. */
  eventsAbout(name: string): Promise<KubeEvent[]>;
  /** Removes the namespace and the cluster-scoped RBAC objects of this file. */
  drop(): Promise<void>;
}

/** A kubeconfig file's KubeConfig, optionally reaching the server at another address (TLS passes through a fault proxy; the serving certificate names 127.0.0.1). */
function kubeConfigFrom(path: string, server?: string): KubeConfig {
  const kubeConfig = new KubeConfig();
  kubeConfig.loadFromFile(path);
  if (server === undefined) return kubeConfig;
  const redirected = new KubeConfig();
  redirected.loadFromOptions({
    clusters: kubeConfig.clusters.map((cluster) => ({ ...cluster, server })),
    users: kubeConfig.users,
    contexts: kubeConfig.contexts,
    currentContext: kubeConfig.currentContext,
  });
  return redirected;
}

/**
 * A namespace of the test file's own on the API server (the shared control plane unless `plane` is given), the
 * CRD installed, and the operator's ServiceAccount there with the chart's RBAC applied and in effect.
 */
export async function startOperatorCluster(
  label: string,
  options: ChartRbacOptions & { plane?: ControlPlane } = {},
): Promise<OperatorCluster> {
  const plane = options.plane ?? (await sharedControlPlane());
  await applyCrd(plane, CRD_MANIFEST);
  const testNamespace: TestNamespace = await createTestNamespace(plane, `op-${label}`);
  const namespace = testNamespace.name;
  const rbac = chartRbac(namespace, options);
  const serviceAccount = rbac
    .flatMap((object) => object.subjects ?? [])
    .find((subject) => subject.kind === 'ServiceAccount')!.name;
  await plane.kubectl(
    ['apply', '-n', namespace, '-f', '-'],
    JSON.stringify({ apiVersion: 'v1', kind: 'List', items: rbac }),
  );
  const kubeconfigPath = await serviceAccountKubeconfig(plane, namespace, serviceAccount);
  // The authorizer learns of new bindings through its own informer: wait until it grants what the operator needs first.
  const canI = (verb: string, resource: string) =>
    plane
      .kubectl([
        'auth',
        'can-i',
        verb,
        resource,
        '-n',
        namespace,
        '--as',
        `system:serviceaccount:${namespace}:${serviceAccount}`,
      ])
      .then(
        (answer) => answer.trim() === 'yes',
        () => false,
      );
  await waitFor(
    'the chart RBAC in effect',
    async () => (await canI('watch', `${PLURAL}.${API_GROUP}`)) && (await canI('create', 'leases.coordination.k8s.io')),
    30_000,
    200,
  );

  const admin = new KubeConfig();
  admin.loadFromFile(plane.kubeconfigPath);
  const core = admin.makeApiClient(CoreV1Api);
  const clusterScoped = rbac.filter((object) => object.kind.startsWith('Cluster'));
  return {
    plane,
    namespace,
    admin,
    user: clusterUser(admin, namespace),
    serviceAccount,
    kubeconfigPath,
    operatorKubeConfig: (server) => kubeConfigFrom(kubeconfigPath, server),
    eventsAbout: async (name) => {
      const events = await core.listNamespacedEvent({ namespace, fieldSelector: `involvedObject.name=${name}` });
      return events.items
        .sort((a, b) => String(a.firstTimestamp ?? a.eventTime).localeCompare(String(b.firstTimestamp ?? b.eventTime)))
        .map((event) => ({
          type: event.type ?? '',
          reason: event.reason ?? '',
          message: event.message ?? '',
          source: event.source ? { component: event.source.component } : undefined,
          reportingInstance: event.reportingInstance,
        }));
    },
    drop: async () => {
      for (const object of clusterScoped)
        await plane.kubectl(['delete', object.kind, object.metadata.name, '--ignore-not-found']).catch(() => undefined);
      await testNamespace.drop();
    },
  };
}

/** Operator options for tests: the test namespace watched, short Lease timings so elections take a second, not fifteen. */
export function testOperator(
  cluster: OperatorCluster,
  broker: ChannelFactory,
  identity: string,
  overrides: Partial<TopologyOperatorOptions> & { server?: string } = {},
): TopologyOperator {
  const { server, ...options } = overrides;
  return new TopologyOperator({
    kubeConfig: cluster.operatorKubeConfig(server),
    broker,
    config: {
      watchNamespace: cluster.namespace,
      podName: identity,
      podNamespace: cluster.namespace,
      leaseName: DEFAULT_LEASE,
      resyncSeconds: 300,
      statusRefreshSeconds: 30,
    },
    logger: silentOperatorLogger(),
    metrics: new OperatorMetrics(),
    leaderElection: { leaseDurationMs: 3000, renewDeadlineMs: 2000, retryPeriodMs: 300 },
    requeue: { baseDelayMs: 200, maxDelayMs: 2000 },
    ...options,
  });
}

/** A logger that keeps every line (debug and up) as parsed JSON, for assertions on what the operator reported. */
export function recordingLogger(): { logger: OperatorLogger; lines: Array<Record<string, unknown>> } {
  const lines: Array<Record<string, unknown>> = [];
  const logger = pino(
    { level: 'debug' },
    { write: (line: string) => void lines.push(JSON.parse(line) as Record<string, unknown>) },
  );
  return { logger, lines };
}

/** Log lines that report a request the API server refused (403): the operator asked for more than the chart grants. */
export const forbiddenIn = (lines: Array<Record<string, unknown>>): Array<Record<string, unknown>> =>
  lines.filter((line) => /HTTP 403|forbidden/i.test(JSON.stringify(line)));

export interface WatchRecord {
  path: string;
  query: Record<string, string | number | boolean | undefined>;
  /** Event types the server sent on this watch (ADDED, MODIFIED, DELETED, BOOKMARK, ERROR), in order. */
  events: Array<{ type: string; resourceVersion?: string; code?: number }>;
  /** The server answered 200 and the stream is open (until `ended`). */
  opened: boolean;
  ended: boolean;
}

/**
 * Notes every watch client-node opens in this process (the operator's among them) and what the server sent on it,
 * by wrapping `Watch.prototype.watch`: the requests still go to the real server unchanged. `restore()` unwraps.
 */
export function recordWatches(): { watches: WatchRecord[]; restore(): void } {
  const original = Watch.prototype.watch;
  const watches: WatchRecord[] = [];
  Watch.prototype.watch = async function (this: Watch, path, queryParams, callback, done) {
    const record: WatchRecord = { path, query: { ...queryParams }, events: [], opened: false, ended: false };
    watches.push(record);
    const controller = await original.call(
      this,
      path,
      queryParams,
      (phase, apiObj, watchObj) => {
        const object = apiObj as { metadata?: { resourceVersion?: string }; code?: number } | undefined;
        record.events.push({ type: phase, resourceVersion: object?.metadata?.resourceVersion, code: object?.code });
        callback(phase, apiObj, watchObj);
      },
      (err) => {
        record.ended = true;
        done(err);
      },
    );
    record.opened = !record.ended;
    return controller;
  };
  return { watches, restore: () => (Watch.prototype.watch = original) };
}

export function condition(
  subscription: EventSubscription | undefined,
  type: string,
): { status: string; reason: string; message: string } | undefined {
  return subscription?.status?.conditions?.find((c) => c.type === type);
}

/**
 * `kubectl auth can-i` as the operator's ServiceAccount, asked by the admin through impersonation: 'yes' or 'no'
 * (kubectl exits 1 on 'no'; any other failure is thrown). `namespace` undefined asks cluster-wide (`-A`).
 */
export async function operatorCanI(
  cluster: OperatorCluster,
  verb: string,
  resource: string,
  namespace: string | undefined,
): Promise<'yes' | 'no'> {
  const as = `system:serviceaccount:${cluster.namespace}:${cluster.serviceAccount}`;
  const scope = namespace === undefined ? ['--all-namespaces'] : ['-n', namespace];
  const outcome = await kubectlOutcome(cluster.plane, ['auth', 'can-i', verb, resource, ...scope, '--as', as]);
  const answer = outcome.stdout.trim();
  if ((outcome.code === 0 && answer === 'yes') || (outcome.code === 1 && answer === 'no')) return answer;
  throw new Error(`kubectl auth can-i ${verb} ${resource} failed (${outcome.code}): ${outcome.stderr.trim()}`);
}

/** A plain connection for the test's own look at the broker. */
export async function brokerProbe(
  url: string,
): Promise<{ model: ChannelModel; queueExists(name: string): Promise<boolean>; close(): Promise<void> }> {
  const model = await amqp.connect(url);
  // A lost connection fails the next probe call; unheard, its 'error' event would crash the test run instead.
  model.on('error', () => undefined);
  return {
    model,
    async queueExists(name) {
      const channel = await model.createChannel();
      channel.on('error', () => undefined);
      try {
        await channel.checkQueue(name);
        await channel.close();
        return true;
      } catch (error) {
        if ((error as { code?: number }).code === 404) return false;
        throw error;
      }
    },
    close: () => model.close(),
  };
}

export async function waitForLeader(operators: TopologyOperator[], timeoutMs = 20_000): Promise<TopologyOperator> {
  return waitFor('one operator to lead', () => operators.find((operator) => operator.isLeader), timeoutMs);
}
