// The platform knobs of the charts (charts/README.md, "Platform knobs"): what each renders, checked against the
// Kubernetes schemas (kubernetes-models) or, for KEDA's kinds, against the minimal schema of keda-schema.ts; the
// OpenShift security-context mode also sent to the real API server as a dry run in a "restricted" namespace.
// charts.spec.ts renders ci/platform-knobs-values.yaml with every other check, helm-install.spec.ts dry-runs it.
import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import { applyCrd, createTestNamespace, helmAsync, HelmError, sharedControlPlane, type ControlPlane, type TestNamespace } from '@switchyard/testing';
import { Ajv } from 'ajv';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parse, parseAllDocuments } from 'yaml';
import { CRD_NAME } from '@switchyard/topology-operator/api';
import { chartWorkspace, type ChartWorkspace } from './chart-workspace.js';
import { scaledObjectSchema, triggerAuthenticationSchema } from './keda-schema.js';
import { kubectlOutcome } from './kubectl-outcome.js';
import { kubernetesModelOf } from './kubernetes-model.js';

const repoRoot = fileURLToPath(new URL('../..', import.meta.url));
/** Charts this repository owns a pod template in, with the images they run (observability's are third-party UIDs). */
const SWITCHYARD_CHARTS = ['user-service', 'order-service', 'postgres', 'rabbitmq', 'topology-operator'] as const;
const RESTRICTED = { 'pod-security.kubernetes.io/enforce': 'restricted', 'pod-security.kubernetes.io/enforce-version': 'latest' };
const DIGEST = `sha256:${'ab'.repeat(32)}`;

interface K8sObject {
  apiVersion: string;
  kind: string;
  metadata: { name: string; labels?: Record<string, string>; annotations?: Record<string, string> };
  spec?: Record<string, unknown>;
  [key: string]: unknown;
}
interface PodSpec {
  securityContext?: Record<string, unknown>;
  serviceAccountName?: string;
  automountServiceAccountToken?: boolean;
  priorityClassName?: string;
  topologySpreadConstraints?: { topologyKey: string; labelSelector?: { matchLabels: Record<string, string> } }[];
  containers: { name: string; image: string; env?: { name: string; valueFrom?: { secretKeyRef?: { name: string; key: string } } }[] }[];
  initContainers?: { name: string; image: string }[];
}
interface Workload extends K8sObject {
  spec: { replicas?: number; selector: { matchLabels: Record<string, string> }; template: { metadata: { labels: Record<string, string>; annotations?: Record<string, string> }; spec: PodSpec } };
}

let workspace: ChartWorkspace;
const parseStream = (manifest: string): K8sObject[] =>
  parseAllDocuments(manifest)
    .map((doc) => doc.toJS() as K8sObject | null)
    .filter((obj): obj is K8sObject => obj !== null);
const render = async (chart: string, args: string[] = []) => parseStream(await helmAsync(['template', 'sy', path.join(workspace.dir, chart), '--namespace', 'switchyard', ...args]));
const failure = (chart: string, args: string[]) =>
  render(chart, args).then(
    () => '(rendered)',
    (error: unknown) => (error instanceof HelmError ? error.stderr : String(error)),
  );
const workloads = (objects: K8sObject[]) => objects.filter((obj): obj is Workload => ['Deployment', 'StatefulSet', 'Job'].includes(obj.kind));
const podSpecs = (objects: K8sObject[]): { owner: string; spec: PodSpec }[] =>
  objects.flatMap((obj) => {
    if (obj.kind === 'Pod') return [{ owner: `Pod/${obj.metadata.name}`, spec: obj.spec as unknown as PodSpec }];
    return ['Deployment', 'StatefulSet', 'Job'].includes(obj.kind) ? [{ owner: `${obj.kind}/${obj.metadata.name}`, spec: (obj as Workload).spec.template.spec }] : [];
  });

/** Every object of the Kubernetes API validated by kubernetes-models; KEDA's by keda-schema.ts. Returns failures. */
function schemaProblems(objects: K8sObject[]): string[] {
  const ajv = new Ajv({ allErrors: true });
  const keda: Record<string, ReturnType<Ajv['compile']>> = { ScaledObject: ajv.compile(scaledObjectSchema), TriggerAuthentication: ajv.compile(triggerAuthenticationSchema) };
  return objects.flatMap((obj) => {
    const id = `${obj.kind}/${obj.metadata.name}`;
    if (obj.apiVersion === 'keda.sh/v1alpha1') {
      const validate = keda[obj.kind];
      if (!validate) return [`${id}: no schema`];
      return validate(obj) ? [] : [`${id}: ${ajv.errorsText(validate.errors)}`];
    }
    if (obj.apiVersion.startsWith('switchyard.io/') || obj.apiVersion.startsWith('monitoring.coreos.com/')) return [];
    const Model = kubernetesModelOf(obj);
    if (!Model) return [`${id}: no model for ${obj.apiVersion}`];
    try {
      new Model(obj).validate();
      return [];
    } catch (error) {
      return [`${id}: ${(error as Error).message}`];
    }
  });
}

beforeAll(async () => {
  workspace = await chartWorkspace();
}, 180_000);

afterAll(() => workspace?.remove());

describe('KEDA: consumers scaled on queue depth', () => {
  const kedaArgs = ['--set', 'keda.enabled=true', '--set', 'keda.minReplicaCount=0', '--set', 'keda.queueLength=25'];

  test.each(['user-service', 'order-service'])('%s renders a ScaledObject on the queue it consumes, with the broker URL it uses', async (chart) => {
    const objects = await render(chart, kedaArgs);
    expect(schemaProblems(objects)).toEqual([]);
    const scaled = objects.find((obj) => obj.kind === 'ScaledObject')!;
    const auth = objects.find((obj) => obj.kind === 'TriggerAuthentication')!;
    const deployment = objects.find((obj): obj is Workload => obj.kind === 'Deployment')!;
    const values = parse(readFileSync(path.join(repoRoot, 'charts', chart, 'values.yaml'), 'utf8')) as { consumesQueue: string };
    const spec = scaled.spec as { scaleTargetRef: { kind: string; name: string }; minReplicaCount: number; triggers: { type: string; metadata: Record<string, string>; authenticationRef: { name: string } }[] };
    expect(spec.scaleTargetRef).toEqual({ apiVersion: 'apps/v1', kind: 'Deployment', name: deployment.metadata.name });
    expect(spec.minReplicaCount).toBe(0);
    expect(spec.triggers).toEqual([
      { type: 'rabbitmq', metadata: { protocol: 'amqp', queueName: values.consumesQueue, mode: 'QueueLength', value: '25' }, authenticationRef: { name: auth.metadata.name } },
    ]);
    // KEDA reads the same Secret key as the service's RABBITMQ_URL (so it sees the same vhost).
    const brokerRef = deployment.spec.template.spec.containers[0]!.env!.find((env) => env.name === 'RABBITMQ_URL')!.valueFrom!.secretKeyRef!;
    expect((auth.spec as { secretTargetRef: unknown[] }).secretTargetRef).toEqual([{ parameter: 'host', name: brokerRef.name, key: brokerRef.key }]);
    // KEDA owns the replica count (its HPA); a fixed one would fight it on every upgrade.
    expect(deployment.spec.replicas).toBeUndefined();
    expect(objects.some((obj) => obj.kind === 'HorizontalPodAutoscaler')).toBe(false);
  });

  test('the schema check has teeth: a ScaledObject without a target or with a non-numeric target value is refused', async () => {
    const scaled = (await render('user-service', kedaArgs)).find((obj) => obj.kind === 'ScaledObject')!;
    const { scaleTargetRef: _dropped, ...withoutTarget } = scaled.spec as Record<string, unknown>;
    expect(schemaProblems([{ ...scaled, spec: withoutTarget }])).toEqual([expect.stringContaining("must have required property 'scaleTargetRef'")]);
    const spec = structuredClone(scaled.spec) as { triggers: { metadata: Record<string, string> }[] };
    spec.triggers[0]!.metadata['value'] = 'lots';
    expect(schemaProblems([{ ...scaled, spec }])).toHaveLength(1);
  });

  test('KEDA and the CPU HorizontalPodAutoscaler together fail with the fix spelled out', async () => {
    expect(await failure('user-service', [...kedaArgs, '--set', 'autoscaling.enabled=true'])).toContain('autoscaling.enabled and keda.enabled both scale the Deployment');
  });

  test('the umbrella passes it through to a service', async () => {
    const objects = await render('switchyard', ['--set', 'order-service.keda.enabled=true']);
    expect(objects.filter((obj) => obj.kind === 'ScaledObject').map((obj) => obj.metadata.name)).toEqual(['sy-order-service']);
    expect(schemaProblems(objects)).toEqual([]);
  });
});

describe('images: global.imageRegistry and digests', () => {
  test('every container image gets the registry prefix, the observability stack\'s too; a digest replaces the tag', async () => {
    const objects = await render('switchyard', ['--set', 'global.imageRegistry=mirror.example.com/hub/', '--set', `user-service.image.digest=${DIGEST}`, '--set', `rabbitmq.image.digest=${DIGEST}`, '--set', `observability.grafana.image.digest=${DIGEST}`]);
    const images = podSpecs(objects).flatMap(({ spec }) => [...spec.containers, ...(spec.initContainers ?? [])].map((container) => container.image));
    expect(images.length).toBeGreaterThan(5);
    expect(images.filter((image) => !image.startsWith('mirror.example.com/hub/'))).toEqual([]);
    expect(new Set(images)).toEqual(
      new Set([
        `mirror.example.com/hub/switchyard/user-service@${DIGEST}`,
        'mirror.example.com/hub/switchyard/order-service:0.1.0',
        'mirror.example.com/hub/switchyard/topology-operator:0.1.0',
        'mirror.example.com/hub/postgres:17.6-bookworm',
        `mirror.example.com/hub/rabbitmq@${DIGEST}`,
        'mirror.example.com/hub/jaegertracing/jaeger:2.12.0',
        'mirror.example.com/hub/prom/prometheus:v3.5.0',
        `mirror.example.com/hub/grafana/grafana@${DIGEST}`,
      ]),
    );
  });

  test('a digest that is not sha256:<64 hex> is refused by values.schema.json', async () => {
    expect(await failure('postgres', ['--set', 'image.digest=latest'])).toMatch(/digest.*does not match pattern/);
  });
});

describe('pod labels, annotations, priority class and topology spread', () => {
  test.each([...SWITCHYARD_CHARTS])('%s puts them on its pod templates, never in a selector', async (chart) => {
    const objects = await render(chart, [
      '--set', 'podLabels.team=platform', '--set', 'podAnnotations.example\\.com/owner=platform', '--set', 'priorityClassName=switchyard-critical',
      '--set-json', 'topologySpreadConstraints=[{"maxSkew":1,"topologyKey":"topology.kubernetes.io/zone","whenUnsatisfiable":"ScheduleAnyway"},{"maxSkew":2,"topologyKey":"kubernetes.io/hostname","whenUnsatisfiable":"DoNotSchedule","labelSelector":{"matchLabels":{"custom":"yes"}}}]',
    ]);
    expect(schemaProblems(objects)).toEqual([]);
    const main = workloads(objects).filter((obj) => obj.kind !== 'Job');
    expect(main).toHaveLength(1);
    const workload = main[0]!;
    const template = workload.spec.template;
    expect(template.metadata.labels['team']).toBe('platform');
    expect(template.metadata.annotations?.['example.com/owner']).toBe('platform');
    expect(workload.spec.selector.matchLabels['team']).toBeUndefined();
    expect(template.spec.priorityClassName).toBe('switchyard-critical');
    // An entry without labelSelector selects this workload's own pods; an explicit one is kept as given.
    expect(template.spec.topologySpreadConstraints?.map((constraint) => constraint.labelSelector?.matchLabels)).toEqual([workload.spec.selector.matchLabels, { custom: 'yes' }]);
  });

  test('values.schema.json rejects a misspelt or invalid constraint', async () => {
    expect(await failure('user-service', ['--set-json', 'topologySpreadConstraints=[{"maxSkew":0,"topologyKey":"zone","whenUnsatisfiable":"ScheduleAnyway"}]'])).toMatch(/maxSkew/);
    expect(await failure('rabbitmq', ['--set-json', 'topologySpreadConstraints=[{"maxSkew":1,"topologyKey":"zone","whenUnsatisfiable":"Sometimes"}]'])).toMatch(/whenUnsatisfiable/);
    expect(await failure('topology-operator', ['--set', 'podLabel.team=x'])).toMatch(/additional properties 'podLabel' not allowed/);
  });
});

describe('service ServiceAccount and Ingress', () => {
  test('serviceAccount.create renders one the pods run as, still without an API token', async () => {
    const objects = await render('user-service', ['--set', 'serviceAccount.create=true', '--set', 'serviceAccount.annotations.iam\\.gke\\.io/gcp-service-account=a@b.iam.gserviceaccount.com']);
    expect(schemaProblems(objects)).toEqual([]);
    const accounts = objects.filter((obj) => obj.kind === 'ServiceAccount');
    expect(accounts.map((obj) => obj.metadata.name)).toEqual(['sy-user-service']);
    expect(accounts[0]!.metadata.annotations).toEqual({ 'iam.gke.io/gcp-service-account': 'a@b.iam.gserviceaccount.com' });
    for (const { owner, spec } of podSpecs(objects)) {
      expect([owner, spec.serviceAccountName, spec.automountServiceAccountToken]).toEqual([owner, 'sy-user-service', false]);
    }
    // By default: no ServiceAccount of its own and no token.
    const defaults = await render('user-service');
    expect(defaults.some((obj) => obj.kind === 'ServiceAccount')).toBe(false);
    for (const { spec } of podSpecs(defaults)) expect([spec.serviceAccountName, spec.automountServiceAccountToken]).toEqual([undefined, false]);
  });

  test('ingress.enabled routes its hosts to the Service port; without a host it fails with the fix spelled out', async () => {
    const objects = await render('order-service', ['--set', 'ingress.enabled=true', '--set', 'ingress.className=nginx', '--set', 'ingress.hosts[0].host=orders.{{ .Release.Namespace }}.example.com']);
    expect(schemaProblems(objects)).toEqual([]);
    const ingress = objects.find((obj) => obj.kind === 'Ingress')!;
    expect(ingress.spec).toEqual({
      ingressClassName: 'nginx',
      rules: [{ host: 'orders.switchyard.example.com', http: { paths: [{ path: '/', pathType: 'Prefix', backend: { service: { name: 'sy-order-service', port: { name: 'http' } } } }] } }],
    });
    expect(await failure('order-service', ['--set', 'ingress.enabled=true'])).toContain('ingress.enabled needs at least one entry in ingress.hosts');
    expect(await failure('order-service', ['--set', 'ingress.hostz[0].host=x'])).toMatch(/additional properties 'hostz' not allowed/);
  });
});

describe('Chart.yaml metadata', () => {
  test.each(['switchyard-lib', ...SWITCHYARD_CHARTS, 'switchyard'])('%s has kubeVersion, home, sources, icon and maintainers', (chart) => {
    const meta = parse(readFileSync(path.join(repoRoot, 'charts', chart, 'Chart.yaml'), 'utf8')) as Record<string, unknown>;
    expect(meta).toMatchObject({ kubeVersion: expect.stringMatching(/^>=1\.\d+/), home: expect.stringMatching(/^https:\/\//), icon: expect.stringMatching(/^https:\/\//) });
    expect((meta['sources'] as string[]).length).toBeGreaterThan(0);
    expect(meta['maintainers']).toEqual([expect.objectContaining({ name: expect.any(String) })]);
  });

  test('kubeVersion is enforced: rendering for a too old cluster fails', async () => {
    expect(await failure('user-service', ['--kube-version', '1.27.0'])).toMatch(/kubeVersion|incompatible/i);
  });
});

describe('OpenShift-compatible security contexts (global.openshift)', () => {
  let plane: ControlPlane;
  let namespace: TestNamespace | undefined;

  beforeAll(async () => {
    plane = await sharedControlPlane();
    await applyCrd(plane, path.join(repoRoot, 'charts', 'topology-operator', 'crds', `${CRD_NAME}.yaml`));
    namespace = await createTestNamespace(plane, 'helm-openshift', RESTRICTED);
  }, 120_000);
  afterAll(async () => {
    await namespace?.drop();
  }, 120_000);

  test('leave runAsUser, runAsGroup and fsGroup to the platform and keep the rest of "restricted"', async () => {
    const openshift = await render('switchyard', ['--set', 'global.openshift=true']);
    const ours = podSpecs(openshift);
    expect(ours.length).toBeGreaterThanOrEqual(11); // 3 + 3 observability Deployments, 2 StatefulSets, 2 Jobs, 3 test Pods
    for (const { owner, spec } of ours) expect([owner, spec.securityContext]).toEqual([owner, { runAsNonRoot: true, seccompProfile: { type: 'RuntimeDefault' } }]);
    // Off by default: the fixed UIDs the images run as.
    const uids = podSpecs(await render('switchyard')).map(({ spec }) => spec.securityContext?.['runAsUser']);
    expect(new Set(uids)).toEqual(new Set([10001, 999, 472, 65534]));
  });

  test('the OpenShift-mode umbrella is admitted by the API server in a "restricted" namespace (dry run, no PodSecurity warning)', async () => {
    const objects = parseStream(await helmAsync(['template', 'sy', path.join(workspace.dir, 'switchyard'), '--namespace', namespace!.name, '--set', 'global.openshift=true']));
    const sent = objects.filter((obj) => !obj.apiVersion.startsWith('monitoring.coreos.com/'));
    const outcome = await kubectlOutcome(plane, ['create', '--dry-run=server', '-n', namespace!.name, '-o', 'name', '-f', '-'], sent.map((obj) => JSON.stringify(obj)).join('\n---\n'));
    expect({ code: outcome.code, stderr: outcome.stderr }).toEqual({ code: 0, stderr: expect.not.stringMatching(/Error|would violate PodSecurity/) });
    expect(outcome.stdout.trim().split('\n')).toHaveLength(sent.length);
  }, 120_000);
});

describe('RabbitMQ 4', () => {
  const rabbitmqConf = (objects: K8sObject[]) => (objects.find((obj) => obj.kind === 'ConfigMap' && obj.metadata.name.endsWith('-rabbitmq-config'))!.data as Record<string, string>)['rabbitmq.conf']!;

  test('the image is a 4.x release and rabbitmq.conf denies the deprecated features we never use', async () => {
    const values = parse(readFileSync(path.join(repoRoot, 'charts/rabbitmq/values.yaml'), 'utf8')) as { image: { tag: string } };
    expect(values.image.tag).toMatch(/^4\.\d+\.\d+-management$/);
    const conf = rabbitmqConf(await render('rabbitmq'));
    for (const feature of ['transient_nonexcl_queues', 'global_qos', 'ram_node_type']) expect(conf).toContain(`deprecated_features.permit.${feature} = false`);
  });

  test("the local cluster's Debian 3.10 image gets no deprecated_features keys (3.10 refuses unknown ones)", async () => {
    const objects = await render('switchyard', ['--values', path.join(repoRoot, 'k8s/values-dev.yaml'), '--values', path.join(repoRoot, 'k8s/cluster/values-cluster.yaml')]);
    expect(rabbitmqConf(objects)).not.toContain('deprecated_features');
  });
});
