import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { CoordinationV1Api } from '@kubernetes/client-node';
import {
  createTestVhost,
  freePort,
  type ServiceProcess,
  startServiceProcess,
  type TestVhost,
  waitFor,
} from '@switchyard/testing';
import { fileURLToPath } from 'node:url';
import { forbiddenIn, type OperatorCluster, startOperatorCluster } from './operator-harness.js';

// The built operator as the process Kubernetes runs (`node dist/main.js`), configured only by its environment and a
// kubeconfig file of its ServiceAccount (bound to the chart's RBAC) on the real API server. Needs `npm run build` first.

const MAIN = fileURLToPath(new URL('../dist/main.js', import.meta.url));
const METRIC_NAMES = [
  'reconcile_total',
  'reconcile_duration_seconds',
  'topology_operator_leader',
  'topology_operator_workqueue_depth',
];

let cluster: OperatorCluster;
let vhost: TestVhost;
const processes: ServiceProcess[] = [];

beforeAll(async () => {
  cluster = await startOperatorCluster('process');
  vhost = await createTestVhost('operator_process');
}, 60_000);

afterAll(async () => {
  for (const child of processes)
    if (child.child.exitCode === null && child.child.signalCode === null) child.child.kill('SIGKILL');
  await vhost?.drop();
  await cluster?.drop();
}, 90_000);

function start(env: NodeJS.ProcessEnv): ServiceProcess {
  const child = startServiceProcess(MAIN, env);
  processes.push(child);
  return child;
}

describe('the operator process', () => {
  it('exits 1 with a one-line error naming a bad variable', async () => {
    const child = start({
      RABBITMQ_URL: vhost.identityUrl('switchyard-operator'),
      RESYNC_SECONDS: 'soon',
      KUBECONFIG: cluster.kubeconfigPath,
    });
    expect(await child.exit).toEqual({ code: 1, signal: null });
    expect(child.output().trim()).toBe(
      'switchyard-topology-operator: RESYNC_SECONDS must be an integer from 1 to 86400, got "soon"',
    );
  }, 30_000);

  it('exits 1 when RABBITMQ_URL is missing', async () => {
    const child = start({ KUBECONFIG: cluster.kubeconfigPath });
    expect(await child.exit).toEqual({ code: 1, signal: null });
    expect(child.output()).toMatch(/RABBITMQ_URL is required/);
  }, 30_000);

  it('serves /healthz, /readyz and /metrics, leads, and on SIGTERM releases the Lease and exits 0', async () => {
    const port = await freePort();
    const child = start({
      RABBITMQ_URL: vhost.identityUrl('switchyard-operator'),
      KUBECONFIG: cluster.kubeconfigPath,
      WATCH_NAMESPACE: cluster.namespace,
      POD_NAME: 'topology-operator-0',
      POD_NAMESPACE: cluster.namespace,
      PORT: String(port),
      LOG_LEVEL: 'info',
    });
    const base = `http://127.0.0.1:${port}`;
    await waitFor(
      '/healthz 200',
      async () => (await fetch(`${base}/healthz`).catch(() => undefined))?.status === 200,
      30_000,
    ).catch((error: Error) => {
      throw new Error(`${error.message}\n${child.output()}`);
    });
    await waitFor('/readyz 200', async () => (await fetch(`${base}/readyz`)).status === 200, 30_000);
    const metrics = await waitFor(
      'the leader gauge at 1',
      async () => {
        const text = await (await fetch(`${base}/metrics`)).text();
        return /^topology_operator_leader\{[^}]*\} 1$/m.test(text) ? text : undefined;
      },
      30_000,
    );
    for (const name of METRIC_NAMES) expect(metrics).toMatch(new RegExp(`^# TYPE ${name} `, 'm'));
    expect(metrics).toMatch(/^reconcile_total\{result="error",service="switchyard-topology-operator"\} 0$/m);
    expect((await fetch(`${base}/nope`)).status).toBe(404);

    const coordination = cluster.admin.makeApiClient(CoordinationV1Api);
    const held = await coordination.readNamespacedLease({
      name: 'switchyard-topology-operator',
      namespace: cluster.namespace,
    });
    expect(held.spec?.holderIdentity).toBe('topology-operator-0');

    child.child.kill('SIGTERM');
    expect(await child.exit).toEqual({ code: 0, signal: null });
    const released = await coordination.readNamespacedLease({
      name: 'switchyard-topology-operator',
      namespace: cluster.namespace,
    });
    expect(released.spec?.holderIdentity ?? '').toBe('');
    const messages = child.logLines().map((line) => line.msg);
    expect(messages).toEqual(
      expect.arrayContaining(['topology operator started', 'became leader', 'released the leader lease', 'stopped']),
    );
    // Its ServiceAccount holds exactly the chart's RBAC: a request the server refused would be in the log.
    expect(forbiddenIn(child.logLines())).toEqual([]);
  }, 60_000);
});
