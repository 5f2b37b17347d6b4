import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { createTestNamespace, sharedControlPlane, type TestNamespace, waitFor } from '@switchyard/testing';
import { API_GROUP, PLURAL } from '../src/api/v1alpha1/index.js';
import { type OperatorCluster, operatorCanI, startOperatorCluster } from './operator-harness.js';

// Where the operator's ServiceAccount may act, asked of the real API server with `kubectl auth can-i` after the
// chart's rendered RBAC (helm template → kubectl apply) is in effect. By default the chart grants a Role in the
// release namespace only: an operator turned against others (a bug, a crafted EventSubscription, a stolen token)
// cannot patch ConfigMaps, which services load their consumer policy from, in any other namespace. Cluster-wide
// rights come only with `clusterWide: true`.

const SUBSCRIPTIONS = `${PLURAL}.${API_GROUP}`;
let other: TestNamespace;
const clusters: OperatorCluster[] = [];

beforeAll(async () => {
  other = await createTestNamespace(await sharedControlPlane(), 'op-scope-other');
}, 60_000);

afterAll(async () => {
  for (const cluster of clusters) await cluster.drop();
  await other?.drop();
}, 120_000);

describe("the operator's ServiceAccount under the chart's RBAC", () => {
  it('by default (a Role in its namespace) patches ConfigMaps there, and nowhere else', async () => {
    const cluster = await startOperatorCluster('scope');
    clusters.push(cluster);
    const canI = (verb: string, resource: string, namespace: string | undefined) =>
      operatorCanI(cluster, verb, resource, namespace);

    // In its own namespace: everything it needs.
    await waitFor('the Role in effect', async () => (await canI('patch', 'configmaps', cluster.namespace)) === 'yes');
    for (const [verb, resource] of [
      ['get', 'configmaps'],
      ['create', 'configmaps'],
      ['patch', 'configmaps'],
      ['list', SUBSCRIPTIONS],
      ['watch', SUBSCRIPTIONS],
      ['create', 'events'],
    ] as const)
      expect({ verb, resource, answer: await canI(verb, resource, cluster.namespace) }).toEqual({
        verb,
        resource,
        answer: 'yes',
      });

    // In another namespace, and cluster-wide: nothing.
    for (const [verb, resource, namespace] of [
      ['patch', 'configmaps', other.name],
      ['create', 'configmaps', other.name],
      ['get', 'configmaps', other.name],
      ['list', SUBSCRIPTIONS, other.name],
      ['patch', `${SUBSCRIPTIONS}/status`, other.name],
      ['create', 'events', other.name],
      ['patch', 'configmaps', undefined],
      ['list', SUBSCRIPTIONS, undefined],
    ] as const)
      expect({ verb, resource, namespace, answer: await canI(verb, resource, namespace) }).toEqual({
        verb,
        resource,
        namespace,
        answer: 'no',
      });
  }, 120_000);

  it('with clusterWide: true (a ClusterRole) patches ConfigMaps in other namespaces too', async () => {
    const cluster = await startOperatorCluster('scope-wide', { clusterWide: true });
    clusters.push(cluster);
    await waitFor(
      'the ClusterRole in effect',
      async () => (await operatorCanI(cluster, 'patch', 'configmaps', other.name)) === 'yes',
      30_000,
    );
    expect(await operatorCanI(cluster, 'patch', 'configmaps', cluster.namespace)).toBe('yes');
    expect(await operatorCanI(cluster, 'list', SUBSCRIPTIONS, undefined)).toBe('yes');
    // Still no more than the verbs it uses.
    expect(await operatorCanI(cluster, 'delete', 'configmaps', other.name)).toBe('no');
    expect(await operatorCanI(cluster, 'get', 'secrets', other.name)).toBe('no');
  }, 120_000);
});
