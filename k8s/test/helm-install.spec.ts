// The Helm charts against a real API server (the shared control plane: `npm run kube:up`, or `npm test`), where
// charts.spec.ts only renders them. Each installable chart goes through install, upgrade with changed values and
// uninstall, in a namespace of its own labelled pod-security.kubernetes.io/enforce: restricted, all charts at
// once:
// - every object of the release is admitted (schema, strict fields, the EventSubscription CRD's CEL rules);
// - kube-controller-manager creates the Pods of every Deployment, StatefulSet and Job, and PodSecurity admission
//   lets them in (no FailedCreate event). There is no kubelet: Pods stay Pending, so nothing waits for readiness
//   (no --wait), hook Jobs are finished by a stand-in (job-pod-finisher.ts), else Helm would wait for them, and
//   after an upgrade the StatefulSet Pods of the old revision are deleted as a rolling update would once Ready;
// - an upgrade applies the changed values, keeps generated Secrets (they are read back with `lookup`) and
//   deletes what the new values drop;
// - uninstall leaves exactly what the charts keep on purpose (`kept` in CASES below) and the namespace then deletes cleanly.
// Every rendered scenario (ci/*-values.yaml, k8s/values-dev.yaml) is also sent to the server as a dry run.
// ServiceMonitor, PodMonitor and PrometheusRule (monitoring.coreos.com, behind values flags) stay off: no Prometheus Operator
// CRDs are installed, and the dry run leaves those objects out (charts.spec.ts checks their shape).
import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import { applyCrd, createTestNamespace, helmAsync, sharedControlPlane, waitFor, type ControlPlane, type TestNamespace } from '@switchyard/testing';
import { randomBytes } from 'node:crypto';
import { existsSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseAllDocuments } from 'yaml';
import { CRD_NAME } from '@switchyard/topology-operator/api';
import { chartWorkspace, type ChartWorkspace } from './chart-workspace.js';
import { JobPodFinisher } from './job-pod-finisher.js';
import { kubectlOutcome, mapLimited } from './kubectl-outcome.js';

const repoRoot = fileURLToPath(new URL('../..', import.meta.url));
const CRD_FILE = path.join(repoRoot, 'charts', 'topology-operator', 'crds', `${CRD_NAME}.yaml`);
const RESTRICTED = { 'pod-security.kubernetes.io/enforce': 'restricted', 'pod-security.kubernetes.io/enforce-version': 'latest' };
/** Per Kubernetes operation Helm waits for (a hook Job): the finisher completes one within seconds. */
const HELM_TIMEOUT = '2m';
/** For the controllers to create Pods, or the garbage collector to delete what an uninstall left owned. */
const CONTROLLER_DEADLINE_MS = 90_000;
/** A whole chart's lifecycle, on a loaded 2-core machine with six others running beside it. */
const LIFECYCLE_TIMEOUT_MS = 480_000;
const PARALLEL_KUBECTL = 3;

interface K8sObject {
  apiVersion: string;
  kind: string;
  metadata: {
    name: string;
    namespace?: string;
    annotations?: Record<string, string>;
    labels?: Record<string, string>;
    ownerReferences?: { kind: string; name: string }[];
    generation?: number;
    creationTimestamp?: string;
  };
  spec?: Record<string, unknown>;
  status?: Record<string, unknown>;
  data?: Record<string, string>;
  reason?: string;
  message?: string;
}

/** What each chart's upgrade changes, and how to see it on the server. */
interface ChartCase {
  /** The release's hook Jobs (the migrations), which Helm waits for on install and upgrade. */
  hookJobs: (release: string) => string[];
  /** helm upgrade arguments (values) that change something the install made. */
  upgradeArgs: (namespace: string) => string[];
  /** [resource, JSONPath, value] the upgrade must have produced; resource names as functions of the release. */
  upgraded: (release: string) => [string, string, string][];
  /** Objects the upgrade drops (by its values), which must be gone afterwards. */
  droppedByUpgrade: (release: string) => string[];
  /** Secrets whose content the upgrade's values change; every other Secret must keep its data (lookup). */
  secretsChangedByUpgrade: (release: string) => string[];
  /**
   * What `helm uninstall` leaves in the namespace on purpose: Secrets annotated helm.sh/resource-policy: keep
   * (generated credentials the data on the volumes still needs) and the PersistentVolumeClaims the StatefulSet
   * controller creates from volumeClaimTemplates (Helm never owned them). Cluster-wide, the CRD stays (crds/).
   */
  kept: (release: string) => string[];
}

const postgresKept = (r: string) => [`Secret/${r}-postgres`, `Secret/${r}-postgres-user-service`, `Secret/${r}-postgres-order-service`, `PersistentVolumeClaim/data-${r}-postgres-0`];
const serviceCase = (service: string): ChartCase => ({
  hookJobs: (r) => [`${r}-${service}-migrate`],
  upgradeArgs: () => ['--set', 'replicaCount=3', '--set', 'logLevel=debug', '--set', 'pdb.enabled=false'],
  upgraded: (r) => [
    [`deployment/${r}-${service}`, '{.spec.replicas}', '3'],
    [`configmap/${r}-${service}`, '{.data.LOG_LEVEL}', 'debug'],
  ],
  droppedByUpgrade: (r) => [`PodDisruptionBudget/${r}-${service}`],
  secretsChangedByUpgrade: () => [],
  // user-service's generated signing key (tokens signed with it stay verifiable across a reinstall).
  kept: (r) => (service === 'user-service' ? [`Secret/${r}-user-service-auth`] : []),
});
/** The broker identities' Secrets of the rabbitmq chart (values `users`), kept like its own. */
const brokerUsersKept = (r: string) => ['user-service', 'order-service', 'switchyard-operator', 'switchyard-dlq'].map((user) => `Secret/${r}-rabbitmq-${user}`);

const CASES: Record<string, ChartCase> = {
  'user-service': serviceCase('user-service'),
  'order-service': serviceCase('order-service'),
  postgres: {
    hookJobs: () => [],
    // A third database: its Secret is generated, the two others are read back unchanged.
    upgradeArgs: () => [
      '--set-json',
      'databases=[{"name":"switchyard_users","user":"user_service","secretSuffix":"user-service"},{"name":"switchyard_orders","user":"order_service","secretSuffix":"order-service"},{"name":"switchyard_audit","user":"audit_service","secretSuffix":"audit-service"}]',
      '--set',
      'resources.limits.memory=2Gi',
    ],
    upgraded: (r) => [
      [`statefulset/${r}-postgres`, '{.spec.template.spec.containers[0].resources.limits.memory}', '2Gi'],
      // `username` is the runtime role the service logs in as; the owner is `owner-username`.
      [`secret/${r}-postgres-audit-service`, '{.data.username}', Buffer.from('switchyard_audit_app').toString('base64')],
      [`secret/${r}-postgres-audit-service`, '{.data.owner-username}', Buffer.from('audit_service').toString('base64')],
    ],
    droppedByUpgrade: () => [],
    secretsChangedByUpgrade: () => [],
    kept: (r) => [...postgresKept(r), `Secret/${r}-postgres-audit-service`],
  },
  rabbitmq: {
    hookJobs: () => [],
    // ci/cluster-values.yaml: three nodes, peer discovery with its ServiceAccount and Role.
    upgradeArgs: () => ['--values', 'rabbitmq/ci/cluster-values.yaml'],
    upgraded: (r) => [[`statefulset/${r}-rabbitmq`, '{.spec.replicas}', '3']],
    droppedByUpgrade: () => [],
    secretsChangedByUpgrade: () => [],
    // podManagementPolicy Parallel: all three Pods, hence all three claims, are created at once.
    kept: (r) => [`Secret/${r}-rabbitmq`, ...brokerUsersKept(r), ...[0, 1, 2].map((i) => `PersistentVolumeClaim/data-${r}-rabbitmq-${i}`)],
  },
  observability: {
    hookJobs: () => [],
    upgradeArgs: () => ['--set', 'jaeger.enabled=false', '--set', 'grafana.anonymousViewer=true'],
    upgraded: () => [],
    droppedByUpgrade: () => ['Service/jaeger'],
    secretsChangedByUpgrade: () => [],
    kept: () => [],
  },
  'topology-operator': {
    hookJobs: () => [],
    // ci/external-broker-monitoring-values.yaml (its ServiceMonitor off): changed and added subscriptions, an
    // external broker URL (the broker Secret changes).
    upgradeArgs: () => ['--values', 'topology-operator/ci/external-broker-monitoring-values.yaml', '--set', 'serviceMonitor.enabled=false'],
    upgraded: () => [
      ['eventsubscription/user-service-order-events', '{.spec.retry.backoff.exponential.initial}', '500ms'],
      ['eventsubscription/order-service-user-events', '{.spec.paused}', 'true'],
      ['eventsubscription/audit-service-all-events', '{.spec.queueType}', 'classic'],
    ],
    droppedByUpgrade: () => [],
    secretsChangedByUpgrade: (r) => [`${r}-topology-operator-broker`],
    kept: () => [],
  },
  switchyard: {
    hookJobs: (r) => [`${r}-order-service-migrate`, `${r}-user-service-migrate`],
    upgradeArgs: () => ['--set', 'user-service.logLevel=debug', '--set', 'observability.jaeger.enabled=false'],
    upgraded: (r) => [[`configmap/${r}-user-service`, '{.data.LOG_LEVEL}', 'debug']],
    droppedByUpgrade: () => ['Service/jaeger'],
    secretsChangedByUpgrade: () => [],
    kept: (r) => [...postgresKept(r), `Secret/${r}-rabbitmq`, ...brokerUsersKept(r), `Secret/${r}-user-service-auth`, `PersistentVolumeClaim/data-${r}-rabbitmq-0`],
  },
};

// ---------------------------------------------------------------------------------------------------------------

const id = (obj: { kind: string; metadata: { name: string } }) => `${obj.kind}/${obj.metadata.name}`;

function parseStream(manifest: string): K8sObject[] {
  return parseAllDocuments(manifest)
    .map((doc) => {
      if (doc.errors.length > 0) throw new Error(`invalid YAML in a manifest: ${doc.errors[0]?.message}`);
      return doc.toJS() as K8sObject | null;
    })
    .filter((obj): obj is K8sObject => obj !== null);
}

const toYaml = (objects: K8sObject[]) => objects.map((obj) => JSON.stringify(obj)).join('\n---\n');

let plane: ControlPlane;
let workspace: ChartWorkspace;
let finisher: JobPodFinisher;
/** Every namespaced resource type that can be listed, for the search of leftovers. */
let listableTypes: string[];

/** `kubectl get -f - --ignore-not-found -o json` of `objects`: those the server has (it prints nothing when none). */
async function existing(objects: K8sObject[], namespace?: string): Promise<K8sObject[]> {
  if (objects.length === 0) return [];
  const output = await plane.kubectl(['get', '-f', '-', ...(namespace ? ['-n', namespace] : []), '--ignore-not-found', '-o', 'json'], toYaml(objects));
  if (output.trim() === '') return [];
  const parsed = JSON.parse(output) as K8sObject & { items?: K8sObject[] };
  return parsed.items ?? [parsed];
}

/** helm against the test's control plane. */
const helmOnPlane = (args: string[], options: { cwd?: string } = {}) => helmAsync([...args, '--kubeconfig', plane.kubeconfigPath], options);

async function getList(namespace: string, types: string): Promise<K8sObject[]> {
  return (JSON.parse(await plane.kubectl(['get', types, '-n', namespace, '-o', 'json'])) as { items: K8sObject[] }).items;
}

/** FailedCreate events of the controllers (ReplicaSet, StatefulSet, Job): a Pod they could not create. */
async function failedCreates(namespace: string): Promise<string[]> {
  return (await getList(namespace, 'events'))
    .filter((event) => event.reason === 'FailedCreate')
    .map((event) => `${(event as unknown as { involvedObject: { kind: string; name: string } }).involvedObject.kind}: ${event.message ?? ''}`);
}

/**
 * For each Deployment, StatefulSet and (non-hook) Job of `manifest`: the Pods created from its current template
 * (for a Deployment, by the ReplicaSet of its current revision; for a StatefulSet, of its update revision).
 */
async function podsOfWorkloads(namespace: string, manifest: K8sObject[]): Promise<Record<string, number>> {
  const objects = await getList(namespace, 'pods,replicasets,deployments,statefulsets,jobs');
  const pods = objects.filter((obj) => obj.kind === 'Pod');
  const ownedBy = (kind: string, name: string) => pods.filter((pod) => pod.metadata.ownerReferences?.some((owner) => owner.kind === kind && owner.name === name));
  const counts: Record<string, number> = {};
  for (const workload of manifest.filter((obj) => ['Deployment', 'StatefulSet', 'Job'].includes(obj.kind))) {
    const live = objects.find((obj) => obj.kind === workload.kind && obj.metadata.name === workload.metadata.name);
    let created = 0;
    // Until its controller has seen the latest spec, a workload's revision (and so its current Pods) is the old one.
    const observed = live !== undefined && (live.kind === 'Job' || live.status?.['observedGeneration'] === live.metadata.generation);
    if (!observed || live === undefined) {
      // not yet: counted as none
    } else if (live.kind === 'Deployment') {
      const revision = live.metadata.annotations?.['deployment.kubernetes.io/revision'];
      const current = objects.find(
        (obj) => obj.kind === 'ReplicaSet' && obj.metadata.annotations?.['deployment.kubernetes.io/revision'] === revision && obj.metadata.ownerReferences?.some((owner) => owner.kind === 'Deployment' && owner.name === live.metadata.name),
      );
      created = current ? ownedBy('ReplicaSet', current.metadata.name).length : 0;
    } else if (live.kind === 'StatefulSet') {
      const revision = live.status?.['updateRevision'];
      created = ownedBy('StatefulSet', live.metadata.name).filter((pod) => pod.metadata.labels?.['controller-revision-hash'] === revision).length;
    } else {
      created = ownedBy('Job', live.metadata.name).length;
    }
    counts[id(workload)] = created;
  }
  return counts;
}

interface StageObservation {
  /** Objects of the release (helm get manifest) the server does not have. */
  missing: string[];
  /** Pods created per workload (current template); none may be 0. */
  pods: Record<string, number>;
  /** FailedCreate events (a PodSecurity refusal among them). */
  failedCreates: string[];
  /** Hook Jobs of the release (tests excluded) and those whose Pod the finisher saw and completed. */
  hookJobs: string[];
  finishedHookJobs: string[];
  /** Hook objects Helm should have deleted after they succeeded, still there. */
  leftoverHooks: string[];
  manifest: K8sObject[];
  secrets: Record<string, Record<string, string>>;
}

async function observeStage(namespace: string, release: string): Promise<StageObservation> {
  const manifest = parseStream(await helmOnPlane(['get', 'manifest', release, '-n', namespace]));
  const hooks = parseStream(await helmOnPlane(['get', 'hooks', release, '-n', namespace])).filter((hook) => !/\btest\b/.test(hook.metadata.annotations?.['helm.sh/hook'] ?? ''));
  const live = await existing(manifest, namespace);
  const liveIds = new Set(live.map(id));
  const missing = manifest.map(id).filter((objectId) => !liveIds.has(objectId));
  // Pods: every workload has one from its current template, or a controller gave up (FailedCreate).
  let pods: Record<string, number> = {};
  let failed: string[] = [];
  await waitFor(
    `Pods of every workload of ${release} in ${namespace}`,
    async () => {
      [pods, failed] = await Promise.all([podsOfWorkloads(namespace, manifest), failedCreates(namespace)]);
      return failed.length > 0 || Object.values(pods).every((count) => count > 0);
    },
    CONTROLLER_DEADLINE_MS,
    1000,
  ).catch(() => undefined); // the assertions on `pods` report what is missing
  const hookJobs = hooks.filter((hook) => hook.kind === 'Job').map((hook) => hook.metadata.name).sort();
  const deletedOnSuccess = hooks.filter((hook) => /hook-succeeded/.test(hook.metadata.annotations?.['helm.sh/hook-delete-policy'] ?? ''));
  const stillThere = await existing(deletedOnSuccess, namespace);
  // Helm's own release records (type helm.sh/release.v1) change with every revision: not the chart's Secrets.
  const chartSecrets = (await getList(namespace, 'secrets')).filter((secret) => (secret as unknown as { type: string }).type !== 'helm.sh/release.v1');
  const secrets = Object.fromEntries(chartSecrets.map((secret) => [secret.metadata.name, secret.data ?? {}]));
  return {
    missing,
    pods,
    failedCreates: failed,
    hookJobs,
    finishedHookJobs: finisher.jobsFinishedIn(namespace).filter((job) => hookJobs.includes(job)),
    leftoverHooks: stillThere.map(id),
    manifest,
    secrets,
  };
}

/** Objects in `namespace` but for the namespace's own (default ServiceAccount, kube-root-ca.crt) and Events. */
async function objectsIn(namespace: string): Promise<string[]> {
  const objects = await getList(namespace, listableTypes.join(','));
  return objects
    .filter((obj) => !['Event'].includes(obj.kind))
    .map(id)
    .filter((objectId) => objectId !== 'ServiceAccount/default' && objectId !== 'ConfigMap/kube-root-ca.crt')
    .sort();
}

/**
 * What a StatefulSet's rolling update would do once its Pods were Ready: delete each Pod of an older revision so
 * the controller recreates it from the new template. Without a kubelet no Pod is ever Ready, and the controller
 * (OrderedReady) waits for that forever; deleting them here lets the new template meet PodSecurity admission.
 */
async function replaceStaleStatefulSetPods(namespace: string, manifest: K8sObject[]): Promise<void> {
  const names = manifest.filter((obj) => obj.kind === 'StatefulSet').map((obj) => obj.metadata.name);
  if (names.length === 0) return;
  const statefulSets = await waitFor(
    `the StatefulSet controller to see the upgrade in ${namespace}`,
    async () => {
      const live = (await getList(namespace, 'statefulsets')).filter((obj) => names.includes(obj.metadata.name));
      return live.every((obj) => (obj.status?.['observedGeneration'] as number | undefined) === obj.metadata.generation) ? live : undefined;
    },
    CONTROLLER_DEADLINE_MS,
    500,
  );
  const pods = await getList(namespace, 'pods');
  for (const statefulSet of statefulSets) {
    const stale = pods.filter(
      (pod) =>
        pod.metadata.ownerReferences?.some((owner) => owner.kind === 'StatefulSet' && owner.name === statefulSet.metadata.name) &&
        pod.metadata.labels?.['controller-revision-hash'] !== statefulSet.status?.['updateRevision'],
    );
    if (stale.length > 0) await plane.kubectl(['delete', 'pods', '-n', namespace, '--wait=false', ...stale.map((pod) => pod.metadata.name)]);
  }
}

interface Lifecycle {
  release: string;
  namespace: TestNamespace;
  installed: Promise<StageObservation>;
  upgraded: Promise<{ stage: StageObservation; values: { resource: string; path: string; expected: string; actual: string }[]; stillThere: string[] }>;
  uninstalled: Promise<{ left: string[]; clusterScopedLeft: string[]; crdKept: boolean; namespaceGone: boolean }>;
}

async function jsonPath(namespace: string, resource: string, query: string): Promise<string> {
  const outcome = await kubectlOutcome(plane, ['get', resource, '-n', namespace, '-o', `jsonpath=${query}`]);
  return outcome.code === 0 ? outcome.stdout : `(${outcome.stderr.trim()})`;
}

function startLifecycle(chart: string, namespace: TestNamespace): Lifecycle {
  const chartCase = CASES[chart]!;
  const release = `sy${randomBytes(2).toString('hex')}`;
  const ns = namespace.name;
  const chartDir = path.join(workspace.dir, chart);
  finisher.watch(ns);
  const installed = (async () => {
    await helmOnPlane(['install', release, chartDir, '-n', ns, '--timeout', HELM_TIMEOUT]);
    return observeStage(ns, release);
  })();
  const upgraded = installed.then(async () => {
    await helmOnPlane(['upgrade', release, chartDir, '-n', ns, '--timeout', HELM_TIMEOUT, ...chartCase.upgradeArgs(ns)], { cwd: workspace.dir });
    await replaceStaleStatefulSetPods(ns, (await installed).manifest);
    const stage = await observeStage(ns, release);
    const values = await Promise.all(chartCase.upgraded(release).map(async ([resource, query, expected]) => ({ resource, path: query, expected, actual: await jsonPath(ns, resource, query) })));
    const dropped = chartCase.droppedByUpgrade(release);
    const stillThere = (await objectsIn(ns)).filter((objectId) => dropped.includes(objectId));
    return { stage, values, stillThere };
  });
  const uninstalled = upgraded.then(async ({ stage }) => {
    const beforeUninstall = [...(await installed).manifest, ...stage.manifest];
    await helmOnPlane(['uninstall', release, '-n', ns, '--timeout', HELM_TIMEOUT]);
    finisher.unwatch(ns);
    const kept = chartCase.kept(release).sort();
    let left: string[] = [];
    await waitFor(
      `only the kept objects left in ${ns}`,
      async () => {
        left = await objectsIn(ns);
        return left.join() === kept.join();
      },
      CONTROLLER_DEADLINE_MS,
      1000,
    ).catch(() => undefined); // the assertion on `left` reports the difference
    const clusterScoped = beforeUninstall.filter((obj) => obj.kind.startsWith('Cluster'));
    const clusterScopedLeft = (await existing(clusterScoped)).map(id);
    const crdKept = (await kubectlOutcome(plane, ['get', 'crd', CRD_NAME])).code === 0;
    // Nothing stuck: the namespace (with what was kept) goes away; a finalizer nobody removes would hold it.
    await plane.kubectl(['delete', 'namespace', ns, '--wait=true', '--timeout=90s']);
    const namespaceGone = (await kubectlOutcome(plane, ['get', 'namespace', ns])).stderr.includes('NotFound');
    return { left, clusterScopedLeft, crdKept, namespaceGone };
  });
  // Each stage is awaited by its test; a failure earlier on reaches the later tests through the chain.
  for (const stage of [installed, upgraded, uninstalled]) stage.catch(() => undefined);
  return { release, namespace, installed, upgraded, uninstalled };
}

// ---------------------------------------------------------------------------------------------------------------

// ---------------------------------------------------------------------------------------------------------------
// Every rendered scenario, sent as a server-side dry run: admitted object by object, and no workload whose Pods
// PodSecurity would refuse (the server answers those with a warning). Hooks and `helm test` Pods included.

interface Scenario {
  chart: string;
  label: string;
  args: string[];
}

/**
 * Values that point a scenario's extra namespaces at this test's own (the dry run needs them to exist, and the
 * shared server is not ours to add namespaces like "apps" to).
 */
const namespaceOverrides = (chart: string, file: string, ns: string): string[] => {
  if (chart === 'observability' && file === 'nodeports-values.yaml') return ['--set', `prometheus.namespaces={${ns}}`];
  if (chart === 'topology-operator' && file === 'watch-namespace-values.yaml') return ['--set', `watchNamespace=${ns}`];
  return [];
};

const chartsDir = path.join(repoRoot, 'charts');
const scenarioFiles = Object.keys(CASES)
  .sort()
  .flatMap((chart) => {
    const ciDir = path.join(chartsDir, chart, 'ci');
    const files = existsSync(ciDir) ? readdirSync(ciDir).filter((file) => file.endsWith('-values.yaml')).sort() : [];
    return [{ chart, file: undefined as string | undefined }, ...files.map((file) => ({ chart, file }))];
  });
const labels = [...scenarioFiles.map(({ chart, file }) => `${chart} ${file ? `ci/${file}` : '(defaults)'}`), 'switchyard k8s/values-dev.yaml'];
interface DryRunOutcome {
  code: number;
  stderr: string;
  objects: number;
  left: string[];
}
const dryRuns = new Map<string, Promise<DryRunOutcome>>();
/** In kubectl's stderr: a refusal, or PodSecurity's warning about a workload whose Pods it would refuse. */
const DRY_RUN_PROBLEM = /Error|would violate PodSecurity/;

/** Renders every scenario and sends it to the server as a dry run, a few at a time; one promise per scenario. */
function startDryRuns(namespace: string): void {
  const scenarios: Scenario[] = [
    ...scenarioFiles.map(({ chart, file }) => ({
      chart,
      label: `${chart} ${file ? `ci/${file}` : '(defaults)'}`,
      args: file ? ['--values', path.join(workspace.dir, chart, 'ci', file), ...namespaceOverrides(chart, file, namespace)] : [],
    })),
    { chart: 'switchyard', label: 'switchyard k8s/values-dev.yaml', args: ['--values', path.join(repoRoot, 'k8s', 'values-dev.yaml')] },
  ];
  const all = mapLimited(scenarios, PARALLEL_KUBECTL, async (scenario): Promise<DryRunOutcome> => {
    const rendered = parseStream(await helmAsync(['template', 'sy', path.join(workspace.dir, scenario.chart), '--namespace', namespace, ...scenario.args]));
    const sent = rendered.filter((obj) => !obj.apiVersion.startsWith('monitoring.coreos.com/'));
    const outcome = await kubectlOutcome(plane, ['create', '--dry-run=server', '-n', namespace, '-o', 'name', '-f', '-'], toYaml(sent));
    return { code: outcome.code, stderr: outcome.stderr, objects: sent.length, left: rendered.filter((obj) => !sent.includes(obj)).map(id) };
  });
  all.catch(() => undefined);
  scenarios.forEach((scenario, i) => {
    const outcome = all.then((results) => results[i]!);
    outcome.catch(() => undefined);
    dryRuns.set(scenario.label, outcome);
  });
}

const lifecycles = new Map<string, Lifecycle>();
const INSTALLABLE = Object.keys(CASES).sort();
let dryRunNamespace: TestNamespace | undefined;

beforeAll(async () => {
  plane = await sharedControlPlane();
  finisher = new JobPodFinisher(plane);
  const [built, types] = await Promise.all([chartWorkspace(), plane.kubectl(['api-resources', '--verbs=list', '--namespaced', '-o', 'name']), applyCrd(plane, CRD_FILE)]);
  workspace = built;
  listableTypes = types.split('\n').filter((type) => type && type !== 'events' && type !== 'events.events.k8s.io');
  for (const chart of INSTALLABLE) {
    const namespace = await createTestNamespace(plane, `helm-${chart}`, RESTRICTED);
    lifecycles.set(chart, startLifecycle(chart, namespace));
  }
  dryRunNamespace = await createTestNamespace(plane, 'helm-dry-run', RESTRICTED);
  startDryRuns(dryRunNamespace.name);
}, 180_000);

afterAll(async () => {
  await Promise.all(
    [...lifecycles.values()].map(async (lifecycle) => {
      // A lifecycle that failed before its uninstall leaves the release: uninstall it, or its cluster-wide objects
      // (the operator's ClusterRole and binding) would outlive the namespace on the shared server.
      const failed = await lifecycle.uninstalled.then(() => false, () => true);
      if (failed) await helmOnPlane(['uninstall', lifecycle.release, '-n', lifecycle.namespace.name, '--ignore-not-found', '--timeout', HELM_TIMEOUT]).catch(() => undefined);
      await lifecycle.namespace.drop();
    }),
  );
  await Promise.all([...dryRuns.values()].map((outcome) => outcome.catch(() => undefined)));
  await dryRunNamespace?.drop();
  await finisher?.stop();
  workspace?.remove();
}, LIFECYCLE_TIMEOUT_MS);

test('every installable chart in charts/ has a lifecycle case here (a new chart must be added)', () => {
  expect(workspace.installable).toEqual(INSTALLABLE);
});

describe.each(INSTALLABLE)('%s', (chart) => {
  const lifecycle = () => lifecycles.get(chart)!;

  test('helm install: every object of the release is admitted, hook Jobs run and are cleaned up', async () => {
    const stage = await lifecycle().installed;
    expect(stage.manifest.length).toBeGreaterThan(0);
    expect(stage.missing).toEqual([]);
    expect(stage.hookJobs).toEqual(CASES[chart]!.hookJobs(lifecycle().release));
    expect(stage.finishedHookJobs).toEqual(stage.hookJobs);
    expect(stage.leftoverHooks).toEqual([]);
  }, LIFECYCLE_TIMEOUT_MS);

  test('the Pods of every Deployment, StatefulSet and Job are created: PodSecurity "restricted" admits them', async () => {
    const stage = await lifecycle().installed;
    expect(stage.failedCreates).toEqual([]);
    expect(Object.keys(stage.pods).length).toBeGreaterThan(0);
    expect(Object.entries(stage.pods).filter(([, count]) => count === 0)).toEqual([]);
  }, LIFECYCLE_TIMEOUT_MS);

  test('helm upgrade with changed values: applied, generated Secrets kept, dropped objects deleted, Pods admitted', async () => {
    const installedStage = await lifecycle().installed;
    const { stage, values, stillThere } = await lifecycle().upgraded;
    expect(stage.missing).toEqual([]);
    expect(stage.failedCreates).toEqual([]);
    expect(Object.entries(stage.pods).filter(([, count]) => count === 0)).toEqual([]);
    expect(stage.hookJobs).toEqual(CASES[chart]!.hookJobs(lifecycle().release));
    expect(stage.finishedHookJobs).toEqual(stage.hookJobs);
    expect(stage.leftoverHooks).toEqual([]);
    expect(values.filter((value) => value.actual !== value.expected)).toEqual([]);
    expect(stillThere).toEqual([]);
    const changed = CASES[chart]!.secretsChangedByUpgrade(lifecycle().release);
    const regenerated = Object.keys(installedStage.secrets).filter(
      (name) => !changed.includes(name) && name in stage.secrets && JSON.stringify(stage.secrets[name]) !== JSON.stringify(installedStage.secrets[name]),
    );
    expect(regenerated).toEqual([]);
  }, LIFECYCLE_TIMEOUT_MS);

  test('helm uninstall leaves nothing stuck, and nothing but what the chart keeps on purpose', async () => {
    const { left, clusterScopedLeft, crdKept, namespaceGone } = await lifecycle().uninstalled;
    expect(left).toEqual(CASES[chart]!.kept(lifecycle().release).sort());
    expect(clusterScopedLeft).toEqual([]);
    expect(crdKept).toBe(true);
    expect(namespaceGone).toBe(true);
  }, LIFECYCLE_TIMEOUT_MS);
});

describe('PodSecurity admission, as the checks above see it', () => {
  test('refuses the Pods of a Deployment that is not "restricted" (so the checks above can fail)', async () => {
    const namespace = await createTestNamespace(plane, 'helm-psa-check', RESTRICTED);
    try {
      // Workloads themselves are admitted (with a warning); their Pods are refused when the ReplicaSet creates them.
      const created = await kubectlOutcome(plane, ['create', 'deployment', 'unrestricted', '--image=registry.invalid/app:1', '-n', namespace.name]);
      expect(created.code).toBe(0);
      expect(created.stderr).toContain('would violate PodSecurity "restricted:latest"');
      const manifest = [{ apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name: 'unrestricted' } }];
      const refusals = await waitFor('a FailedCreate event', async () => {
        const events = await failedCreates(namespace.name);
        return events.length > 0 ? events : undefined;
      }, CONTROLLER_DEADLINE_MS, 1000);
      expect(refusals.join('\n')).toContain('violates PodSecurity "restricted:latest"');
      expect(await podsOfWorkloads(namespace.name, manifest)).toEqual({ 'Deployment/unrestricted': 0 });
    } finally {
      await namespace.drop();
    }
  }, 120_000);
});

describe('every rendered scenario is admitted by the server (dry run), Pods "restricted"', () => {
  test('a workload PodSecurity would refuse shows in the dry run (so the checks below can fail)', async () => {
    const deployment = { apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name: 'unrestricted' }, spec: { selector: { matchLabels: { app: 'x' } }, template: { metadata: { labels: { app: 'x' } }, spec: { containers: [{ name: 'x', image: 'registry.invalid/x:1' }] } } } };
    const outcome = await kubectlOutcome(plane, ['create', '--dry-run=server', '-n', dryRunNamespace!.name, '-o', 'name', '-f', '-'], toYaml([deployment as K8sObject]));
    expect(outcome.code).toBe(0);
    expect(outcome.stderr).toMatch(DRY_RUN_PROBLEM);
  });

  test.each(labels)('%s', async (label) => {
    const outcome = await dryRuns.get(label)!;
    expect(outcome.objects).toBeGreaterThan(0);
    // Only the Prometheus Operator's kinds are left out of the dry run.
    expect(outcome.left.every((objectId) => /^(ServiceMonitor|PodMonitor|PrometheusRule)\//.test(objectId))).toBe(true);
    expect({ code: outcome.code, stderr: outcome.stderr }).toEqual({ code: 0, stderr: expect.not.stringMatching(DRY_RUN_PROBLEM) });
  }, 300_000);
});
