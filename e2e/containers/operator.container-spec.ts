// The operator image run as its pod runs (read-only root, UID 10001, no capabilities), against the machine's
// RabbitMQ and, when one answers, the real Kubernetes API server of this test run.
//
// Which API server: the shared control plane (`npm run kube:up`, or SWITCHYARD_KUBECONFIG as `npm test` sets it)
// when its kubeconfig exists and the server answers /readyz. Then the operator must become ready (informer synced,
// leader) in a namespace of this test's own. Without one, the operator is pointed at a closed port: it must still
// start, answer /healthz and /metrics, and report not-ready on /readyz with the reason, rather than pretend.
// The test prints which of the two it ran.
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import {
  applyCrd,
  type ControlPlane,
  createTestNamespace,
  createTestVhost,
  freePort,
  sharedControlPlane,
  type TestNamespace,
  type TestVhost,
  waitFor,
} from '@switchyard/testing';
import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parse } from 'yaml';
import { docker, DockerScope, image, logsOf, POD_SECURITY, requireImages, stopWithin } from './docker-cli.js';

const CRD = fileURLToPath(
  new URL('../../charts/topology-operator/crds/eventsubscriptions.switchyard.io.yaml', import.meta.url),
);
/** The operator container to /healthz (and, with an API server, /readyz): 60 s on a loaded 2-core machine. */
const START_TIMEOUT_MS = 60_000;

const scope = new DockerScope('operator');
const graceSeconds = (
  parse(readFileSync(new URL('../../charts/topology-operator/values.yaml', import.meta.url), 'utf8')) as {
    terminationGracePeriodSeconds: number;
  }
).terminationGracePeriodSeconds;
let vhost: TestVhost | undefined;
let plane: ControlPlane | undefined;
let namespace: TestNamespace | undefined;
let kubeconfigDir: string;
let container: string;
let base: string;

beforeAll(async () => {
  await requireImages(['topology-operator']);
  vhost = await createTestVhost('containers_operator');
  plane = await sharedControlPlane().catch((error: Error) => {
    process.stdout.write(
      `operator image: no Kubernetes API server (${error.message}); checking the honest not-ready state\n`,
    );
    return undefined;
  });
  kubeconfigDir = mkdtempSync(join(tmpdir(), 'sy-ctest-kubeconfig-'));
  const kubeconfig = join(kubeconfigDir, 'kubeconfig');
  if (plane) {
    process.stdout.write(`operator image: against the real API server ${plane.server}; expecting readiness\n`);
    await applyCrd(plane, CRD);
    namespace = await createTestNamespace(plane, 'sy-ctest-operator');
    writeFileSync(kubeconfig, readFileSync(plane.kubeconfigPath));
  } else {
    // Port 1 on loopback: refused at once, so the operator's list/watch fails fast and says so.
    const closed = {
      apiVersion: 'v1',
      kind: 'Config',
      clusters: [{ name: 'none', cluster: { server: 'https://127.0.0.1:1', 'insecure-skip-tls-verify': true } }],
      users: [{ name: 'none', user: { token: 'none' } }],
      contexts: [{ name: 'none', context: { cluster: 'none', user: 'none' } }],
      'current-context': 'none',
    };
    writeFileSync(kubeconfig, JSON.stringify(closed));
  }
  // Readable by UID 10001 inside the container; the directory is this test's own and removed afterwards.
  chmodSync(kubeconfigDir, 0o755);
  chmodSync(kubeconfig, 0o644);

  const port = await freePort();
  base = `http://127.0.0.1:${port}`;
  const ns = namespace?.name ?? 'default';
  container = await scope.start('operator', [
    ...POD_SECURITY,
    '--network',
    'host',
    '-v',
    `${kubeconfig}:/etc/switchyard/kubeconfig:ro`,
    '-e',
    'KUBECONFIG=/etc/switchyard/kubeconfig',
    '-e',
    // Its own broker identity, as in production (no administrator tag).
    `RABBITMQ_URL=${vhost.identityUrl('switchyard-operator')}`,
    '-e',
    `PORT=${port}`,
    '-e',
    `WATCH_NAMESPACE=${ns}`,
    '-e',
    `POD_NAMESPACE=${ns}`,
    '-e',
    'POD_NAME=topology-operator-ctest',
    image('topology-operator'),
  ]);
}, 180_000);

afterAll(async () => {
  await scope.cleanup();
  rmSync(kubeconfigDir, { recursive: true, force: true });
  await namespace?.drop();
  await vhost?.drop();
}, 120_000);

async function get(path: string): Promise<{ status: number; text: string } | undefined> {
  try {
    const response = await fetch(`${base}${path}`, { signal: AbortSignal.timeout(5_000) });
    return { status: response.status, text: await response.text() };
  } catch {
    return undefined;
  }
}

describe('the topology-operator image, run as its pod runs', () => {
  it(
    'starts and answers /healthz and /metrics',
    async () => {
      await waitFor('/healthz 200', async () => (await get('/healthz'))?.status === 200, START_TIMEOUT_MS, 250).catch(
        async (error: Error) => {
          throw new Error(`${error.message}\n--- docker logs ${container}:\n${await logsOf(container)}`);
        },
      );
      const metrics = await get('/metrics');
      expect(metrics?.status).toBe(200);
      expect(metrics?.text).toMatch(/^# TYPE topology_operator_leader /m);
      expect((await docker(['inspect', '--format', '{{.State.Running}} {{.Config.User}}', container])).trim()).toBe(
        'true 10001:10001',
      );
    },
    START_TIMEOUT_MS + 10_000,
  );

  it(
    'reports readiness honestly: ready with an API server, 503 with the reason without one',
    async () => {
      if (plane) {
        // Ready once the informer has synced; leadership is acquired on its own schedule (a Lease round trip), so
        // the only replica is waited for until it leads too, not sampled at the instant it turns ready.
        const readyAndLeading = async (): Promise<boolean> => {
          const readyz = await get('/readyz');
          return readyz?.status === 200 && (JSON.parse(readyz.text) as { leader?: unknown }).leader === true;
        };
        await waitFor('/readyz 200 and leading', readyAndLeading, START_TIMEOUT_MS, 250).catch(async (error: Error) => {
          throw new Error(
            `${error.message}\n--- /readyz: ${(await get('/readyz'))?.text}\n--- docker logs ${container}:\n${await logsOf(container)}`,
          );
        });
        expect(JSON.parse((await get('/readyz'))!.text)).toMatchObject({
          status: 'ready',
          informerSynced: true,
          leader: true,
        });
      } else {
        // Given time to try: it stays up, keeps failing its list/watch, and says so.
        await waitFor(
          'a failed watch counted on /readyz',
          async () => {
            const readyz = await get('/readyz');
            return readyz?.status === 503 && (JSON.parse(readyz.text) as { watchFailures?: number }).watchFailures! > 0;
          },
          START_TIMEOUT_MS,
          500,
        );
        expect(JSON.parse((await get('/readyz'))!.text)).toMatchObject({
          status: 'not ready',
          informerSynced: false,
          leader: false,
        });
        expect((await get('/healthz'))?.status).toBe(200);
      }
    },
    START_TIMEOUT_MS + 10_000,
  );

  it(
    'docker stop ends it with exit code 0 within the chart’s grace period',
    async () => {
      const stopped = await stopWithin(container, graceSeconds);
      const logs = stopped.exitCode === 0 ? '' : await logsOf(container);
      expect({ exitCode: stopped.exitCode, oomKilled: stopped.oomKilled, logs }).toEqual({
        exitCode: 0,
        oomKilled: false,
        logs: '',
      });
      expect(stopped.elapsedMs).toBeLessThan(graceSeconds * 1000);
    },
    (graceSeconds + 40) * 1000,
  );
});
