// The charts' Prometheus Operator objects (ServiceMonitor, PodMonitor, PrometheusRule) validated against the
// operator's own CRD schemas (k8s/schemas/prometheus-operator, see its README), rendered with the options a
// kube-prometheus-stack user sets: namespace, labels, interval, scrapeTimeout, metric relabelings. Also the
// dashboards as sidecar ConfigMaps, and the bundled Prometheus' RabbitMQ scrape jobs. No Prometheus Operator runs
// here: helm-install.spec.ts leaves these kinds out of its server dry runs, so ajv against the CRD schemas is their
// check (strict: an unknown field fails, as the API server's strict field validation would).
import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import { helmAsync } from '@switchyard/testing';
import type { ValidateFunction } from 'ajv';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parse, parseAllDocuments } from 'yaml';
import { chartWorkspace, type ChartWorkspace } from './chart-workspace.js';
import { newAjv, type Schema, toJsonSchema } from './crd-validator.js';

const repoRoot = fileURLToPath(new URL('../..', import.meta.url));
const chartsDir = path.join(repoRoot, 'charts');
const schemasDir = path.join(repoRoot, 'k8s', 'schemas', 'prometheus-operator');
const GROUP_VERSION = 'monitoring.coreos.com/v1';

interface K8sObject {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string; labels?: Record<string, string>; annotations?: Record<string, string> };
  spec?: Record<string, unknown>;
  data?: Record<string, string>;
}
interface Crd {
  spec: { group: string; names: { kind: string }; versions: { name: string; schema: { openAPIV3Schema: Schema } }[] };
}
interface Endpoint {
  port: string;
  path: string;
  params?: Record<string, string[]>;
  interval?: string;
  scrapeTimeout?: string;
  metricRelabelings?: unknown[];
  relabelings?: unknown[];
}

// ---------------------------------------------------------------------------------------------------------------
// The CRD schemas, one validator per kind. The metadata is the API server's to check (kubernetes-models does it in
// charts.spec.ts for built-in kinds); the CRD schema says only `type: object` there.

/**
 * Patterns as ajv takes them: an int-or-string with a `pattern` (e.g. nativeHistogramMinBucketFactor) becomes
 * `anyOf: [integer, string]` beside that pattern; the API server applies it to strings only, so it moves into the
 * string branch (ajv's strict types would refuse it where it stands). Go's `(?i)` is spelled out.
 */
function kubePatternsForAjv(schema: Schema): Schema {
  if (typeof schema !== 'object' || schema === null) return schema;
  const out: Schema = Array.isArray(schema) ? schema : { ...schema };
  for (const [key, value] of Object.entries(out)) {
    if (Array.isArray(value)) out[key] = value.map((item: unknown) => kubePatternsForAjv(item as Schema));
    else if (typeof value === 'object' && value !== null) out[key] = kubePatternsForAjv(value as Schema);
  }
  if (typeof out['pattern'] === 'string' && out['pattern'].includes('(?i)')) out['pattern'] = caseInsensitive(out['pattern']);
  const branches = out['anyOf'] as Schema[] | undefined;
  if (branches && out['type'] === undefined && typeof out['pattern'] === 'string') {
    out['anyOf'] = branches.map((branch) => (branch['type'] === 'string' ? { ...branch, pattern: out['pattern'] } : branch));
    delete out['pattern'];
  }
  return out;
}

/** Go's inline `(?i)` (RE2) has no JavaScript equivalent in a pattern: each letter outside a class becomes [xX]. */
function caseInsensitive(pattern: string): string {
  let out = '';
  let inClass = false;
  const source = pattern.replace('(?i)', '');
  for (let i = 0; i < source.length; i++) {
    const c = source[i]!;
    if (c === '\\') {
      out += c + (source[++i] ?? '');
      continue;
    }
    if (c === '[') inClass = true;
    if (c === ']') inClass = false;
    out += !inClass && /[a-z]/i.test(c) ? `[${c.toLowerCase()}${c.toUpperCase()}]` : c;
  }
  return out;
}

const validators = new Map<string, ValidateFunction>();
for (const file of readdirSync(schemasDir).filter((name) => name.endsWith('.yaml'))) {
  const crd = parse(readFileSync(path.join(schemasDir, file), 'utf8')) as Crd;
  const version = crd.spec.versions.find((candidate) => `${crd.spec.group}/${candidate.name}` === GROUP_VERSION);
  if (!version) throw new Error(`${file} has no ${GROUP_VERSION}`);
  const ajv = newAjv();
  // Server-side apply's merge strategy for a map (atomic or granular): nothing to validate.
  ajv.addKeyword({ keyword: 'x-kubernetes-map-type', schemaType: 'string' });
  validators.set(crd.spec.names.kind, ajv.compile(kubePatternsForAjv(toJsonSchema(version.schema.openAPIV3Schema))));
}

function problems(obj: unknown): string[] {
  const kind = (obj as K8sObject).kind;
  const validate = validators.get(kind);
  if (!validate) return [`no CRD schema for ${kind}`];
  if (validate(JSON.parse(JSON.stringify(obj)))) return [];
  return (validate.errors ?? []).map((error) => `${error.instancePath || '/'} ${error.message ?? ''} ${JSON.stringify(error.params)}`);
}

// ---------------------------------------------------------------------------------------------------------------
// Rendering: every chart with its defaults and each ci/*-values.yaml (as charts.spec.ts does), plus the options
// that must not go in a ci file because helm-install.spec.ts sends ci scenarios to one namespace.

function parseStream(manifest: string): K8sObject[] {
  return parseAllDocuments(manifest)
    .map((doc) => doc.toJS() as K8sObject | null)
    .filter((obj): obj is K8sObject => obj !== null);
}

const APP_CHARTS = readdirSync(chartsDir).filter((chart) => existsSync(path.join(chartsDir, chart, 'Chart.yaml')) && statSync(path.join(chartsDir, chart)).isDirectory() && chart !== 'switchyard-lib');
const scenarios: { label: string; chart: string; args: string[] }[] = APP_CHARTS.flatMap((chart) => {
  const ciDir = path.join(chartsDir, chart, 'ci');
  const files = existsSync(ciDir) ? readdirSync(ciDir).filter((file) => file.endsWith('-values.yaml')).sort() : [];
  return [{ label: `${chart} (defaults)`, chart, args: [] as string[] }, ...files.map((file) => ({ label: `${chart} ci/${file}`, chart, args: ['--values', path.join(ciDir, file)] }))];
});
const KPS_OBSERVABILITY = 'observability ci/kube-prometheus-stack-values.yaml + dashboards in monitoring';
scenarios.push({
  label: KPS_OBSERVABILITY,
  chart: 'observability',
  args: ['--values', path.join(chartsDir, 'observability', 'ci', 'kube-prometheus-stack-values.yaml'), '--set', 'dashboardConfigMaps.namespace=monitoring'],
});
const KPS_RABBITMQ = 'rabbitmq ci/kube-prometheus-stack-values.yaml';

const rendered = new Map<string, K8sObject[]>();
const objectsOf = (label: string): K8sObject[] => {
  const objects = rendered.get(label);
  if (!objects) throw new Error(`${label} was not rendered`);
  return objects;
};
let workspace: ChartWorkspace | undefined;

beforeAll(async () => {
  // A private copy with dependencies built: charts.spec.ts builds them in the repository at the same time.
  workspace = await chartWorkspace();
  const dir = workspace.dir;
  const local = (arg: string) => (arg.startsWith(chartsDir) ? arg.replace(chartsDir, dir) : arg);
  await Promise.all(
    scenarios.map(async (scenario) => {
      const args = scenario.args.map(local);
      rendered.set(scenario.label, parseStream(await helmAsync(['template', 'sy', path.join(dir, scenario.chart), '--namespace', 'switchyard', ...args])));
    }),
  );
}, 240_000);

afterAll(() => workspace?.remove());

const monitoringObjects = () => [...rendered.entries()].flatMap(([label, objects]) => objects.filter((obj) => obj.apiVersion === GROUP_VERSION).map((obj) => ({ label, obj })));

// ---------------------------------------------------------------------------------------------------------------

describe('the Prometheus Operator CRD schemas', () => {
  test('are loaded for ServiceMonitor, PodMonitor and PrometheusRule', () => {
    expect([...validators.keys()].sort()).toEqual(['PodMonitor', 'PrometheusRule', 'ServiceMonitor']);
  });

  test('reject what the operator would: a bad interval, an unknown field, a rule without expr', () => {
    const monitor = { apiVersion: GROUP_VERSION, kind: 'ServiceMonitor', metadata: { name: 'x' }, spec: { selector: {}, endpoints: [{ port: 'http', interval: '30 seconds' }] } };
    expect(problems(monitor).join()).toContain('/spec/endpoints/0/interval');
    expect(problems({ ...monitor, spec: { selector: {}, endpoints: [{ port: 'http', scrapeTimeOut: '10s' }] } }).join()).toContain('additional');
    const rule = { apiVersion: GROUP_VERSION, kind: 'PrometheusRule', metadata: { name: 'x' }, spec: { groups: [{ name: 'g', rules: [{ alert: 'A' }] }] } };
    expect(problems(rule).join()).toContain('expr');
    expect(problems({ ...monitor, spec: { selector: {}, endpoints: [{ port: 'http', interval: '30s' }] } })).toEqual([]);
  });
});

describe('every ServiceMonitor, PodMonitor and PrometheusRule the charts render', () => {
  test('validates against its CRD schema', () => {
    const found = monitoringObjects();
    // The kube-prometheus-stack scenarios render all three kinds at least.
    expect(new Set(found.map(({ obj }) => obj.kind))).toEqual(new Set(['ServiceMonitor', 'PodMonitor', 'PrometheusRule']));
    const invalid = found.map(({ label, obj }) => ({ object: `${label}: ${obj.kind}/${obj.metadata.name}`, problems: problems(obj) })).filter((entry) => entry.problems.length > 0);
    expect(invalid).toEqual([]);
  });
});

describe('RabbitMQ for kube-prometheus-stack (charts/rabbitmq metrics.*)', () => {
  const monitor = (kind: string) => objectsOf(KPS_RABBITMQ).find((obj) => obj.kind === kind)!;
  const endpoints = (obj: K8sObject) => ((obj.spec!['endpoints'] ?? obj.spec!['podMetricsEndpoints']) as Endpoint[]);

  test.each(['ServiceMonitor', 'PodMonitor'])('the %s lives in the given namespace, selects the release namespace, and carries every scrape option', (kind) => {
    const obj = monitor(kind);
    const values = (parse(readFileSync(path.join(chartsDir, 'rabbitmq', 'ci', 'kube-prometheus-stack-values.yaml'), 'utf8')) as { metrics: Record<string, Record<string, unknown>> }).metrics[kind === 'ServiceMonitor' ? 'serviceMonitor' : 'podMonitor']!;
    expect(obj.metadata.namespace).toBe('monitoring');
    expect(obj.metadata.labels?.['release']).toBe('kube-prometheus-stack');
    expect(obj.spec!['namespaceSelector']).toEqual({ matchNames: ['switchyard'] });
    expect(endpoints(obj).map((endpoint) => endpoint.path)).toEqual(['/metrics', '/metrics/detailed']);
    for (const endpoint of endpoints(obj)) {
      expect(endpoint).toMatchObject({ port: 'prometheus', interval: values['interval'], scrapeTimeout: values['scrapeTimeout'] });
      expect(endpoint.metricRelabelings).toEqual(values['metricRelabelings']);
      expect(endpoint.relabelings).toEqual(values['relabelings']);
    }
    expect(endpoints(obj)[1]!.params).toEqual({ family: ['queue_coarse_metrics', 'queue_consumer_count'] });
  });

  test('are off by default', () => {
    expect(objectsOf('rabbitmq (defaults)').filter((obj) => obj.apiVersion === GROUP_VERSION)).toEqual([]);
  });

  test('the metrics port the monitors name exists on the Service and the Pods', () => {
    const objects = objectsOf(KPS_RABBITMQ);
    const service = objects.find((obj) => obj.kind === 'Service' && !obj.metadata.name.endsWith('-headless'))!;
    expect((service.spec!['ports'] as { name: string; port: number }[]).find((port) => port.name === 'prometheus')?.port).toBe(15692);
    const statefulSet = objects.find((obj) => obj.kind === 'StatefulSet')!;
    const containers = (statefulSet.spec!['template'] as { spec: { containers: { ports: { name: string; containerPort: number }[] }[] } }).spec.containers;
    expect(containers[0]!.ports.find((port) => port.name === 'prometheus')?.containerPort).toBe(15692);
  });
});

describe('the services\' and the operator\'s ServiceMonitors for kube-prometheus-stack', () => {
  test.each([
    ['user-service', 'ci/hpa-monitoring-values.yaml'],
    ['order-service', 'ci/hpa-monitoring-values.yaml'],
    ['topology-operator', 'ci/external-broker-monitoring-values.yaml'],
  ])('%s %s: in the given namespace, selecting the release namespace, with scrapeTimeout and metricRelabelings', (chart, file) => {
    const read = (name: string) => (parse(readFileSync(path.join(chartsDir, chart, name), 'utf8')) as { serviceMonitor: Record<string, unknown> }).serviceMonitor;
    const values = { ...read('values.yaml'), ...read(file) };
    const monitor = objectsOf(`${chart} ${file}`).find((obj) => obj.kind === 'ServiceMonitor')!;
    expect(monitor.metadata.namespace).toBe(values['namespace']);
    expect(monitor.spec!['namespaceSelector']).toEqual({ matchNames: ['switchyard'] });
    const [endpoint] = monitor.spec!['endpoints'] as Endpoint[];
    // The services serve /metrics on a port of its own (the metrics Service); the operator on its HTTP port.
    const port = chart === 'topology-operator' ? 'http' : 'metrics';
    expect(endpoint).toMatchObject({ port, path: '/metrics', interval: values['interval'], scrapeTimeout: values['scrapeTimeout'] });
    expect(endpoint!.metricRelabelings).toEqual(values['metricRelabelings']);
  });
});

describe('observability for kube-prometheus-stack (charts/observability)', () => {
  const dashboardsDir = path.join(repoRoot, 'observability', 'grafana', 'dashboards');

  test('the PrometheusRule goes to the given namespace, with the rule groups of observability/ and the given interval', () => {
    const rule = objectsOf(KPS_OBSERVABILITY).find((obj) => obj.kind === 'PrometheusRule')!;
    expect(rule.metadata.namespace).toBe('monitoring');
    expect(rule.metadata.labels?.['release']).toBe('kube-prometheus-stack');
    const files = readdirSync(path.join(repoRoot, 'observability', 'prometheus', 'rules')).filter((file) => file.endsWith('.yml')).sort();
    const groups = files.flatMap((file) => (parse(readFileSync(path.join(repoRoot, 'observability', 'prometheus', 'rules', file), 'utf8')) as { groups: object[] }).groups);
    expect((rule.spec as { groups: unknown[] }).groups).toEqual(groups.map((group) => ({ ...group, interval: '30s' })));
  });

  test('every dashboard is a ConfigMap labelled grafana_dashboard: "1", in the given namespace, byte for byte', () => {
    const maps = objectsOf(KPS_OBSERVABILITY).filter((obj) => obj.kind === 'ConfigMap' && obj.metadata.labels?.['grafana_dashboard'] === '1');
    const files = readdirSync(dashboardsDir).filter((file) => file.endsWith('.json')).sort();
    expect(maps.map((obj) => Object.keys(obj.data!)).flat().sort()).toEqual(files);
    for (const obj of maps) {
      const [file, content] = Object.entries(obj.data!)[0]!;
      expect(content).toBe(readFileSync(path.join(dashboardsDir, file), 'utf8'));
      expect(obj.metadata.namespace).toBe('monitoring');
      expect(obj.metadata.annotations).toEqual({ grafana_folder: 'Switchyard' });
      expect(obj.metadata.name.length).toBeLessThanOrEqual(63);
    }
    expect(objectsOf('observability (defaults)').filter((obj) => obj.metadata.labels?.['grafana_dashboard'])).toEqual([]);
  });

  test('every dashboard offers datasource, namespace and service variables, its queries going through $datasource', () => {
    for (const file of readdirSync(dashboardsDir).filter((name) => name.endsWith('.json'))) {
      const dashboard = JSON.parse(readFileSync(path.join(dashboardsDir, file), 'utf8')) as { templating: { list: { name: string; type: string; datasource?: { uid: string } }[] } };
      const variables = dashboard.templating.list;
      expect([file, variables.find((variable) => variable.name === 'datasource')?.type]).toEqual([file, 'datasource']);
      for (const name of ['namespace', 'service']) expect([file, name, variables.find((variable) => variable.name === name)?.datasource?.uid]).toEqual([file, name, '${datasource}']);
    }
  });
});

describe('the bundled Prometheus scrapes RabbitMQ', () => {
  test('with pod discovery on the broker pods, /metrics and /metrics/detailed on port 15692', () => {
    const config = objectsOf('observability (defaults)').find((obj) => obj.kind === 'ConfigMap' && obj.metadata.name.endsWith('-prometheus-config'))!;
    const jobs = (parse(config.data!['prometheus.yml']!) as { scrape_configs: { job_name: string; metrics_path: string; params?: unknown; relabel_configs: { regex?: string }[] }[] }).scrape_configs;
    const rabbit = jobs.filter((job) => job.job_name.startsWith('rabbitmq'));
    expect(rabbit.map((job) => job.metrics_path)).toEqual(['/metrics', '/metrics/detailed']);
    for (const job of rabbit) expect(job.relabel_configs.map((rule) => rule.regex)).toEqual(expect.arrayContaining(['rabbitmq', '15692']));
    expect(rabbit[1]!.params).toEqual({ family: ['queue_coarse_metrics', 'queue_consumer_count'] });
  });
});
