// CRD upgrades on the real API server (the shared control plane). Helm installs crds/ on the first install and
// never again: a changed schema reaches the cluster through the documented step (charts/README.md, "CRD
// upgrades") run before `helm upgrade`:
//   helm show crds <chart> | kubectl apply --server-side --force-conflicts --field-manager=switchyard-crds -f -
// This test installs chart v1 with its CRD, shows that `helm upgrade` to a v2 whose CRD has an extra field leaves
// the server's CRD as it was, runs the step, and checks that the server now has (and keeps in objects) the new
// field; uninstall keeps the CRD. The chart is a copy whose API group is renamed to one of this test's own, so the
// shared server's real EventSubscription CRD (other test files use it) is never changed.
import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import { createTestNamespace, helmAsync, sharedControlPlane, type ControlPlane, type TestNamespace } from '@switchyard/testing';
import { randomBytes } from 'node:crypto';
import { cpSync, readdirSync, readFileSync, renameSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { parse, stringify } from 'yaml';
import { CRD_NAME } from '@switchyard/topology-operator/api';
import { chartWorkspace, type ChartWorkspace } from './chart-workspace.js';
import { kubectlOutcome } from './kubectl-outcome.js';

const RESTRICTED = { 'pod-security.kubernetes.io/enforce': 'restricted', 'pod-security.kubernetes.io/enforce-version': 'latest' };
const HELM_TIMEOUT = '2m';
/** The field v2 adds to the subscription spec. */
const NEW_FIELD = 'upgradeProbe';

interface Crd {
  metadata: { name: string };
  spec: { group: string; names: Record<string, unknown>; versions: { name: string; schema: { openAPIV3Schema: { properties: { spec: { properties: Record<string, unknown> } } } } }[] };
}

let plane: ControlPlane;
let workspace: ChartWorkspace;
let namespace: TestNamespace;
const group = `t${randomBytes(3).toString('hex')}.crd-upgrade.switchyard.test`;
const crdName = `eventsubscriptions.${group}`;
const release = `crd${randomBytes(2).toString('hex')}`;
let v1Dir: string;
let v2Dir: string;

/** Every file of `dir`, with `switchyard.io` (the API group) replaced by this test's group. */
function renameGroup(dir: string): void {
  for (const entry of readdirSync(dir)) {
    const full = path.join(dir, entry);
    if (statSync(full).isDirectory()) {
      if (entry !== 'charts') renameGroup(full);
    } else if (/\.(ya?ml|tpl|txt)$/.test(entry)) {
      writeFileSync(full, readFileSync(full, 'utf8').replaceAll('switchyard.io', group));
    }
  }
}

function editCrd(chartDir: string, edit: (crd: Crd) => void): void {
  const file = path.join(chartDir, 'crds', `${crdName}.yaml`);
  const crd = parse(readFileSync(file, 'utf8')) as Crd;
  edit(crd);
  writeFileSync(file, stringify(crd));
}

const helmOnPlane = (args: string[]) => helmAsync([...args, '--kubeconfig', plane.kubeconfigPath]);
async function serverSpecFields(): Promise<string[]> {
  const crd = JSON.parse(await plane.kubectl(['get', 'crd', crdName, '-o', 'json'])) as Crd;
  return Object.keys(crd.spec.versions[0]!.schema.openAPIV3Schema.properties.spec.properties).sort();
}
/** The documented step: the chart's crds/, server-side applied. */
async function applyChartCrds(chartDir: string): Promise<void> {
  const crds = await helmAsync(['show', 'crds', chartDir]);
  await plane.kubectl(['apply', '--server-side', '--force-conflicts', '--field-manager=switchyard-crds', '-f', '-'], crds);
  await plane.kubectl(['wait', '--for=condition=Established', '--timeout=60s', `crd/${crdName}`]);
}

beforeAll(async () => {
  [plane, workspace] = await Promise.all([sharedControlPlane(), chartWorkspace()]);
  namespace = await createTestNamespace(plane, 'crd-upgrade', RESTRICTED);
  // v1: the chart as it is, in this test's API group (no short names: they would shadow the real CRD's in kubectl).
  v1Dir = path.join(workspace.dir, 'crd-upgrade-v1');
  cpSync(path.join(workspace.dir, 'topology-operator'), v1Dir, { recursive: true });
  renameSync(path.join(v1Dir, 'crds', `${CRD_NAME}.yaml`), path.join(v1Dir, 'crds', `${crdName}.yaml`));
  renameGroup(v1Dir);
  editCrd(v1Dir, (crd) => {
    delete crd.spec.names['shortNames'];
    delete crd.spec.names['categories'];
  });
  // v2: a new chart version whose CRD accepts one more spec field.
  v2Dir = path.join(workspace.dir, 'crd-upgrade-v2');
  cpSync(v1Dir, v2Dir, { recursive: true });
  writeFileSync(path.join(v2Dir, 'Chart.yaml'), readFileSync(path.join(v2Dir, 'Chart.yaml'), 'utf8').replace(/^version: .*$/m, 'version: 0.2.0'));
  editCrd(v2Dir, (crd) => {
    crd.spec.versions[0]!.schema.openAPIV3Schema.properties.spec.properties[NEW_FIELD] = { type: 'string', maxLength: 63, description: 'Added by the v2 of this test chart.' };
  });
}, 180_000);

afterAll(async () => {
  await helmOnPlane(['uninstall', release, '-n', namespace.name, '--ignore-not-found', '--timeout', HELM_TIMEOUT]).catch(() => undefined);
  await namespace?.drop();
  await plane?.kubectl(['delete', 'crd', crdName, '--ignore-not-found', '--wait=true', '--timeout=60s']).catch(() => undefined);
  workspace?.remove();
}, 180_000);

describe('a changed CRD schema reaches the cluster on upgrade through the documented step', () => {
  test('install v1, upgrade to v2: helm alone leaves the CRD, `helm show crds | kubectl apply --server-side` updates it, uninstall keeps it', async () => {
    await helmOnPlane(['install', release, v1Dir, '-n', namespace.name, '--set', 'broker.existingSecret=', '--set', 'broker.url=amqp://u:p@rabbitmq.invalid:5672/', '--timeout', HELM_TIMEOUT]);
    await plane.kubectl(['wait', '--for=condition=Established', '--timeout=60s', `crd/${crdName}`]);
    const v1Fields = await serverSpecFields();
    expect(v1Fields).not.toContain(NEW_FIELD);
    expect(v1Fields).toEqual(expect.arrayContaining(['service', 'queue', 'events']));
    // The release's default subscriptions were created in this group, against the v1 schema.
    expect(await plane.kubectl(['get', `eventsubscriptions.${group}`, '-n', namespace.name, '-o', 'name'])).toContain('user-service-order-events');

    // Helm never upgrades crds/: the server keeps the v1 schema.
    const upgradeArgs = ['upgrade', release, v2Dir, '-n', namespace.name, '--reuse-values', '--timeout', HELM_TIMEOUT];
    await helmOnPlane(upgradeArgs);
    expect(await serverSpecFields()).toEqual(v1Fields);

    // The documented step, then the upgrade again (it is idempotent).
    await applyChartCrds(v2Dir);
    await helmOnPlane(upgradeArgs);
    expect(await serverSpecFields()).toEqual([...v1Fields, NEW_FIELD].sort());
    // The server now keeps the field in objects (an unknown one it would have pruned).
    const subscription = {
      apiVersion: `${group}/v1alpha1`,
      kind: 'EventSubscription',
      metadata: { name: 'probe' },
      spec: { service: 'user-service', queue: 'user-service.probe', events: [{ type: 'order.placed' }], deletionPolicy: 'Retain', [NEW_FIELD]: 'v2' },
    };
    await plane.kubectl(['create', '-n', namespace.name, '-f', '-'], JSON.stringify(subscription));
    expect(await plane.kubectl(['get', `eventsubscriptions.${group}`, 'probe', '-n', namespace.name, '-o', `jsonpath={.spec.${NEW_FIELD}}`])).toBe('v2');
    const history = await helmOnPlane(['history', release, '-n', namespace.name, '-o', 'json']);
    expect((JSON.parse(history) as { chart: string }[]).map((revision) => revision.chart)).toEqual(['topology-operator-0.1.0', 'topology-operator-0.2.0', 'topology-operator-0.2.0']);

    // Uninstall keeps the CRD (and so every subscription in the cluster).
    await helmOnPlane(['uninstall', release, '-n', namespace.name, '--timeout', HELM_TIMEOUT]);
    expect((await kubectlOutcome(plane, ['get', 'crd', crdName])).code).toBe(0);
    expect(await serverSpecFields()).toContain(NEW_FIELD);
  }, 300_000);

  test('the step works for the umbrella too: `helm show crds charts/switchyard` carries the operator CRD', async () => {
    const crds = await helmAsync(['show', 'crds', path.join(workspace.dir, 'switchyard')]);
    expect(crds).toContain(`name: ${CRD_NAME}`);
  });
});
