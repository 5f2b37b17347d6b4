// Shared by the operator-*.spec.ts tests: the real operator runtime (informer, Lease, work queue, Kubernetes
// clients from @kubernetes/client-node) against the in-process API server stand-in from @switchyard/testing, and
// the real RabbitMQ through a fresh vhost. No Kubernetes API server can run here; the stand-in speaks its REST
// paths and watch protocol for the resources the operator uses.
import { CoreV1Api, CustomObjectsApi, KubeConfig, PatchStrategy, setHeaderOptions } from '@kubernetes/client-node';
import { type ChannelFactory } from '@switchyard/messaging';
import { helm, type KubeApiStandIn, type KubeObject, type PolicyRule, waitFor } from '@switchyard/testing';
import amqp, { type ChannelModel } from 'amqplib';
import { cpSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseAllDocuments } from 'yaml';
import { API_GROUP, API_VERSION, KIND, PLURAL } from '../src/api-names.js';
import { TopologyOperator, type TopologyOperatorOptions } from '../src/operator.js';
import { silentOperatorLogger } from '../src/operator-logger.js';
import { OperatorMetrics } from '../src/operator-metrics.js';
import type { EventSubscription, EventSubscriptionSpec } from '../src/subscription/event-subscription.js';

export const NAMESPACE = 'shop';
const CHARTS_DIR = fileURLToPath(new URL('../../../charts', import.meta.url));
const LEASE_PLACEHOLDER = 'lease-named-by-the-test';
export const crd = { group: API_GROUP, version: API_VERSION, plural: PLURAL };
export const mergePatch = setHeaderOptions('Content-Type', PatchStrategy.MergePatch);

let renderedChart: string | undefined;

/**
 * `helm template` of charts/topology-operator, from a private copy (with its library chart beside it, as its
 * `file://../switchyard-lib` dependency expects): building dependencies writes into the chart directory, which the
 * k8s tests build too, and a clean clone has no built dependencies yet.
 */
function renderOperatorChart(): string {
  const dir = mkdtempSync(join(tmpdir(), 'operator-chart-'));
  try {
    const skipBuildOutput = (source: string) => !/[/\\](charts|Chart\.lock)$/.test(source.slice(CHARTS_DIR.length));
    for (const chart of ['topology-operator', 'switchyard-lib']) cpSync(join(CHARTS_DIR, chart), join(dir, chart), { recursive: true, filter: skipBuildOutput });
    helm(['dependency', 'build', join(dir, 'topology-operator')]);
    return helm(['template', 'op', join(dir, 'topology-operator'), '--namespace', NAMESPACE, '--set', `leaseName=${LEASE_PLACEHOLDER}`]);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/**
 * Exactly the access the chart grants the operator: the rules of every Role and ClusterRole `helm template` renders
 * from charts/topology-operator, with the Lease's get/update limited to `leaseNames` as the chart limits them to its
 * own Lease. Run with these rules, any verb the operator tried beyond what the chart ships is answered 403 and fails
 * the test.
 */
export function operatorRules(leaseNames: string[] = ['switchyard-topology-operator']): PolicyRule[] {
  const rendered = (renderedChart ??= renderOperatorChart());
  const rules = parseAllDocuments(rendered)
    .map((document) => document.toJS() as { kind?: string; rules?: PolicyRule[] } | null)
    .filter((object) => object?.kind === 'Role' || object?.kind === 'ClusterRole')
    .flatMap((object) => object!.rules ?? []);
  if (rules.length === 0) throw new Error('no RBAC rules rendered from charts/topology-operator');
  return rules.map(({ apiGroups, resources, verbs, resourceNames }) => ({
    apiGroups,
    resources,
    verbs,
    ...(resourceNames ? { resourceNames: resourceNames.flatMap((name) => (name === LEASE_PLACEHOLDER ? leaseNames : [name])) } : {}),
  }));
}

export const OPERATOR_RULES: PolicyRule[] = operatorRules();

/** The (verb, resource) pairs OPERATOR_RULES allow, as the stand-in records requests. */
export const OPERATOR_VERBS = new Set(OPERATOR_RULES.flatMap((rule) => rule.resources.flatMap((resource) => rule.verbs.map((verb) => `${verb} ${resource}`))));

/** What a test does to the API as a user would with kubectl. */
export interface ClusterUser {
  custom: CustomObjectsApi;
  core: CoreV1Api;
  create(name: string, spec: Partial<EventSubscriptionSpec>): Promise<EventSubscription>;
  get(name: string): Promise<EventSubscription | undefined>;
  patchSpec(name: string, spec: Partial<EventSubscriptionSpec>): Promise<EventSubscription>;
  delete(name: string): Promise<void>;
  configMapData(service: string): Promise<Record<string, string> | undefined>;
  /** How often this user called each "<verb> eventsubscriptions" the operator itself may not: create, get, delete. */
  ownCalls: Map<string, number>;
}

export function kubeConfigOf(standIn: KubeApiStandIn): KubeConfig {
  const kubeConfig = new KubeConfig();
  kubeConfig.loadFromOptions(standIn.kubeConfig(NAMESPACE));
  return kubeConfig;
}

export function clusterUser(standIn: KubeApiStandIn): ClusterUser {
  const kubeConfig = kubeConfigOf(standIn);
  const custom = kubeConfig.makeApiClient(CustomObjectsApi);
  const core = kubeConfig.makeApiClient(CoreV1Api);
  const notFoundAsUndefined = (error: unknown) => {
    if ((error as { code?: number }).code === 404) return undefined;
    throw error;
  };
  const ownCalls = new Map<string, number>();
  const count = (verb: 'create' | 'get' | 'delete') => ownCalls.set(`${verb} ${PLURAL}`, (ownCalls.get(`${verb} ${PLURAL}`) ?? 0) + 1);
  return {
    custom,
    core,
    ownCalls,
    create: async (name, spec) => {
      count('create');
      const body = { apiVersion: `${API_GROUP}/${API_VERSION}`, kind: KIND, metadata: { name, namespace: NAMESPACE }, spec: subscriptionSpec(spec) };
      return (await custom.createNamespacedCustomObject({ ...crd, namespace: NAMESPACE, body })) as EventSubscription;
    },
    get: async (name) => {
      count('get');
      return (await custom.getNamespacedCustomObject({ ...crd, namespace: NAMESPACE, name }).catch(notFoundAsUndefined)) as EventSubscription | undefined;
    },
    patchSpec: async (name, spec) => (await custom.patchNamespacedCustomObject({ ...crd, namespace: NAMESPACE, name, body: { spec } }, mergePatch)) as EventSubscription,
    delete: async (name) => {
      count('delete');
      await custom.deleteNamespacedCustomObject({ ...crd, namespace: NAMESPACE, name });
    },
    configMapData: async (service) => (await core.readNamespacedConfigMap({ name: `${service}-consumer-policy`, namespace: NAMESPACE }).catch(notFoundAsUndefined))?.data,
  };
}

/** A fully specified spec (the stand-in does not apply the CRD's defaults), overridable per test. */
export function subscriptionSpec(overrides: Partial<EventSubscriptionSpec> = {}): EventSubscriptionSpec {
  return {
    service: 'order-service',
    queue: 'order-service.user-events',
    exchange: 'switchyard.events',
    queueType: 'quorum',
    events: [{ type: 'user.created' }, { type: 'user.deleted' }],
    retry: { maxAttempts: 3, backoff: { delays: ['1s', '5s'] } },
    deliveryLimit: 20,
    prefetch: 20,
    paused: false,
    deletionPolicy: 'Retain',
    nonEmptyQueuePolicy: 'Retain',
    ...overrides,
  };
}

/** Operator options for tests: short Lease timings so elections take a second, not fifteen. */
export function testOperator(standIn: KubeApiStandIn, broker: ChannelFactory, identity: string, overrides: Partial<TopologyOperatorOptions> = {}): TopologyOperator {
  return new TopologyOperator({
    kubeConfig: kubeConfigOf(standIn),
    broker,
    config: { watchNamespace: undefined, podName: identity, podNamespace: NAMESPACE, leaseName: 'switchyard-topology-operator', resyncSeconds: 300, statusRefreshSeconds: 30 },
    logger: silentOperatorLogger(),
    metrics: new OperatorMetrics(),
    leaderElection: { leaseDurationMs: 3000, renewDeadlineMs: 2000, retryPeriodMs: 300 },
    requeue: { baseDelayMs: 200, maxDelayMs: 2000 },
    ...overrides,
  });
}

/** Events the stand-in stored about one subscription, oldest first. */
export function eventsAbout(standIn: KubeApiStandIn, name: string): Array<{ type: string; reason: string; message: string; source?: { component?: string } }> {
  return standIn
    .objects('events', NAMESPACE)
    .filter((event) => (event.involvedObject as { name?: string } | undefined)?.name === name)
    .map((event) => event as unknown as { type: string; reason: string; message: string; source?: { component?: string } });
}

/** Stored object of a resource, straight from the stand-in. */
export function stored(standIn: KubeApiStandIn, plural: string, name: string): KubeObject | undefined {
  return standIn.objects(plural, NAMESPACE).find((object) => object.metadata.name === name);
}

export function condition(subscription: EventSubscription | undefined, type: string): { status: string; reason: string; message: string } | undefined {
  return subscription?.status?.conditions?.find((c) => c.type === type);
}

/** A plain connection for the test's own look at the broker. */
export async function brokerProbe(url: string): Promise<{ model: ChannelModel; queueExists(name: string): Promise<boolean>; close(): Promise<void> }> {
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
