import { describe, expect, test } from '@jest/globals';
import { Ajv, type ValidateFunction } from 'ajv';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parse } from 'yaml';

const repoRoot = fileURLToPath(new URL('../..', import.meta.url));
const read = (file: string) => readFileSync(path.join(repoRoot, file), 'utf8');

interface Artifact {
  image: string;
  context?: string;
  docker?: { dockerfile?: string; buildArgs?: Record<string, string> };
  sync?: unknown;
}
interface HelmRelease {
  name: string;
  chartPath?: string;
  valuesFiles?: string[];
  namespace?: string;
  createNamespace?: boolean;
  skipBuildDependencies?: boolean;
  setValues?: Record<string, unknown>;
  setValueTemplates?: Record<string, string>;
}
interface PortForward {
  resourceType: string;
  resourceName: string;
  namespace?: string;
  port: number | string;
  localPort?: number;
}
interface SkaffoldConfig {
  apiVersion: string;
  build: { artifacts: Artifact[]; tagPolicy?: unknown };
  deploy: { helm: { releases: HelmRelease[] } };
  portForward: PortForward[];
  profiles: Array<{ name: string; patches?: Array<{ op: string; path: string; value?: unknown }>; portForward?: PortForward[] }>;
}

/** The images the charts deploy (contract with charts/): image → chart (= workspace under services/). */
const contractImages = { 'switchyard/user-service': 'user-service', 'switchyard/order-service': 'order-service', 'switchyard/topology-operator': 'topology-operator' } as const;
/** NodePort → host port on kind (contract with k8s/values-dev.yaml). */
const kindPorts = { 30001: 3001, 30002: 3002, 30300: 3000, 30686: 16686, 30090: 9090, 31672: 15672 } as const;

const schema = JSON.parse(read('k8s/schemas/skaffold-v4beta14.json')) as object;
const validate: ValidateFunction = new Ajv({ strict: false, allErrors: true }).compile(schema);
const config = parse(read('skaffold.yaml')) as SkaffoldConfig;

describe('skaffold.yaml', () => {
  test('is valid against the committed Skaffold v4beta14 schema', () => {
    expect(config.apiVersion).toBe('skaffold/v4beta14');
    expect(validate(config) ? [] : validate.errors).toEqual([]);
  });

  test('the schema rejects what skaffold would reject (a misspelt key, a wrong type)', () => {
    const misspelt = structuredClone(config) as unknown as { deploy: { helm: { releases: Array<Record<string, unknown>> } } };
    misspelt.deploy.helm.releases[0]!['chartpath'] = 'charts/switchyard';
    expect(validate(misspelt)).toBe(false);
    const wrongType = structuredClone(config) as unknown as { build: { artifacts: unknown } };
    wrongType.build.artifacts = 'switchyard/user-service';
    expect(validate(wrongType)).toBe(false);
  });

  test('builds the images the service and operator charts deploy by default', () => {
    for (const artifact of config.build.artifacts) {
      const service = contractImages[artifact.image as keyof typeof contractImages];
      const values = parse(read(`charts/${service}/values.yaml`)) as { image: { repository: string } };
      expect(values.image.repository).toBe(artifact.image);
    }
  });

  test('tags images by content, so an unchanged service keeps its tag and is not rolled', () => {
    expect(config.build.tagPolicy).toEqual({ inputDigest: {} });
  });

  test('builds exactly the contract images (two services, the operator), each from its Dockerfile with the repository root as context', () => {
    const artifacts = config.build.artifacts;
    expect(artifacts.map((a) => a.image).sort()).toEqual(Object.keys(contractImages).sort());
    for (const artifact of artifacts) {
      const service = contractImages[artifact.image as keyof typeof contractImages];
      expect(artifact.context ?? '.').toBe('.');
      // Both services from the one service Dockerfile; the operator (no database) from its own.
      expect(artifact.docker?.dockerfile).toBe(service === 'topology-operator' ? 'services/topology-operator/Dockerfile' : 'services/service.Dockerfile');
      expect(existsSync(path.join(repoRoot, artifact.docker!.dockerfile!))).toBe(true);
      // The images run compiled dist/ with plain node: syncing src/ into them would do nothing.
      expect(artifact.sync).toBeUndefined();
    }
  });

  test('passes each service its workspace and the port its chart runs it on as build args; every image gets VERSION dev', () => {
    for (const artifact of config.build.artifacts) {
      const service = contractImages[artifact.image as keyof typeof contractImages];
      const buildArgs = artifact.docker?.buildArgs ?? {};
      expect(buildArgs['VERSION']).toBe('dev');
      if (service === 'topology-operator') {
        expect(Object.keys(buildArgs)).toEqual(['VERSION']);
        continue;
      }
      const values = parse(read(`charts/${service}/values.yaml`)) as { port: number };
      expect(buildArgs).toEqual({ SERVICE: service, PORT: String(values.port), DESCRIPTION: expect.stringMatching(new RegExp(`^Switchyard ${service}: `)), VERSION: 'dev' });
    }
  });

  test('installs the umbrella chart as release switchyard with the dev values, in its own namespace', () => {
    const releases = config.deploy.helm.releases;
    expect(releases).toHaveLength(1);
    const release = releases[0]!;
    expect(release).toMatchObject({ name: 'switchyard', chartPath: 'charts/switchyard', valuesFiles: ['k8s/values-dev.yaml'], namespace: 'switchyard', createNamespace: true });
    expect(release.skipBuildDependencies ?? false).toBe(false);
  });

  test('wires each built image into its subchart with skaffold image templates', () => {
    const templates = config.deploy.helm.releases[0]!.setValueTemplates ?? {};
    const expected: Record<string, string> = {};
    for (const [image, service] of Object.entries(contractImages)) {
      const key = image.replace(/[^A-Za-z0-9]/g, '_');
      expected[`${service}.image.repository`] = `{{.IMAGE_REPO_${key}}}`;
      expected[`${service}.image.tag`] = `{{.IMAGE_TAG_${key}}}`;
    }
    expect(templates).toEqual(expected);
  });

  test('forwards both APIs, Grafana, Jaeger, Prometheus and RabbitMQ management, never onto a port kind already maps', () => {
    const ports = config.portForward.map((p) => Number(p.port)).sort((a, b) => a - b);
    expect(ports).toEqual([3000, 3001, 3002, 9090, 15672, 16686]);
    const local = config.portForward.map((p) => p.localPort);
    expect(new Set(local).size).toBe(local.length);
    for (const forward of config.portForward) {
      expect(forward).toMatchObject({ resourceType: 'service', namespace: 'switchyard' });
      expect(Object.values(kindPorts)).not.toContain(forward.localPort);
    }
    expect(config.portForward.find((p) => Number(p.port) === 3001)?.resourceName).toBe('switchyard-user-service');
    expect(config.portForward.find((p) => Number(p.port) === 3002)?.resourceName).toBe('switchyard-order-service');
  });

  // The Service names belong to the charts; once they exist, every forward must name a Service they create:
  // "switchyard-<chart>" is the "<release>-<chart>" fullname of a subchart of the umbrella, any other name must be
  // a literal Service name in some chart, exposing the forwarded port.
  (existsSync(path.join(repoRoot, 'charts/switchyard/Chart.yaml')) ? test : test.skip)('every port forward names a Service the charts create', () => {
    const umbrella = parse(read('charts/switchyard/Chart.yaml')) as { dependencies?: Array<{ name: string; alias?: string }> };
    const subcharts = (umbrella.dependencies ?? []).map((d) => d.alias ?? d.name);
    const literalServices = readdirSync(path.join(repoRoot, 'charts'))
      .filter((chart) => existsSync(path.join(repoRoot, 'charts', chart, 'templates')))
      .flatMap((chart) =>
        readdirSync(path.join(repoRoot, 'charts', chart, 'templates'))
          .filter((file) => file.endsWith('.yaml'))
          .flatMap((file) => read(`charts/${chart}/templates/${file}`).split(/^---$/m)),
      )
      .filter((doc) => /^kind: Service$/m.test(doc));
    const forwards = [...config.portForward, ...config.profiles.flatMap((p) => p.portForward ?? [])];
    for (const { resourceName, port } of forwards) {
      const subchart = resourceName.replace(/^switchyard-/, '');
      if (resourceName.startsWith('switchyard-') && subcharts.includes(subchart)) continue;
      const docs = literalServices.filter((doc) => new RegExp(`^  name: ${resourceName}$`, 'm').test(doc));
      const exposes = docs.some((doc) => new RegExp(`^\\s+port: ${port}$`, 'm').test(doc));
      expect({ resourceName, port, exposes }).toEqual({ resourceName, port, exposes: true });
    }
  });

  test('profile minimal turns observability (and trace export) off and forwards only what it deploys', () => {
    const minimal = config.profiles.find((p) => p.name === 'minimal');
    expect(minimal?.patches).toContainEqual({
      op: 'add',
      path: '/deploy/helm/releases/0/setValues',
      value: { 'observability.enabled': false, 'user-service.otel.endpoint': '', 'order-service.otel.endpoint': '' },
    });
    const ports = (minimal?.portForward ?? []).map((p) => Number(p.port));
    expect(ports).not.toContain(3000);
    expect(ports).not.toContain(9090);
    expect(ports).not.toContain(16686);
    expect(ports).toEqual(expect.arrayContaining([3001, 3002]));
  });
});

describe('k8s/kind-config.yaml', () => {
  const kind = parse(read('k8s/kind-config.yaml')) as {
    kind: string;
    apiVersion: string;
    name: string;
    nodes: Array<{ role: string; extraPortMappings?: Array<{ containerPort: number; hostPort: number; protocol?: string }> }>;
  };

  test('is a kind cluster named switchyard with one control-plane node', () => {
    expect(kind).toMatchObject({ kind: 'Cluster', apiVersion: 'kind.x-k8s.io/v1alpha4', name: 'switchyard' });
    expect(kind.nodes.map((n) => n.role)).toEqual(['control-plane']);
  });

  test('maps each NodePort of the dev values to its host port', () => {
    const mappings = Object.fromEntries((kind.nodes[0]!.extraPortMappings ?? []).map((m) => [m.containerPort, m.hostPort]));
    expect(mappings).toEqual(kindPorts);
    for (const mapping of kind.nodes[0]!.extraPortMappings ?? []) expect(mapping.protocol ?? 'TCP').toBe('TCP');
  });

  // k8s/values-dev.yaml belongs to the charts; once it exists, its NodePorts must be the ones kind maps.
  const valuesDev = path.join(repoRoot, 'k8s/values-dev.yaml');
  (existsSync(valuesDev) ? test : test.skip)('k8s/values-dev.yaml uses the NodePorts kind maps', () => {
    const nodePorts = [...read('k8s/values-dev.yaml').matchAll(/nodePort:\s*(\d+)/g)].map((m) => Number(m[1]));
    for (const port of nodePorts) expect(Object.keys(kindPorts)).toContain(String(port));
    expect(nodePorts).toEqual(expect.arrayContaining([30001, 30002]));
  });
});

// The umbrella chart belongs to the charts; once it exists, the subchart names must be the setValueTemplates keys.
const umbrella = path.join(repoRoot, 'charts/switchyard/Chart.yaml');
(existsSync(umbrella) ? test : test.skip)('charts/switchyard has the user-service, order-service and topology-operator subcharts skaffold sets images on', () => {
  const chart = parse(read('charts/switchyard/Chart.yaml')) as { dependencies?: Array<{ name: string; alias?: string }> };
  const names = (chart.dependencies ?? []).map((d) => d.alias ?? d.name);
  expect(names).toEqual(expect.arrayContaining(Object.values(contractImages)));
});
