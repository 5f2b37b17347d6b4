// The Helm charts in charts/, rendered: lint, render every scenario, validate every object against its Kubernetes
// schema (kubernetes-models) and check the properties the platform relies on. helm-install.spec.ts installs them
// into a real API server (and sends every scenario there as a dry run, EventSubscriptions included).
import { beforeAll, describe, expect, test } from '@jest/globals';
import * as contracts from '@switchyard/contracts';
import { messagingConfigShape } from '@switchyard/messaging';
import { helm, helmAsync, HelmError } from '@switchyard/testing';
import { cpSync, existsSync, lstatSync, mkdtempSync, readdirSync, readFileSync, realpathSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parse, parseAllDocuments } from 'yaml';
import {
  consumerPolicyConfigMapName,
  CONSUMER_POLICY_MOUNT_PATH,
  CRD_NAME,
  LEADER_ELECTION_RULES,
  OPERATOR_PERMISSIONS,
  parseDuration,
  permissionsOf,
  SUBSCRIPTION_RULES,
} from '@switchyard/topology-operator/api';
import { kubernetesModelOf } from './kubernetes-model.js';

const repoRoot = fileURLToPath(new URL('../..', import.meta.url));
const chartsDir = path.join(repoRoot, 'charts');

/** Charts in dependency order: the library first, the umbrella (which packages the others) last. */
const CHARTS = ['switchyard-lib', 'user-service', 'order-service', 'postgres', 'rabbitmq', 'observability', 'topology-operator', 'switchyard'] as const;
const APP_CHARTS = CHARTS.filter((chart) => chart !== 'switchyard-lib');
const SERVICES = { 'user-service': 3001, 'order-service': 3002 } as const;
/** METRICS_PORT of each service: /metrics is served there only, never on the API port. */
const METRICS_PORTS = { 'user-service': 9464, 'order-service': 9465 } as const;

interface K8sObject {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string; labels?: Record<string, string>; annotations?: Record<string, string> };
  spec?: Record<string, unknown>;
  data?: Record<string, string>;
  stringData?: Record<string, string>;
  [key: string]: unknown;
}
interface Container {
  name: string;
  ports?: { name?: string; containerPort: number }[];
  securityContext?: Record<string, unknown>;
  startupProbe?: { httpGet?: { path: string; port: number | string } };
  livenessProbe?: { httpGet?: { path: string; port: number | string } };
  readinessProbe?: { httpGet?: { path: string; port: number | string } };
  env?: { name: string; value?: string; valueFrom?: Record<string, unknown> }[];
  volumeMounts?: { name: string; mountPath: string; readOnly?: boolean }[];
}
interface PodSpec {
  securityContext?: Record<string, unknown>;
  containers: Container[];
  initContainers?: Container[];
  terminationGracePeriodSeconds?: number;
  serviceAccountName?: string;
  automountServiceAccountToken?: boolean;
  volumes?: { name: string; configMap?: { name: string; optional?: boolean }; emptyDir?: unknown }[];
}

// ---------------------------------------------------------------------------------------------------------------
// Dependencies: `helm dependency build` packages file:// dependencies into <chart>/charts/*.tgz (gitignored). It
// is skipped when every archive is newer than every file of the chart it was built from.

function newestMtime(dir: string): number {
  let newest = statSync(dir).mtimeMs;
  for (const entry of readdirSync(dir)) {
    if (entry === 'charts' || entry === 'Chart.lock') continue;
    const full = path.join(dir, entry);
    const stats = statSync(full); // follows the observability/ symlinks
    newest = Math.max(newest, stats.isDirectory() ? newestMtime(full) : stats.mtimeMs);
  }
  return newest;
}

function fileDependencies(chart: string): { name: string; version: string; dir: string }[] {
  const meta = parse(readFileSync(path.join(chartsDir, chart, 'Chart.yaml'), 'utf8')) as {
    dependencies?: { name: string; version: string; repository: string }[];
  };
  return (meta.dependencies ?? []).map((dep) => ({
    name: dep.name,
    version: dep.version,
    dir: path.resolve(chartsDir, chart, dep.repository.replace(/^file:\/\//, '')),
  }));
}

function buildDependencies(chart: string): void {
  const deps = fileDependencies(chart);
  // A Chart.lock from before a dependency was added or removed makes `helm dependency build` refuse to run; it is
  // build output, so drop it and let the build write a fresh one.
  const lockFile = path.join(chartsDir, chart, 'Chart.lock');
  if (existsSync(lockFile)) {
    const locked = ((parse(readFileSync(lockFile, 'utf8')) as { dependencies?: { name: string }[] }).dependencies ?? []).map((dep) => dep.name);
    if (locked.sort().join() !== deps.map((dep) => dep.name).sort().join()) rmSync(lockFile);
  }
  const stale = !existsSync(lockFile) || deps.some((dep) => {
    const archive = path.join(chartsDir, chart, 'charts', `${dep.name}-${dep.version}.tgz`);
    return !existsSync(archive) || statSync(archive).mtimeMs < newestMtime(dep.dir);
  });
  if (deps.length > 0 && stale) helm(['dependency', 'build', path.join(chartsDir, chart)]);
}

// ---------------------------------------------------------------------------------------------------------------
// Rendering.

interface Scenario {
  chart: (typeof APP_CHARTS)[number];
  valuesFile?: string;
  label: string;
}

const scenarios: Scenario[] = APP_CHARTS.flatMap((chart) => {
  const ciDir = path.join(chartsDir, chart, 'ci');
  const files = existsSync(ciDir) ? readdirSync(ciDir).filter((file) => file.endsWith('-values.yaml')) : [];
  return [
    { chart, label: `${chart} (defaults)` },
    ...files.sort().map((file) => ({ chart, valuesFile: path.join(ciDir, file), label: `${chart} ci/${file}` })),
  ];
});
scenarios.push({ chart: 'switchyard', valuesFile: path.join(repoRoot, 'k8s/values-dev.yaml'), label: 'switchyard k8s/values-dev.yaml' });

function template(chart: string, extraArgs: string[] = []): Promise<string> {
  return helmAsync(['template', 'sy', path.join(chartsDir, chart), '--namespace', 'switchyard', ...extraArgs]);
}

function parseStream(manifest: string): K8sObject[] {
  return parseAllDocuments(manifest)
    .map((doc) => {
      if (doc.errors.length > 0) throw new Error(`invalid YAML in the rendered manifest: ${doc.errors[0]?.message}`);
      return doc.toJS() as K8sObject | null;
    })
    .filter((obj): obj is K8sObject => obj !== null);
}

const rendered = new Map<string, K8sObject[]>();
/** A second render of every chart's defaults: generated secrets differ between renders, hard-coded ones do not. */
const secondDefaults = new Map<string, K8sObject[]>();

beforeAll(async () => {
  for (const chart of CHARTS) buildDependencies(chart);
  await Promise.all([
    ...scenarios.map(async (scenario) => {
      const args = scenario.valuesFile ? ['--values', scenario.valuesFile] : [];
      rendered.set(scenario.label, parseStream(await template(scenario.chart, args)));
    }),
    ...APP_CHARTS.map(async (chart) => secondDefaults.set(chart, parseStream(await template(chart)))),
  ]);
}, 120_000);

const everyScenario = scenarios.map((scenario) => scenario.label);
const objectsOf = (label: string): K8sObject[] => {
  const objects = rendered.get(label);
  if (!objects) throw new Error(`${label} was not rendered`);
  return objects;
};

// ---------------------------------------------------------------------------------------------------------------
// Kubernetes schemas, by "apiVersion/kind", from kubernetes-models (kubernetes-model.ts).

/** CRDs of the Prometheus Operator are not in kubernetes-models: checked for their essential shape here, against their CRD schemas in observability-crds.spec.ts. */
const PROMETHEUS_OPERATOR = 'monitoring.coreos.com/v1';

/** Our own custom resources (EventSubscription): the API server checks them against the CRD in helm-install.spec.ts. */
const OWN_API_GROUP = 'switchyard.io/';

function podSpecs(objects: K8sObject[]): { owner: string; spec: PodSpec }[] {
  return objects.flatMap((obj) => {
    const owner = `${obj.kind}/${obj.metadata.name}`;
    if (obj.kind === 'Pod') return [{ owner, spec: obj.spec as unknown as PodSpec }];
    const template = (obj.spec as { template?: { spec?: PodSpec } } | undefined)?.template;
    return template?.spec ? [{ owner, spec: template.spec }] : [];
  });
}

// ---------------------------------------------------------------------------------------------------------------

describe('helm lint --strict', () => {
  test.each([...CHARTS])('%s, with its defaults and with each ci/*-values.yaml', async (chart) => {
    const valuesFiles = scenarios.filter((scenario) => scenario.chart === chart && scenario.valuesFile).map((scenario) => scenario.valuesFile!);
    const outputs = await Promise.all(
      [[], ...valuesFiles.map((file) => ['--values', file])].map((args) => helmAsync(['lint', '--strict', path.join(chartsDir, chart), ...args])),
    );
    for (const output of outputs) expect(output).toContain('0 chart(s) failed');
  });
});

test('on a fresh clone, `helm dependency build charts/switchyard` alone (what skaffold runs) is enough', async () => {
  const clone = mkdtempSync(path.join(tmpdir(), 'switchyard-charts-'));
  try {
    // No <chart>/charts/ nor Chart.lock: they are gitignored build output. Symlinks are copied as their targets.
    const isBuildOutput = (source: string) => /[\\/]charts[\\/][^\\/]+[\\/](charts|Chart\.lock)$/.test(source);
    cpSync(chartsDir, path.join(clone, 'charts'), { recursive: true, dereference: true, filter: (source) => !isBuildOutput(source) });
    expect(existsSync(path.join(clone, 'charts', 'user-service', 'charts'))).toBe(false);
    await helmAsync(['dependency', 'build', path.join(clone, 'charts', 'switchyard')]);
    const objects = parseStream(await helmAsync(['template', 'sy', path.join(clone, 'charts', 'switchyard'), '--namespace', 'switchyard']));
    expect(objects.map((obj) => `${obj.kind}/${obj.metadata.name}`).sort()).toEqual(objectsOf('switchyard (defaults)').map((obj) => `${obj.kind}/${obj.metadata.name}`).sort());
  } finally {
    rmSync(clone, { recursive: true, force: true });
  }
});

describe.each(everyScenario)('%s', (label) => {
  test('renders objects that all validate against their Kubernetes schema', () => {
    const objects = objectsOf(label);
    expect(objects.length).toBeGreaterThan(0);
    for (const obj of objects) {
      const id = `${obj.apiVersion}/${obj.kind} ${obj.metadata?.name}`;
      if (obj.apiVersion === PROMETHEUS_OPERATOR) {
        expect([id, ['ServiceMonitor', 'PodMonitor', 'PrometheusRule'].includes(obj.kind)]).toEqual([id, true]);
        expect([id, typeof obj.spec]).toEqual([id, 'object']);
        continue;
      }
      if (obj.apiVersion.startsWith(OWN_API_GROUP)) continue;
      const Model = kubernetesModelOf(obj);
      expect([id, Model !== undefined]).toEqual([id, true]);
      expect(() => new Model!(obj).validate()).not.toThrow();
      expect(obj.metadata.name.length).toBeLessThanOrEqual(63);
    }
  });

  test('no two objects share a kind and name', () => {
    const ids = objectsOf(label).map((obj) => `${obj.kind}/${obj.metadata.namespace ?? ''}/${obj.metadata.name}`);
    expect(ids.filter((id, index) => ids.indexOf(id) !== index)).toEqual([]);
  });

  test('every object carries app.kubernetes.io/name, instance and managed-by', () => {
    for (const obj of objectsOf(label)) {
      const labels = obj.metadata.labels ?? {};
      const id = `${obj.kind}/${obj.metadata.name}`;
      expect([id, labels['app.kubernetes.io/name']]).toEqual([id, expect.any(String)]);
      expect([id, labels['app.kubernetes.io/instance']]).toEqual([id, 'sy']);
      expect([id, labels['app.kubernetes.io/managed-by']]).toEqual([id, 'Helm']);
    }
  });

  test('every pod spec meets the "restricted" Pod Security Standard, with a read-only root filesystem', () => {
    for (const { owner, spec } of podSpecs(objectsOf(label))) {
      expect([owner, spec.securityContext]).toEqual([
        owner,
        expect.objectContaining({ runAsNonRoot: true, seccompProfile: { type: 'RuntimeDefault' }, runAsUser: expect.any(Number) }),
      ]);
      expect(spec.securityContext?.runAsUser).not.toBe(0);
      for (const container of [...spec.containers, ...(spec.initContainers ?? [])]) {
        const where = `${owner} container ${container.name}`;
        expect([where, container.securityContext]).toEqual([
          where,
          expect.objectContaining({
            allowPrivilegeEscalation: false,
            readOnlyRootFilesystem: true,
            capabilities: { drop: ['ALL'] },
            runAsNonRoot: true,
          }),
        ]);
      }
    }
  });

  test('service Deployments probe /health/* on their own port and run as UID 10001', () => {
    const deployments = objectsOf(label).filter((obj) => obj.kind === 'Deployment');
    for (const [service, port] of Object.entries(SERVICES)) {
      for (const deployment of deployments.filter((obj) => obj.metadata.labels?.['app.kubernetes.io/name'] === service)) {
        const spec = (deployment.spec as { template: { spec: PodSpec } }).template.spec;
        expect(spec.securityContext?.runAsUser).toBe(10001);
        const container = spec.containers[0]!;
        const metricsPort = METRICS_PORTS[service as keyof typeof METRICS_PORTS];
        expect(container.ports).toEqual([
          expect.objectContaining({ name: 'http', containerPort: port }),
          expect.objectContaining({ name: 'metrics', containerPort: metricsPort }),
        ]);
        expect(container.startupProbe?.httpGet).toEqual({ path: '/health/startup', port: 'http' });
        expect(container.livenessProbe?.httpGet).toEqual({ path: '/health/live', port: 'http' });
        expect(container.readinessProbe?.httpGet).toEqual({ path: '/health/ready', port: 'http' });
        const config = objectsOf(label).find((obj) => obj.kind === 'ConfigMap' && obj.metadata.name === deployment.metadata.name);
        expect(config?.data?.PORT).toBe(String(port));
        expect(config?.data?.METRICS_PORT).toBe(String(metricsPort));
        // The charts keep /docs off; the local kind setup (k8s/values-dev.yaml) turns it on.
        expect(config?.data?.API_DOCS_ENABLED).toBe(label.endsWith('values-dev.yaml') ? 'true' : 'false');
        const shutdownMs = Number(config?.data?.SHUTDOWN_DELAY_MS) + Number(config?.data?.SHUTDOWN_TIMEOUT_MS);
        expect(Number(config?.data?.SHUTDOWN_DELAY_MS)).toBeGreaterThanOrEqual(5000);
        expect(spec.terminationGracePeriodSeconds! * 1000).toBeGreaterThan(shutdownMs);
        const envNames = container.env?.map((env) => env.name) ?? [];
        expect(envNames).toEqual(expect.arrayContaining(['DATABASE_URL', 'RABBITMQ_URL', 'K8S_POD_NAME', 'K8S_NAMESPACE_NAME']));
        for (const secretEnv of container.env!.filter((env) => env.name === 'DATABASE_URL' || env.name === 'RABBITMQ_URL')) {
          expect(secretEnv.valueFrom).toHaveProperty('secretKeyRef');
        }
      }
    }
  });

  test('service /metrics is on its own port: the API Service leaves it out, a metrics Service and only Prometheus reach it', () => {
    const objects = objectsOf(label);
    for (const [service, metricsPort] of Object.entries(METRICS_PORTS)) {
      const named = (kind: string) => objects.filter((obj) => obj.kind === kind && obj.metadata.labels?.['app.kubernetes.io/name'] === service);
      const services = named('Service') as (K8sObject & { spec: { ports: { name: string; port: number; targetPort: string }[] } })[];
      if (services.length === 0) continue;
      const metricsService = services.find((svc) => svc.metadata.labels?.['switchyard.io/endpoint'] === 'metrics')!;
      expect(metricsService.spec.ports).toEqual([expect.objectContaining({ name: 'metrics', port: metricsPort, targetPort: 'metrics' })]);
      for (const api of services.filter((svc) => svc !== metricsService)) expect(api.spec.ports.map((p) => p.targetPort)).toEqual(['http']);
      for (const monitor of named('ServiceMonitor')) {
        const spec = monitor.spec as { selector: { matchLabels: Record<string, string> }; endpoints: { port: string; path: string }[] };
        expect(spec.selector.matchLabels['switchyard.io/endpoint']).toBe('metrics');
        expect(spec.endpoints).toEqual([expect.objectContaining({ port: 'metrics', path: '/metrics' })]);
      }
      for (const policy of named('NetworkPolicy')) {
        const rules = (policy.spec as { ingress?: { from: { podSelector?: { matchLabels?: Record<string, string> } }[]; ports: { port: string }[] }[] }).ingress ?? [];
        for (const rule of rules) {
          const fromPrometheus = rule.from.some((peer) => peer.podSelector?.matchLabels?.['app.kubernetes.io/name'] === 'prometheus');
          expect(rule.ports.map((p) => p.port)).toEqual([fromPrometheus ? 'metrics' : 'http']);
        }
      }
    }
  });

  test('the services are fenced by NetworkPolicies (default deny, then DNS, Postgres and RabbitMQ egress)', () => {
    const objects = objectsOf(label);
    const policies = objects.filter((obj) => obj.kind === 'NetworkPolicy');
    const isService = (obj: K8sObject) => Object.keys(SERVICES).includes(obj.metadata.labels?.['app.kubernetes.io/name'] ?? '');
    const deployments = objects.filter((obj) => obj.kind === 'Deployment' && isService(obj));
    if (/^(user-service|order-service|switchyard) \(defaults\)$/.test(label)) expect(deployments.length).toBeGreaterThan(0);
    for (const deployment of deployments) {
      if (label.includes('minimal')) continue; // the minimal scenario switches them off on purpose
      const selecting = policies.filter(
        (policy) => (policy.spec as { podSelector: { matchLabels: Record<string, string> } }).podSelector.matchLabels['app.kubernetes.io/name'] === deployment.metadata.labels!['app.kubernetes.io/name'],
      );
      const specs = selecting.map((policy) => policy.spec as { policyTypes: string[]; ingress?: unknown[]; egress?: { ports?: { port: number | string }[] }[] });
      expect(specs.some((spec) => spec.policyTypes.includes('Ingress') && spec.policyTypes.includes('Egress') && !spec.ingress && !spec.egress)).toBe(true);
      const egressPorts = specs.flatMap((spec) => spec.egress ?? []).flatMap((rule) => rule.ports ?? []).map((port) => port.port);
      expect(egressPorts).toContain(53);
      expect(egressPorts).toContain(5432);
      expect(egressPorts.some((port) => port === 5672 || port === 5671)).toBe(true); // AMQP, or AMQPS to a managed broker
    }
  });
});

describe('secrets', () => {
  const looksSecret = (key: string, value: string) => /pass|cookie|token/i.test(key) || /:\/\/[^/:@]+:[^@]+@/.test(value);

  test.each([...APP_CHARTS])('%s defaults hold no hard-coded password: every one is generated per install', (chart) => {
    const first = objectsOf(`${chart} (defaults)`).filter((obj) => obj.kind === 'Secret');
    const second = secondDefaults.get(chart)!.filter((obj) => obj.kind === 'Secret');
    for (const secret of first) {
      const again = second.find((obj) => obj.metadata.name === secret.metadata.name)!;
      const values = { ...secret.data, ...secret.stringData };
      const valuesAgain = { ...again.data, ...again.stringData };
      for (const [key, value] of Object.entries(values)) {
        if (!looksSecret(key, value)) continue;
        const where = `Secret ${secret.metadata.name} key ${key}`;
        expect([where, value === valuesAgain[key]]).toEqual([where, false]);
      }
    }
  });

  test('generated Secrets are read back on upgrade (lookup) and kept on uninstall', () => {
    // One helper generates every credential: the live Secret's value first (lookup), else global.secretSeed's.
    expect(readFileSync(path.join(chartsDir, 'switchyard-lib/templates/_secrets.tpl'), 'utf8')).toMatch(/lookup "v1" "Secret"/);
    for (const file of ['postgres/templates/secrets.yaml', 'rabbitmq/templates/secret.yaml', 'rabbitmq/templates/users.yaml', 'observability/templates/grafana.yaml']) {
      const template = readFileSync(path.join(chartsDir, file), 'utf8');
      expect(template).toMatch(/include "switchyard-lib\.generatedSecret"/);
      expect(template).not.toMatch(/randAlphaNum/);
    }
  });

  test('the umbrella wires the services (and the topology operator) to the Secrets postgres and rabbitmq generate', () => {
    const objects = objectsOf('switchyard (defaults)');
    const secrets = new Set(objects.filter((obj) => obj.kind === 'Secret').map((obj) => obj.metadata.name));
    for (const service of [...Object.keys(SERVICES), 'topology-operator']) {
      const deployment = objects.find((obj) => obj.kind === 'Deployment' && obj.metadata.name === `sy-${service}`)!;
      const env = (deployment.spec as { template: { spec: PodSpec } }).template.spec.containers[0]!.env!;
      for (const name of service === 'topology-operator' ? ['RABBITMQ_URL'] : ['DATABASE_URL', 'RABBITMQ_URL']) {
        const ref = (env.find((entry) => entry.name === name)!.valueFrom as { secretKeyRef: { name: string; key: string } }).secretKeyRef;
        expect(secrets.has(ref.name)).toBe(true);
        const secret = objects.find((obj) => obj.kind === 'Secret' && obj.metadata.name === ref.name)!;
        expect(secret.stringData?.[ref.key]).toMatch(name === 'DATABASE_URL' ? /^postgresql:\/\// : /^amqp:\/\//);
      }
    }
  });
});

describe('postgres', () => {
  test('creates one database and one least-privilege owner role per service, with matching DATABASE_URL Secrets', () => {
    const objects = objectsOf('postgres (defaults)');
    const script = objects.find((obj) => obj.kind === 'ConfigMap' && obj.metadata.name.endsWith('-init'))!.data!['10-switchyard-databases.sh']!;
    expect(script).toContain('CREATE ROLE :"role" LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE');
    expect(script).toContain('CREATE ROLE :"app" LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE');
    expect(script).toContain('REVOKE ALL ON DATABASE :"db" FROM PUBLIC');
    expect(script).toContain('ALTER DEFAULT PRIVILEGES FOR ROLE :"role" IN SCHEMA public GRANT SELECT, INSERT, UPDATE, DELETE ON TABLES TO :"app"');
    for (const [service, database, role] of [
      ['user-service', 'switchyard_users', 'user_service'],
      ['order-service', 'switchyard_orders', 'order_service'],
    ] as const) {
      expect(script).toContain(`--set=role="${role}" --set=app="${database}_app" --set=db="${database}"`);
      const secret = objects.find((obj) => obj.kind === 'Secret' && obj.metadata.name === `sy-postgres-${service}`)!;
      // The service runs as the runtime role; migrations as the owner.
      expect(secret.stringData?.DATABASE_URL).toMatch(new RegExp(`^postgresql://${database}_app:[A-Za-z0-9]{32}@sy-postgres\\.switchyard\\.svc:5432/${database}$`));
      expect(secret.stringData?.MIGRATION_DATABASE_URL).toMatch(new RegExp(`^postgresql://${role}:[A-Za-z0-9]{32}@sy-postgres\\.switchyard\\.svc:5432/${database}$`));
    }
  });
});

describe('migrations', () => {
  test.each(['user-service', 'order-service', 'switchyard'])('%s runs switchyard-migrate as a hook Job after its Secret exists', (chart) => {
    const objects = objectsOf(`${chart} (defaults)`);
    const jobs = objects.filter((obj) => obj.kind === 'Job');
    expect(jobs.length).toBe(chart === 'switchyard' ? 2 : 1);
    for (const job of jobs) {
      const hooks = job.metadata.annotations?.['helm.sh/hook'] ?? '';
      expect(hooks).toMatch(/(pre|post)-install/);
      expect(hooks).toContain('pre-upgrade');
      const container = (job.spec as { template: { spec: PodSpec } }).template.spec.containers[0] as Container & { command: string[] };
      expect(container.command).toEqual(['npx', 'switchyard-migrate', 'deploy', '--schema', 'prisma/schema.prisma']);
      const ref = (container.env!.find((env) => env.name === 'DATABASE_URL')!.valueFrom as { secretKeyRef: { name: string } }).secretKeyRef.name;
      const secret = objects.find((obj) => obj.kind === 'Secret' && obj.metadata.name === ref);
      if (secret === undefined) {
        // An existing Secret (database.existingSecret) made outside this release: a prerequisite of the install.
        expect(chart).not.toBe('switchyard');
      } else if (hooks.includes('pre-install')) {
        // A pre-install hook runs before the release's ordinary objects: its Secret must be a lighter hook.
        expect(Number(secret?.metadata.annotations?.['helm.sh/hook-weight'])).toBeLessThan(Number(job.metadata.annotations?.['helm.sh/hook-weight']));
      } else {
        expect(secret.metadata.annotations?.['helm.sh/hook']).toBeUndefined(); // an ordinary object of the release
      }
    }
  });

  test('an external database URL gets a hook Secret weighted before the pre-install Job', () => {
    const objects = objectsOf('user-service ci/external-values.yaml');
    const job = objects.find((obj) => obj.kind === 'Job')!;
    expect(job.metadata.annotations?.['helm.sh/hook']).toBe('pre-install,pre-upgrade');
    const hookSecret = objects.find((obj) => obj.kind === 'Secret' && obj.metadata.annotations?.['helm.sh/hook'])!;
    expect(Number(hookSecret.metadata.annotations!['helm.sh/hook-weight'])).toBeLessThan(Number(job.metadata.annotations!['helm.sh/hook-weight']));
  });
});

describe('values.schema.json', () => {
  const rejects = async (chart: string, args: string[], message: RegExp) => {
    const failure = await template(chart, args).then(
      () => undefined,
      (error: unknown) => error,
    );
    expect(failure).toBeInstanceOf(HelmError);
    expect((failure as HelmError).stderr).toMatch(message);
  };
  const wrongTypes: Record<(typeof APP_CHARTS)[number], string> = {
    'user-service': 'replicaCount=two',
    'order-service': 'service.port=http',
    postgres: 'persistence.enabled=yes',
    rabbitmq: 'replicaCount=three',
    observability: 'jaeger.maxTraces=many',
    'topology-operator': 'resyncSeconds=often',
    switchyard: 'user-service.autoscaling.enabled=yes',
  };

  test.each([...APP_CHARTS])('%s rejects a typo in a key and a value of the wrong type', async (chart) => {
    await rejects(chart, ['--set', 'replicaCont=2'], /additional properties 'replicaCont' not allowed/);
    await rejects(chart, ['--set-string', wrongTypes[chart]], /got string, want (integer|boolean)/);
  });

  test('the umbrella also rejects typos inside a part (its chart schema applies)', async () => {
    await rejects('switchyard', ['--set', 'order-service.image.tagg=1'], /additional properties 'tagg' not allowed/);
    await rejects('switchyard', ['--set', 'postgres.persistance.size=1Gi'], /additional properties 'persistance' not allowed/);
  });
});

describe('values.yaml', () => {
  test.each([...APP_CHARTS])('%s documents every key with a comment above it', (chart) => {
    const lines = readFileSync(path.join(chartsDir, chart, 'values.yaml'), 'utf8').split('\n');
    const undocumented: string[] = [];
    let listIndent = -1;
    lines.forEach((line, index) => {
      const indent = line.length - line.trimStart().length;
      if (line.trim() === '' || line.trimStart().startsWith('#')) return;
      if (line.trimStart().startsWith('- ')) {
        if (listIndent < 0 || indent <= listIndent) listIndent = indent;
        return;
      }
      if (listIndent >= 0 && indent > listIndent) return; // inside a list item: data, not a key
      listIndent = -1;
      if (!/^\s*[\w.-]+:/.test(line)) return;
      if (/^\s*(cpu|memory|ephemeral-storage):/.test(line)) return; // quantities, documented by requests/limits
      const previous = lines[index - 1]?.trim() ?? '';
      if (!previous.startsWith('#')) undocumented.push(`${index + 1}: ${line.trim()}`);
    });
    expect(undocumented).toEqual([]);
  });
});

describe('observability files are shared with observability/, not copied', () => {
  const source = (...parts: string[]) => path.join(repoRoot, 'observability', ...parts);
  const objects = () => objectsOf('observability (defaults)');
  const configMap = (suffix: string) => objects().find((obj) => obj.kind === 'ConfigMap' && obj.metadata.name.endsWith(suffix))!;

  test('charts/observability/files/{prometheus,grafana} are symlinks to observability/', () => {
    for (const dir of ['prometheus', 'grafana']) {
      const link = path.join(chartsDir, 'observability', 'files', dir);
      expect(lstatSync(link).isSymbolicLink()).toBe(true);
      expect(realpathSync(link)).toBe(realpathSync(source(dir)));
    }
  });

  test('rules, datasources, dashboard providers and dashboards render byte for byte', () => {
    const expectFiles = (suffix: string, dir: string, pattern: RegExp) => {
      const files = readdirSync(dir).filter((file) => pattern.test(file));
      expect(files.length).toBeGreaterThan(0);
      expect(configMap(suffix).data).toEqual(Object.fromEntries(files.map((file) => [file, readFileSync(path.join(dir, file), 'utf8')])));
    };
    expectFiles('-prometheus-rules', source('prometheus', 'rules'), /\.yml$/);
    expectFiles('-grafana-datasources', source('grafana', 'provisioning', 'datasources'), /\.ya?ml$/);
    expectFiles('-grafana-dashboard-providers', source('grafana', 'provisioning', 'dashboards'), /\.ya?ml$/);
    expectFiles('-grafana-dashboards', source('grafana', 'dashboards'), /\.json$/);
  });

  test('the Prometheus config is prometheus.yml with its static targets turned into pod discovery', () => {
    const original = parse(readFileSync(source('prometheus', 'prometheus.yml'), 'utf8')) as {
      global: unknown;
      scrape_configs: { job_name: string; metrics_path: string; honor_labels: boolean; static_configs: { targets: string[]; labels: { service: string } }[] }[];
    };
    const config = parse(configMap('-prometheus-config').data!['prometheus.yml']!) as {
      global: unknown;
      rule_files: string[];
      scrape_configs: { job_name: string; metrics_path: string; honor_labels: boolean; kubernetes_sd_configs: unknown[]; relabel_configs: { regex?: string; target_label?: string }[] }[];
    };
    expect(config.global).toEqual(original.global);
    expect(config.rule_files).toEqual(['/etc/prometheus/rules/*.yml']);
    expect(config.scrape_configs.map((job) => job.job_name)).toEqual(original.scrape_configs.map((job) => job.job_name));
    original.scrape_configs.forEach((job, index) => {
      const rendered = config.scrape_configs[index]!;
      const target = job.static_configs[0]!;
      expect(rendered).toMatchObject({ metrics_path: job.metrics_path, kubernetes_sd_configs: [{ role: 'pod', namespaces: { names: ['switchyard'] } }] });
      expect(rendered.honor_labels).toBe(job.honor_labels);
      expect(rendered.relabel_configs.map((rule) => rule.regex)).toEqual(expect.arrayContaining([target.labels.service, target.targets[0]!.split(':')[1]]));
      expect(rendered.relabel_configs.some((rule) => rule.target_label === 'service')).toBe(true);
      // The services' jobs scrape their metrics ports (never the API's); the others (RabbitMQ's exporter) their own.
      if (target.labels.service in METRICS_PORTS) expect(METRICS_PORTS[target.labels.service as keyof typeof METRICS_PORTS]).toBe(Number(target.targets[0]!.split(':')[1]));
    });
  });

  test('the PrometheusRule for Prometheus Operator users holds the rule groups of observability/, unchanged', () => {
    const groups = readdirSync(source('prometheus', 'rules'))
      .filter((file) => file.endsWith('.yml'))
      .sort()
      .flatMap((file) => (parse(readFileSync(source('prometheus', 'rules', file), 'utf8')) as { groups: unknown[] }).groups);
    for (const label of ['observability ci/prometheus-operator-values.yaml', 'switchyard ci/production-values.yaml']) {
      const rule = objectsOf(label).find((obj) => obj.kind === 'PrometheusRule');
      expect(rule?.spec).toEqual({ groups });
    }
  });

  test('the umbrella packages the same files (the symlinks are followed when the chart is archived)', () => {
    const umbrella = objectsOf('switchyard (defaults)').filter((obj) => obj.kind === 'ConfigMap' && obj.metadata.labels?.['helm.sh/chart']?.startsWith('observability-'));
    const standalone = objects().filter((obj) => obj.kind === 'ConfigMap');
    expect(umbrella.map((obj) => obj.data)).toEqual(standalone.map((obj) => obj.data));
  });

  test('Services are named as the provisioned Grafana datasources address them', () => {
    const names = objects().filter((obj) => obj.kind === 'Service').map((obj) => obj.metadata.name);
    expect(names).toEqual(expect.arrayContaining(['prometheus', 'jaeger', 'grafana']));
  });
});

describe('helm test and NOTES', () => {
  test.each(Object.keys(SERVICES))('%s has a `helm test` Pod that GETs /health/ready through its Service', (service) => {
    const pods = objectsOf(`${service} (defaults)`).filter((obj) => obj.kind === 'Pod');
    expect(pods).toHaveLength(1);
    const pod = pods[0]!;
    expect(pod.metadata.annotations?.['helm.sh/hook']).toBe('test');
    const command = ((pod.spec as unknown as PodSpec).containers[0] as Container & { command: string[] }).command.join(' ');
    expect(command).toContain(`http://sy-${service}:${SERVICES[service as keyof typeof SERVICES]}/health/ready`);
  });

  test('the umbrella NOTES say where each part is reachable on kind', async () => {
    const output = await helmAsync(['install', 'sy', path.join(chartsDir, 'switchyard'), '--dry-run=client', '--namespace', 'switchyard', '--values', path.join(repoRoot, 'k8s/values-dev.yaml')]);
    const notes = output.slice(output.indexOf('NOTES:'));
    for (const url of ['localhost:3001', 'localhost:3002', 'localhost:3000', 'localhost:16686', 'localhost:9090', 'localhost:15672']) {
      expect(notes).toContain(url);
    }
    expect(notes).toContain('kubectl -n switchyard get eventsubscriptions');
  });

  test('topology-operator has a `helm test` Pod that GETs /readyz through its Service', () => {
    const pods = objectsOf('topology-operator (defaults)').filter((obj) => obj.kind === 'Pod');
    expect(pods).toHaveLength(1);
    expect(pods[0]!.metadata.annotations?.['helm.sh/hook']).toBe('test');
    const command = ((pods[0]!.spec as unknown as PodSpec).containers[0] as Container & { command: string[] }).command.join(' ');
    expect(command).toContain('http://sy-topology-operator:8080/readyz');
  });
});

// ---------------------------------------------------------------------------------------------------------------
// The topology operator (charts/topology-operator, also inside the umbrella) and the services' side of it.

const OPERATOR = 'topology-operator';
// Every Kubernetes API permission the operator needs (OPERATOR_PERMISSIONS, "<group>/<resource>:<verb>", core group
// "core") is the contract between the chart and services/topology-operator, kept beside the operator's API
// (src/api/v1alpha1/rbac.ts). The chart must grant exactly these and the operator's code must use exactly these;
// adding a verb on either side fails a test below.
/** The ones that follow the subscriptions (their namespace, or every namespace); the rest is the Lease's. */
const SUBSCRIPTION_SCOPED = permissionsOf(SUBSCRIPTION_RULES);
const LEADER_ELECTION = permissionsOf(LEADER_ELECTION_RULES);

interface PolicyRule {
  apiGroups: string[];
  resources: string[];
  verbs: string[];
  resourceNames?: string[];
}
interface Binding extends K8sObject {
  roleRef: { kind: string; name: string };
  subjects: { kind: string; name: string; namespace?: string }[];
}

const isOperatorObject = (obj: K8sObject) => obj.metadata.labels?.['app.kubernetes.io/name'] === OPERATOR;
const rulesOf = (obj: K8sObject) => (obj as unknown as { rules: PolicyRule[] }).rules;

const operatorScenarios = scenarios.filter((scenario) => scenario.chart === OPERATOR || (scenario.chart === 'switchyard' && !scenario.label.includes('minimal'))).map((scenario) => scenario.label);

function operatorDeployment(label: string): { deployment: K8sObject; spec: PodSpec; container: Container; env: Map<string, { value?: string; valueFrom?: Record<string, unknown> }> } {
  const deployment = objectsOf(label).find((obj) => obj.kind === 'Deployment' && isOperatorObject(obj));
  if (!deployment) throw new Error(`${label} renders no topology-operator Deployment`);
  const spec = (deployment.spec as { template: { spec: PodSpec } }).template.spec;
  const container = spec.containers[0]!;
  return { deployment, spec, container, env: new Map((container.env ?? []).map((entry) => [entry.name, entry])) };
}

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) return entry.name === 'generated' ? [] : sourceFiles(full);
    return entry.name.endsWith('.ts') && !entry.name.endsWith('.spec.ts') ? [full] : [];
  });
}

describe.each(operatorScenarios)('topology-operator in %s', (label) => {
  test('RBAC grants exactly the verbs the operator uses, and nothing else', () => {
    const roles = objectsOf(label).filter((obj) => (obj.kind === 'Role' || obj.kind === 'ClusterRole') && isOperatorObject(obj));
    expect(roles.length).toBeGreaterThan(0);
    expect(permissionsOf(roles.flatMap(rulesOf))).toEqual(OPERATOR_PERMISSIONS);
    for (const rule of roles.flatMap(rulesOf)) expect([...rule.apiGroups, ...rule.resources, ...rule.verbs]).not.toContain('*');
  });

  test('subscriptions, ConfigMaps and Events are granted where subscriptions are watched; the Lease only in the release namespace, by name', () => {
    const objects = objectsOf(label).filter(isOperatorObject);
    const { spec, env } = operatorDeployment(label);
    const clusterWide = env.get('WATCH_ALL_NAMESPACES')?.value === 'true';
    // One namespace by default (the release's, 'switchyard' here), with a Role there; every namespace only when asked for.
    const watchNamespace = env.get('WATCH_NAMESPACE')?.value ?? '';
    expect(watchNamespace === '').toBe(clusterWide);
    if (label.includes('defaults')) expect(watchNamespace).toBe('switchyard');
    const leaseName = env.get('LEASE_NAME')?.value;
    const clusterRoles = objects.filter((obj) => obj.kind === 'ClusterRole');
    const roles = objects.filter((obj) => obj.kind === 'Role');
    const leaseRoles = roles.filter((role) => rulesOf(role).some((rule) => rule.resources.includes('leases')));
    expect(leaseRoles).toHaveLength(1);
    expect(leaseRoles[0]!.metadata.namespace).toBeUndefined(); // the release namespace, where POD_NAMESPACE points
    expect(permissionsOf(rulesOf(leaseRoles[0]!))).toEqual(LEADER_ELECTION);
    for (const rule of rulesOf(leaseRoles[0]!)) {
      // create cannot be limited by name (the API server authorizes it before the object has one).
      expect(rule.resourceNames).toEqual(rule.verbs.includes('create') ? undefined : [leaseName]);
    }
    const subscriptionRoles = clusterWide ? clusterRoles : roles.filter((role) => role !== leaseRoles[0]);
    expect(clusterRoles).toHaveLength(clusterWide ? 1 : 0);
    expect(subscriptionRoles).toHaveLength(1);
    expect(permissionsOf(rulesOf(subscriptionRoles[0]!))).toEqual(SUBSCRIPTION_SCOPED);
    // Rule by rule as the API lists them (same grouping, same verbs, no resourceNames).
    expect(rulesOf(subscriptionRoles[0]!)).toEqual(SUBSCRIPTION_RULES);
    if (!clusterWide) expect(subscriptionRoles[0]!.metadata.namespace).toBe(watchNamespace);

    const serviceAccount = objects.find((obj) => obj.kind === 'ServiceAccount')!;
    expect(spec.serviceAccountName).toBe(serviceAccount.metadata.name);
    expect(spec.automountServiceAccountToken).toBe(true);
    const bindings = objects.filter((obj) => obj.kind === 'RoleBinding' || obj.kind === 'ClusterRoleBinding') as Binding[];
    expect(bindings.map((binding) => `${binding.roleRef.kind}/${binding.roleRef.name}`).sort()).toEqual([...leaseRoles, ...subscriptionRoles].map((role) => `${role.kind}/${role.metadata.name}`).sort());
    for (const binding of bindings) {
      expect(binding.subjects).toEqual([{ kind: 'ServiceAccount', name: serviceAccount.metadata.name, namespace: 'switchyard' }]);
      const role = [...leaseRoles, ...subscriptionRoles].find((candidate) => candidate.metadata.name === binding.roleRef.name)!;
      expect(binding.metadata.namespace).toBe(role.metadata.namespace);
    }
  });

  test('the Deployment sets the env, port and probes the operator reads, and runs 2 replicas with a PDB by default', () => {
    const { deployment, spec, container, env } = operatorDeployment(label);
    const contractEnv = ['RABBITMQ_URL', 'WATCH_NAMESPACE', 'WATCH_ALL_NAMESPACES', 'POD_NAME', 'POD_NAMESPACE', 'LEASE_NAME', 'PORT', 'LOG_LEVEL', 'RESYNC_SECONDS', 'STATUS_REFRESH_SECONDS'];
    expect([...env.keys()].sort()).toEqual([...contractEnv].sort());
    // Every variable the chart sets is one the operator reads (a typo here would be silently ignored there).
    const configSource = readFileSync(path.join(repoRoot, 'services/topology-operator/src/config/operator-config.ts'), 'utf8');
    const read = new Set([...configSource.matchAll(/\benv\.([A-Z][A-Z0-9_]*)|'([A-Z][A-Z0-9_]*)'/g)].map((match) => match[1] ?? match[2]));
    expect(contractEnv.filter((name) => !read.has(name))).toEqual([]);
    expect(env.get('RABBITMQ_URL')?.valueFrom).toHaveProperty('secretKeyRef');
    expect(env.get('POD_NAME')?.valueFrom).toEqual({ fieldRef: { fieldPath: 'metadata.name' } });
    expect(env.get('POD_NAMESPACE')?.valueFrom).toEqual({ fieldRef: { fieldPath: 'metadata.namespace' } });
    expect(container.ports).toEqual([expect.objectContaining({ name: 'http', containerPort: Number(env.get('PORT')?.value) })]);
    expect(env.get('PORT')?.value).toBe('8080');
    expect(container.startupProbe?.httpGet).toEqual({ path: '/healthz', port: 'http' });
    expect(container.livenessProbe?.httpGet).toEqual({ path: '/healthz', port: 'http' });
    expect(container.readinessProbe?.httpGet).toEqual({ path: '/readyz', port: 'http' });
    expect(spec.securityContext?.runAsUser).toBe(10001); // USER of services/topology-operator/Dockerfile
    // The operator forces its own exit after SHUTDOWN_TIMEOUT_MS (releasing the Lease first); the kubelet must not kill it sooner.
    const shutdownTimeout = /const SHUTDOWN_TIMEOUT_MS = ([\d_]+);/.exec(readFileSync(path.join(repoRoot, 'services/topology-operator/src/main.ts'), 'utf8'))?.[1];
    expect(spec.terminationGracePeriodSeconds! * 1000).toBeGreaterThan(Number(shutdownTimeout?.replaceAll('_', '')));

    const replicas = (deployment.spec as { replicas: number }).replicas;
    const pdb = objectsOf(label).find((obj) => obj.kind === 'PodDisruptionBudget' && isOperatorObject(obj));
    if (label.includes('defaults')) expect(replicas).toBe(2);
    if (replicas > 1) {
      expect((pdb?.spec as { maxUnavailable: number }).maxUnavailable).toBeLessThan(replicas);
      expect((pdb?.spec as { selector: unknown }).selector).toEqual((deployment.spec as { selector: unknown }).selector);
    }
  });

  test('is fenced by NetworkPolicies: default deny, metrics in, DNS, API server and AMQP out', () => {
    const policies = objectsOf(label).filter((obj) => obj.kind === 'NetworkPolicy' && isOperatorObject(obj));
    const specs = policies.map((policy) => policy.spec as { policyTypes: string[]; ingress?: { ports: { port: number | string }[] }[]; egress?: { ports?: { port: number | string }[] }[] });
    expect(specs.some((spec) => spec.policyTypes.join() === 'Ingress,Egress' && !spec.ingress && !spec.egress)).toBe(true);
    expect(specs.flatMap((spec) => spec.ingress ?? []).flatMap((rule) => rule.ports.map((port) => port.port))).toEqual(['http']);
    const egressPorts = specs.flatMap((spec) => spec.egress ?? []).flatMap((rule) => rule.ports ?? []).map((port) => port.port);
    expect(egressPorts).toContain(53);
    expect(egressPorts.some((port) => port === 443 || port === 6443)).toBe(true); // the API server
    expect(egressPorts.some((port) => port === 5672 || port === 5671)).toBe(true);
  });

  test('exposes /metrics through a Service on the container port', () => {
    const service = objectsOf(label).find((obj) => obj.kind === 'Service' && isOperatorObject(obj))!;
    expect((service.spec as { ports: { name: string; targetPort: string }[] }).ports).toEqual([expect.objectContaining({ name: 'http', targetPort: 'http' })]);
    const monitor = objectsOf(label).find((obj) => obj.kind === 'ServiceMonitor' && isOperatorObject(obj));
    if (monitor) expect((monitor.spec as { endpoints: { port: string; path: string }[] }).endpoints).toEqual([expect.objectContaining({ port: 'http', path: '/metrics' })]);
  });

  test('the default EventSubscriptions go where the operator watches', () => {
    const { env } = operatorDeployment(label);
    const subscriptions = objectsOf(label).filter((obj) => obj.kind === 'EventSubscription');
    expect(subscriptions.length).toBeGreaterThan(0);
    for (const subscription of subscriptions) expect(subscription.metadata.namespace).toBe(env.get('WATCH_NAMESPACE')?.value || 'switchyard');
  });
});

describe('topology-operator', () => {
  const subscriptionsOf = (label: string) =>
    objectsOf(label)
      .filter((obj) => obj.kind === 'EventSubscription')
      .map((obj) => obj.spec as { service: string; queue: string; events: { type: string }[]; retry: { maxAttempts: number; backoff: { delays: string[] } }; prefetch: number });

  test.each(Object.keys(SERVICES))('the default subscription of %s binds exactly the event types of its @ConsumeEvent handlers, on the queue it consumes', (service) => {
    const subscription = subscriptionsOf(`${OPERATOR} (defaults)`).find((spec) => spec.service === service)!;
    const handlers = sourceFiles(path.join(repoRoot, 'services', service, 'src')).flatMap((file) => [...readFileSync(file, 'utf8').matchAll(/@ConsumeEvent\((\w+)\)/g)].map((match) => match[1]!));
    expect(handlers.length).toBeGreaterThan(0);
    const types = handlers.map((name) => (contracts as unknown as Record<string, { type: string } | undefined>)[name]?.type);
    expect(subscription.events.map((event) => event.type).sort()).toEqual([...new Set(types)].sort());
    const declared = /EVENT_QUEUE = '([^']+)'/.exec(readFileSync(path.join(repoRoot, 'services', service, 'src/app.module.ts'), 'utf8'))?.[1];
    expect(subscription.queue).toBe(declared);
    expect(subscription.queue.startsWith(`${service}.`)).toBe(true); // the CRD's CEL rule, which Ajv cannot run
    expect(subscription.queue).toBe((parse(readFileSync(path.join(chartsDir, service, 'values.yaml'), 'utf8')) as { consumesQueue: string }).consumesQueue);
  });

  test.each(Object.keys(SERVICES))('the default subscription of %s keeps the retry tiers and prefetch %s uses without the operator', (service) => {
    const subscription = subscriptionsOf(`${OPERATOR} (defaults)`).find((spec) => spec.service === service)!;
    const values = parse(readFileSync(path.join(chartsDir, service, 'values.yaml'), 'utf8')) as { messaging: { retryDelaysMs: string } };
    expect(subscription.retry.backoff.delays.map((delay) => parseDuration(delay))).toEqual(values.messaging.retryDelaysMs.split(',').map(Number));
    expect(subscription.retry.maxAttempts).toBe(subscription.retry.backoff.delays.length + 1);
    const defaultPrefetch = /export const DEFAULT_PREFETCH = (\d+);/.exec(readFileSync(path.join(repoRoot, 'packages/messaging/src/topology/consumer-policy.ts'), 'utf8'))?.[1];
    expect(subscription.prefetch).toBe(Number(defaultPrefetch));
  });

  test('the default subscriptions are deletionPolicy Retain: the operator holds no finalizer on them, so `helm uninstall` cannot leave them stuck', () => {
    for (const label of [`${OPERATOR} (defaults)`, 'switchyard (defaults)']) {
      const policies = objectsOf(label)
        .filter((obj) => obj.kind === 'EventSubscription')
        .map((obj) => (obj.spec as { deletionPolicy?: string }).deletionPolicy);
      expect(policies.length).toBeGreaterThan(0);
      expect(policies.every((policy) => policy === 'Retain')).toBe(true);
    }
  });

  test('ships the CRD from crds/ (installed before the templates, also through the umbrella, not when disabled there)', async () => {
    const crdsOf = async (chart: string, args: string[] = []) =>
      parseStream(await template(chart, ['--include-crds', ...args])).filter((obj) => obj.kind === 'CustomResourceDefinition');
    for (const chart of [OPERATOR, 'switchyard']) {
      const crds = await crdsOf(chart);
      expect(crds.map((crd) => crd.metadata.name)).toEqual([CRD_NAME]);
      const CustomResourceDefinition = kubernetesModelOf(crds[0]!)!;
      expect(() => new CustomResourceDefinition(crds[0]).validate()).not.toThrow();
      // Not a template: Helm applies crds/ first and never upgrades or deletes it.
      expect(objectsOf(`${chart} (defaults)`).some((obj) => obj.kind === 'CustomResourceDefinition')).toBe(false);
    }
    expect(await crdsOf('switchyard', ['--values', path.join(chartsDir, 'switchyard/ci/minimal-values.yaml')])).toEqual([]);
  });

  test('the umbrella renders the operator and its subscriptions only when topology-operator.enabled', () => {
    const has = (label: string) => objectsOf(label).some((obj) => obj.kind === 'Deployment' && obj.metadata.name === 'sy-topology-operator');
    expect(has('switchyard (defaults)')).toBe(true);
    expect(subscriptionsOf('switchyard (defaults)').map((spec) => spec.service).sort()).toEqual(Object.keys(SERVICES).sort());
    expect(has('switchyard ci/minimal-values.yaml')).toBe(false);
    expect(objectsOf('switchyard ci/minimal-values.yaml').some((obj) => obj.kind === 'EventSubscription' || isOperatorObject(obj))).toBe(false);
  });

  test("the operator's code calls the Kubernetes API with exactly the permissions the chart grants", () => {
    const verbs: Record<string, string> = { read: 'get', get: 'get', list: 'list', create: 'create', patch: 'patch', replace: 'update', delete: 'delete', deleteCollection: 'deletecollection' };
    const resources: Record<string, string> = {
      ConfigMap: 'core/configmaps',
      Event: 'core/events',
      Lease: 'coordination.k8s.io/leases',
      CustomObject: 'switchyard.io/eventsubscriptions', // the operator's only custom resource
      CustomObjectStatus: 'switchyard.io/eventsubscriptions/status',
    };
    const files = sourceFiles(path.join(repoRoot, 'services/topology-operator/src'));
    const used = new Set<string>();
    const clients = new Set<string>();
    for (const file of files) {
      const text = readFileSync(file, 'utf8');
      for (const match of text.matchAll(/\.(read|get|list|create|patch|replace|deleteCollection|delete)(?:Namespaced|Cluster)?(ConfigMap|Event|Lease|CustomObjectStatus|CustomObject)\(/g)) {
        used.add(`${resources[match[2]!]}:${verbs[match[1]!]}`);
      }
      // Only subscriptions are watched (informer: list + watch).
      if (/\bnew Watch\(|\bextends Watch\b/.test(text)) used.add('switchyard.io/eventsubscriptions:watch');
      for (const match of text.matchAll(/makeApiClient\((\w+)\)/g)) clients.add(match[1]!);
    }
    // Any other API client would be calls this scan cannot see.
    expect([...clients].sort()).toEqual(['CoordinationV1Api', 'CoreV1Api', 'CustomObjectsApi']);
    expect([...used].sort()).toEqual(OPERATOR_PERMISSIONS);
  });
});

describe('the services mount the consumer policy the operator writes', () => {
  const serviceScenarios = scenarios.filter((scenario) => scenario.chart in SERVICES || scenario.chart === 'switchyard').map((scenario) => scenario.label);

  test.each(serviceScenarios)('%s', (label) => {
    const objects = objectsOf(label);
    const deployments = objects.filter((obj) => obj.kind === 'Deployment' && (obj.metadata.labels?.['app.kubernetes.io/name'] ?? '') in SERVICES);
    if (!label.includes('minimal')) expect(deployments.length).toBeGreaterThan(0); // the umbrella's minimal has no services
    for (const deployment of deployments) {
      const service = deployment.metadata.labels!['app.kubernetes.io/name']!;
      const spec = (deployment.spec as { template: { spec: PodSpec } }).template.spec;
      const config = objects.find((obj) => obj.kind === 'ConfigMap' && obj.metadata.name === deployment.metadata.name)!;
      const volume = spec.volumes?.find((candidate) => candidate.configMap?.name === consumerPolicyConfigMapName(service));
      const mount = spec.containers[0]!.volumeMounts?.find((candidate) => candidate.name === volume?.name);
      if (label.includes('minimal') && !label.startsWith('switchyard')) {
        // consumerPolicy.enabled: false: no mount, and the service is not told to look for one.
        expect(volume).toBeUndefined();
        expect(config.data?.CONSUMER_POLICY_DIR).toBeUndefined();
        continue;
      }
      // Optional: the pod starts before the operator has written it (or without any operator).
      expect(volume?.configMap).toEqual({ name: consumerPolicyConfigMapName(service), optional: true });
      expect(mount).toEqual({ name: volume!.name, mountPath: CONSUMER_POLICY_MOUNT_PATH, readOnly: true });
      expect(config.data?.CONSUMER_POLICY_DIR).toBe(CONSUMER_POLICY_MOUNT_PATH);
      expect(Number(config.data?.CONSUMER_POLICY_POLL_MS)).toBeGreaterThan(0);
      // Both are variables the service reads (a misspelt one would silently leave the code defaults in force): messaging's, composed into the service's config.
      const serviceConfig = readFileSync(path.join(repoRoot, 'services', service, 'src/config.ts'), 'utf8');
      expect([service, serviceConfig.includes('...messagingConfigShape')]).toEqual([service, true]);
      for (const name of ['CONSUMER_POLICY_DIR', 'CONSUMER_POLICY_POLL_MS']) expect([service, name, name in messagingConfigShape]).toEqual([service, name, true]);
    }
  });

  test("in the umbrella, every default subscription names a service that mounts its ConfigMap", () => {
    const objects = objectsOf('switchyard (defaults)');
    const mounted = objects
      .filter((obj) => obj.kind === 'Deployment')
      .flatMap((obj) => (obj.spec as { template: { spec: PodSpec } }).template.spec.volumes ?? [])
      .flatMap((volume) => (volume.configMap ? [volume.configMap.name] : []));
    for (const subscription of objects.filter((obj) => obj.kind === 'EventSubscription')) {
      expect(mounted).toContain(consumerPolicyConfigMapName((subscription.spec as { service: string }).service));
    }
  });
});

describe('message size limits', () => {
  test("the broker's max_message_size is above every service's consumer limit, and both are read by their engines", () => {
    const objects = objectsOf('switchyard (defaults)');
    const conf = objects.find((obj) => obj.kind === 'ConfigMap' && obj.metadata.name.endsWith('rabbitmq-config'))!.data!['rabbitmq.conf']!;
    const brokerLimit = Number(/^\s*max_message_size = (\d+)$/m.exec(conf)?.[1]);
    expect(brokerLimit).toBeGreaterThan(0);
    expect('MESSAGING_MAX_MESSAGE_BYTES' in messagingConfigShape).toBe(true);
    const services = objects.filter((obj) => obj.kind === 'Deployment' && (obj.metadata.labels?.['app.kubernetes.io/name'] ?? '') in SERVICES);
    expect(services.length).toBeGreaterThan(0);
    for (const deployment of services) {
      const config = objects.find((obj) => obj.kind === 'ConfigMap' && obj.metadata.name === deployment.metadata.name)!;
      const consumerLimit = Number(config.data?.MESSAGING_MAX_MESSAGE_BYTES);
      // Between the two a message reaches the consumer and is dead-lettered as message_too_large, visible in the DLQ.
      expect([deployment.metadata.name, consumerLimit > 0 && consumerLimit < brokerLimit]).toEqual([deployment.metadata.name, true]);
    }
  });

  test('every service sets the outbox parking bound (MESSAGING_OUTBOX_UNROUTABLE_MAX_ATTEMPTS) to a value messaging accepts', () => {
    const objects = objectsOf('switchyard (defaults)');
    const services = objects.filter((obj) => obj.kind === 'Deployment' && (obj.metadata.labels?.['app.kubernetes.io/name'] ?? '') in SERVICES);
    expect(services.length).toBeGreaterThan(0);
    for (const deployment of services) {
      const config = objects.find((obj) => obj.kind === 'ConfigMap' && obj.metadata.name === deployment.metadata.name)!;
      const value = config.data?.MESSAGING_OUTBOX_UNROUTABLE_MAX_ATTEMPTS;
      const parsed = messagingConfigShape.MESSAGING_OUTBOX_UNROUTABLE_MAX_ATTEMPTS.safeParse(value);
      expect([deployment.metadata.name, value, parsed.success]).toEqual([deployment.metadata.name, '20', true]);
    }
  });
});
