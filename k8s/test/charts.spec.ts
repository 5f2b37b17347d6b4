// The Helm charts in charts/, verified without a cluster: lint, render every scenario, validate every object
// against its Kubernetes schema (kubernetes-models) and check the properties the platform relies on.
import { beforeAll, describe, expect, test } from '@jest/globals';
import { helm, helmAsync, HelmError } from '@switchyard/testing';
import * as models from 'kubernetes-models';
import { cpSync, existsSync, lstatSync, mkdtempSync, readdirSync, readFileSync, realpathSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parse, parseAllDocuments } from 'yaml';

const repoRoot = fileURLToPath(new URL('../..', import.meta.url));
const chartsDir = path.join(repoRoot, 'charts');

/** Charts in dependency order: the library first, the umbrella (which packages the others) last. */
const CHARTS = ['switchyard-lib', 'user-service', 'order-service', 'postgres', 'rabbitmq', 'observability', 'switchyard'] as const;
const APP_CHARTS = CHARTS.filter((chart) => chart !== 'switchyard-lib');
const SERVICES = { 'user-service': 3001, 'order-service': 3002 } as const;

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
}
interface PodSpec {
  securityContext?: Record<string, unknown>;
  containers: Container[];
  initContainers?: Container[];
  terminationGracePeriodSeconds?: number;
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
  const stale = deps.some((dep) => {
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
// Kubernetes schemas, by "apiVersion/kind", from kubernetes-models.

type ModelClass = (new (data: unknown) => { validate(): void }) & { apiVersion?: string; kind?: string };
const modelClasses = new Map<string, ModelClass>();
(function register(namespace: unknown, depth: number): void {
  for (const value of Object.values(namespace as Record<string, unknown>)) {
    const candidate = value as ModelClass;
    if (typeof candidate === 'function' && typeof candidate.apiVersion === 'string' && typeof candidate.kind === 'string') {
      modelClasses.set(`${candidate.apiVersion}/${candidate.kind}`, candidate);
    } else if (typeof value === 'object' && value !== null && depth < 2) {
      register(value, depth + 1);
    }
  }
})(models, 0);

/** CRDs of the Prometheus Operator are not in kubernetes-models: checked for their essential shape instead. */
const PROMETHEUS_OPERATOR = 'monitoring.coreos.com/v1';

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
        expect([id, ['ServiceMonitor', 'PrometheusRule'].includes(obj.kind)]).toEqual([id, true]);
        expect([id, typeof obj.spec]).toEqual([id, 'object']);
        continue;
      }
      const Model = modelClasses.get(`${obj.apiVersion}/${obj.kind}`);
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
        expect(container.ports).toEqual([expect.objectContaining({ name: 'http', containerPort: port })]);
        expect(container.startupProbe?.httpGet).toEqual({ path: '/health/startup', port: 'http' });
        expect(container.livenessProbe?.httpGet).toEqual({ path: '/health/live', port: 'http' });
        expect(container.readinessProbe?.httpGet).toEqual({ path: '/health/ready', port: 'http' });
        const config = objectsOf(label).find((obj) => obj.kind === 'ConfigMap' && obj.metadata.name === deployment.metadata.name);
        expect(config?.data?.PORT).toBe(String(port));
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
    for (const file of ['postgres/templates/_helpers.tpl', 'rabbitmq/templates/secret.yaml', 'observability/templates/grafana.yaml']) {
      expect(readFileSync(path.join(chartsDir, file), 'utf8')).toMatch(/lookup "v1" "Secret"/);
    }
  });

  test('the umbrella wires the services to the Secrets postgres and rabbitmq generate', () => {
    const objects = objectsOf('switchyard (defaults)');
    const secrets = new Set(objects.filter((obj) => obj.kind === 'Secret').map((obj) => obj.metadata.name));
    for (const service of Object.keys(SERVICES)) {
      const deployment = objects.find((obj) => obj.kind === 'Deployment' && obj.metadata.name === `sy-${service}`)!;
      const env = (deployment.spec as { template: { spec: PodSpec } }).template.spec.containers[0]!.env!;
      for (const name of ['DATABASE_URL', 'RABBITMQ_URL']) {
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
    expect(script).toContain('REVOKE ALL ON DATABASE :"db" FROM PUBLIC');
    for (const [service, database, role] of [
      ['user-service', 'switchyard_users', 'user_service'],
      ['order-service', 'switchyard_orders', 'order_service'],
    ] as const) {
      expect(script).toContain(`--set=role="${role}" --set=db="${database}"`);
      const secret = objects.find((obj) => obj.kind === 'Secret' && obj.metadata.name === `sy-postgres-${service}`)!;
      expect(secret.stringData?.DATABASE_URL).toMatch(new RegExp(`^postgresql://${role}:[A-Za-z0-9]{32}@sy-postgres\\.switchyard\\.svc:5432/${database}$`));
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
      expect(rendered).toMatchObject({ metrics_path: job.metrics_path, honor_labels: job.honor_labels, kubernetes_sd_configs: [{ role: 'pod', namespaces: { names: ['switchyard'] } }] });
      expect(rendered.relabel_configs.map((rule) => rule.regex)).toEqual(expect.arrayContaining([target.labels.service, target.targets[0]!.split(':')[1]]));
      expect(rendered.relabel_configs.some((rule) => rule.target_label === 'service')).toBe(true);
      expect(SERVICES[target.labels.service as keyof typeof SERVICES]).toBe(Number(target.targets[0]!.split(':')[1]));
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
  });
});
