// The Postgres connection budget (charts/user-service/values.yaml, databasePool): for every shipped scenario, both
// services at their most pods (max replicas + the rolling update's surge) times what each pod opens, plus the
// migration Jobs, fit in the bundled Postgres's max_connections minus superuser_reserved_connections. The operator
// opens no Postgres connection; the services' roles are not superusers, so the reserved slots are not theirs.
import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import { MESSAGING_DATABASE_CONNECTIONS } from '@switchyard/messaging';
import { helmAsync } from '@switchyard/testing';
import { existsSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseAllDocuments } from 'yaml';
import { chartWorkspace, type ChartWorkspace } from './chart-workspace.js';
import {
  connectionBudget,
  type ConnectionBudget,
  describeBudget,
  type K8sObject,
  migrationJobs,
  postgresLimits,
  type PostgresLimits,
  SERVICE_NAMES,
  servicePods,
} from './connection-budget.js';

const repoRoot = fileURLToPath(new URL('../..', import.meta.url));
const chartsDir = path.join(repoRoot, 'charts');

/** Every ci/*-values.yaml of the service charts and the umbrella, the umbrella's defaults and k8s/values-dev.yaml. */
const scenarios: { chart: string; valuesFile?: string; label: string }[] = [...SERVICE_NAMES, 'switchyard'].flatMap((chart) => {
  const ciDir = path.join(chartsDir, chart, 'ci');
  const files = existsSync(ciDir) ? readdirSync(ciDir).filter((file) => file.endsWith('-values.yaml')).sort() : [];
  return [{ chart, label: `${chart} (defaults)` }, ...files.map((file) => ({ chart, valuesFile: path.join(ciDir, file), label: `${chart} ci/${file}` }))];
});
scenarios.push({ chart: 'switchyard', valuesFile: path.join(repoRoot, 'k8s/values-dev.yaml'), label: 'switchyard k8s/values-dev.yaml' });

let workspace: ChartWorkspace;
let bundledPostgres: PostgresLimits;
const defaultsOf = new Map<string, K8sObject[]>();

async function render(chart: string, valuesFiles: string[] = []): Promise<K8sObject[]> {
  const manifest = await helmAsync(['template', 'sy', path.join(workspace.dir, chart), '--namespace', 'switchyard', ...valuesFiles.flatMap((file) => ['--values', file])]);
  return parseAllDocuments(manifest)
    .map((doc) => doc.toJS() as K8sObject | null)
    .filter((obj): obj is K8sObject => obj !== null);
}

/**
 * The release's budget. A service chart installed alone shares the bundled Postgres with the other service at its
 * chart's defaults; a release without its own Postgres (external, or a service chart) is held to the bundled one's.
 */
async function budgetOf(chart: string, valuesFiles: string[] = []): Promise<ConnectionBudget> {
  const objects = await render(chart, valuesFiles);
  let services = servicePods(objects);
  let jobs = migrationJobs(objects);
  if (chart !== 'switchyard') {
    const other = defaultsOf.get(SERVICE_NAMES.find((name) => name !== chart)!)!;
    services = [...services, ...servicePods(other)];
    jobs += migrationJobs(other);
  }
  return connectionBudget(services, jobs, postgresLimits(objects) ?? bundledPostgres);
}

beforeAll(async () => {
  workspace = await chartWorkspace();
  bundledPostgres = postgresLimits(await render('postgres'))!;
  for (const name of SERVICE_NAMES) defaultsOf.set(name, await render(name));
}, 180_000);

afterAll(() => workspace?.remove());

describe('the Postgres connection budget', () => {
  test('the bundled Postgres sets max_connections and superuser_reserved_connections explicitly', () => {
    expect(bundledPostgres).toEqual({ maxConnections: expect.any(Number), superuserReservedConnections: expect.any(Number) });
  });

  test.each(scenarios.map((scenario) => [scenario.label, scenario] as const))('%s fits in the bundled Postgres', async (_label, scenario) => {
    const budget = await budgetOf(scenario.chart, scenario.valuesFile ? [scenario.valuesFile] : []);
    if (!scenario.label.startsWith('switchyard ci/minimal')) expect(budget.services.length).toBeGreaterThan(0);
    for (const pods of budget.services) {
      // The chart documents what the pods really open: its pool setting plus messaging's own connections.
      expect([pods.service, pods.documentedPerPod]).toEqual([pods.service, pods.connectionsPerPod]);
    }
    expect([describeBudget(budget), budget.demand <= budget.available]).toEqual([describeBudget(budget), true]);
  });

  test("each pod's documented connections are its pool plus messaging's relay pool, LISTEN and metrics connections", async () => {
    const [pods] = servicePods(defaultsOf.get('user-service')!);
    expect(MESSAGING_DATABASE_CONNECTIONS).toBe(4);
    expect(pods).toMatchObject({ service: 'user-service', maxPods: 3, connectionsPerPod: 15 + 4, documentedPerPod: 19 });
  });

  test('a values file that lets the services outgrow Postgres is caught', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'switchyard-budget-'));
    try {
      const overBudget = path.join(dir, 'over-budget-values.yaml');
      writeFileSync(overBudget, ['user-service:', '  autoscaling: { enabled: true, maxReplicas: 12 }', 'order-service:', '  databasePool: { max: 30 }', ''].join('\n'));
      const budget = await budgetOf('switchyard', [overBudget]);
      // user-service (12 + 1) x 19 + order-service (2 + 1) x 34 + 2 Jobs = 351 > 297.
      expect({ demand: budget.demand, available: budget.available }).toEqual({ demand: 13 * 19 + 3 * 34 + 2, available: 297 });
      expect(budget.demand).toBeGreaterThan(budget.available);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
