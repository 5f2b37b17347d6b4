// The real Kubernetes API server under the tests (etcd + kube-apiserver, and kube-controller-manager where pods
// must be created from workloads), started by scripts/kube/control-plane.mjs from binaries built from the Go
// module proxy. One shared control plane serves a whole test run (`npm test` starts it; `npm run kube:up` for a
// narrowed run); each test file works in namespaces of its own. A test that must restart or break the server
// starts a private one.
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { request } from 'node:https';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { parse } from 'yaml';
import { k8sTools } from './helm.js';

const CONTROL_PLANE_SCRIPT = join(import.meta.dirname, '..', '..', '..', 'scripts', 'kube', 'control-plane.mjs');
const SHARED_KUBECONFIG = join(import.meta.dirname, '..', '..', '..', 'k8s', '.local', 'kubeconfig');
/** Starting one takes 10–30 s on a loaded 2-core machine; the script itself gives up after 120 s. */
const START_TIMEOUT_MS = 180_000;

export interface ControlPlane {
  /** Admin kubeconfig (client certificate in group system:masters). */
  kubeconfigPath: string;
  /** e.g. `https://127.0.0.1:41234`. */
  server: string;
  /** PEM of the CA that signed the server's certificate. */
  caPem: string;
  /** Runs kubectl as admin; resolves with stdout, rejects with stderr in the message. */
  kubectl(args: readonly string[], input?: string): Promise<string>;
  /** Stops a private control plane; does nothing for the shared one. */
  stop(): Promise<void>;
}

interface KubeconfigFile {
  clusters: Array<{ cluster: { server: string; 'certificate-authority-data': string } }>;
}

function run(command: string, args: readonly string[], input?: string, timeoutMs = 120_000): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = execFile(
      command,
      args,
      { encoding: 'utf8', maxBuffer: 64 * 1024 * 1024, timeout: timeoutMs },
      (error, stdout, stderr) => {
        if (error)
          reject(
            new Error(`${command.split('/').at(-1)} ${args.join(' ')} failed: ${(stderr || error.message).trim()}`),
          );
        else resolve(stdout);
      },
    );
    if (input !== undefined) child.stdin?.end(input);
  });
}

function readyz(server: string, caPem: string, kubeconfigPath: string): Promise<boolean> {
  const user = (parse(readFileSync(kubeconfigPath, 'utf8')) as { users: Array<{ user: Record<string, string> }> })
    .users[0]!.user;
  const pem = (key: string) => Buffer.from(user[key]!, 'base64');
  return new Promise((resolve) => {
    const req = request(
      new URL('/readyz', server),
      { ca: caPem, cert: pem('client-certificate-data'), key: pem('client-key-data'), timeout: 5000 },
      (res) => {
        res.resume();
        resolve(res.statusCode === 200);
      },
    );
    req.on('timeout', () => req.destroy());
    req.on('error', () => resolve(false));
    req.end();
  });
}

function controlPlaneAt(kubeconfigPath: string, stop: () => Promise<void>): ControlPlane {
  const cluster = (parse(readFileSync(kubeconfigPath, 'utf8')) as KubeconfigFile).clusters[0]!.cluster;
  return {
    kubeconfigPath,
    server: cluster.server,
    caPem: Buffer.from(cluster['certificate-authority-data'], 'base64').toString('utf8'),
    kubectl: (args, input) => run(k8sTools().kubectl, ['--kubeconfig', kubeconfigPath, ...args], input),
    stop,
  };
}

let shared: Promise<ControlPlane> | undefined;
/** Planes this process started itself: only these may be restarted or compacted (the shared one serves others too). */
const privatePlanes = new WeakSet<ControlPlane>();

/**
 * The control plane of this test run: `SWITCHYARD_KUBECONFIG` when set, else the one `npm run kube:up` wrote to
 * k8s/.local/kubeconfig. Fails with what to run when none answers; tests never start it behind the user's back.
 */
export function sharedControlPlane(): Promise<ControlPlane> {
  shared ??= (async () => {
    const path = process.env.SWITCHYARD_KUBECONFIG ?? SHARED_KUBECONFIG;
    const missing =
      'no Kubernetes API server for the tests: run `npm run kube:up` first (npm test starts and stops one itself)';
    if (!existsSync(path)) throw new Error(`${missing}; ${path} does not exist`);
    const plane = controlPlaneAt(path, async () => undefined);
    if (!(await readyz(plane.server, plane.caPem, path)))
      throw new Error(`${missing}; ${plane.server} (from ${path}) does not answer /readyz`);
    return plane;
  })();
  return shared;
}

/** A control plane of the test's own (its own etcd, ports and certificates), for tests that restart or break it. */
export async function startPrivateControlPlane(options: { controllers?: boolean } = {}): Promise<ControlPlane> {
  const stateDir = mkdtempSync(join(tmpdir(), 'sy-kube-'));
  const down = async () => {
    await run(process.execPath, [CONTROL_PLANE_SCRIPT, 'down', '--state-dir', stateDir]).catch(() => undefined);
    rmSync(stateDir, { recursive: true, force: true });
  };
  try {
    const args = [
      CONTROL_PLANE_SCRIPT,
      'up',
      '--state-dir',
      stateDir,
      ...(options.controllers ? [] : ['--no-controllers']),
    ];
    const stdout = await run(process.execPath, args, undefined, START_TIMEOUT_MS);
    const kubeconfigPath = /^KUBECONFIG=(.+)$/m.exec(stdout)?.[1];
    if (!kubeconfigPath) throw new Error(`control-plane.mjs up printed no KUBECONFIG line:\n${stdout}`);
    const plane = controlPlaneAt(kubeconfigPath, down);
    privatePlanes.add(plane);
    return plane;
  } catch (error) {
    await down();
    throw error;
  }
}

/**
 * Installs (or updates) a CustomResourceDefinition from a manifest file and waits until the server serves it.
 * Server-side apply, so parallel test files installing the same CRD neither race nor fail.
 */
export async function applyCrd(plane: ControlPlane, manifestPath: string): Promise<void> {
  await plane.kubectl([
    'apply',
    '--server-side',
    '--force-conflicts',
    '--field-manager=switchyard-tests',
    '-f',
    manifestPath,
  ]);
  await plane.kubectl(['wait', '--for=condition=Established', '--timeout=60s', '-f', manifestPath]);
}

export interface TestNamespace {
  name: string;
  /** Deletes the namespace and waits until the server has removed everything in it (bounded). */
  drop(): Promise<void>;
}

/** A namespace of the test's own, `<prefix>-<random>`, with optional labels (e.g. Pod Security levels). */
export async function createTestNamespace(
  plane: ControlPlane,
  prefix: string,
  labels: Record<string, string> = {},
): Promise<TestNamespace> {
  const name = `${prefix}-${randomBytes(3).toString('hex')}`.toLowerCase().slice(0, 63);
  const manifest = {
    apiVersion: 'v1',
    kind: 'Namespace',
    metadata: { name, labels: { 'switchyard.io/test': 'true', ...labels } },
  };
  await plane.kubectl(['create', '-f', '-'], JSON.stringify(manifest));
  return {
    name,
    drop: async () => {
      await plane
        .kubectl(['delete', 'namespace', name, '--ignore-not-found', '--wait=true', '--timeout=60s'])
        .catch(() => undefined);
    },
  };
}

/**
 * A kubeconfig that authenticates as ServiceAccount `namespace/name` with a token the server issued (TokenRequest),
 * so the server authorises each request by that account's RBAC bindings. Written next to the admin kubeconfig's
 * temp files and returned as a path.
 */
export async function serviceAccountKubeconfig(plane: ControlPlane, namespace: string, name: string): Promise<string> {
  await plane.kubectl(['create', 'serviceaccount', name, '-n', namespace]).catch((error: Error) => {
    if (!/AlreadyExists/.test(error.message)) throw error;
  });
  const token = (await plane.kubectl(['create', 'token', name, '-n', namespace, '--duration=2h'])).trim();
  const dir = mkdtempSync(join(tmpdir(), 'sy-sa-kubeconfig-'));
  const path = join(dir, 'kubeconfig');
  const kubeconfig = {
    apiVersion: 'v1',
    kind: 'Config',
    clusters: [
      {
        name: 'local',
        cluster: { server: plane.server, 'certificate-authority-data': Buffer.from(plane.caPem).toString('base64') },
      },
    ],
    users: [{ name: `${namespace}-${name}`, user: { token } }],
    contexts: [{ name: 'sa', context: { cluster: 'local', user: `${namespace}-${name}`, namespace } }],
    'current-context': 'sa',
  };
  writeFileSync(path, JSON.stringify(kubeconfig));
  return path;
}

/** A process of a control plane as control-plane.mjs records it in `<state dir>/processes.json`. */
interface PlaneProcess {
  name: string;
  command: string[];
}

/** The state directory of a private control plane (others are shared: never restart or compact those). */
function privateStateDir(plane: ControlPlane): string {
  if (!privatePlanes.has(plane))
    throw new Error(
      'only a private control plane (startPrivateControlPlane) may be restarted or compacted: others share the shared one',
    );
  return dirname(plane.kubeconfigPath);
}

/** `http://127.0.0.1:<port>` of a private control plane's etcd (its --listen-client-urls). */
export function etcdUrl(plane: ControlPlane): string {
  const processes = JSON.parse(readFileSync(join(privateStateDir(plane), 'processes.json'), 'utf8')) as PlaneProcess[];
  const flag = processes
    .find((entry) => entry.name === 'etcd')
    ?.command.find((arg) => arg.startsWith('--listen-client-urls='));
  if (!flag) throw new Error(`no etcd with --listen-client-urls in ${privateStateDir(plane)}/processes.json`);
  return flag.slice('--listen-client-urls='.length).split(',')[0]!;
}

/**
 * Compacts a private control plane's etcd at its current revision (physically: the old revisions are gone), through
 * etcd's gRPC gateway. Returns that revision; any resourceVersion below it can no longer be read from etcd.
 */
export async function compactEtcd(plane: ControlPlane): Promise<number> {
  const url = etcdUrl(plane);
  const post = async (path: string, body: unknown): Promise<Record<string, unknown>> => {
    const response = await fetch(`${url}${path}`, {
      method: 'POST',
      body: JSON.stringify(body),
      signal: AbortSignal.timeout(30_000),
    });
    const text = await response.text();
    if (!response.ok) throw new Error(`etcd ${path} answered ${response.status}: ${text}`);
    return JSON.parse(text) as Record<string, unknown>;
  };
  // A range read of one key: its header carries the store's current revision.
  const range = await post('/v3/kv/range', { key: Buffer.from('/').toString('base64') });
  const revision = Number((range.header as { revision?: string } | undefined)?.revision);
  if (!Number.isSafeInteger(revision)) throw new Error(`etcd /v3/kv/range gave no revision: ${JSON.stringify(range)}`);
  await post('/v3/kv/compaction', { revision: String(revision), physical: true });
  return revision;
}

/**
 * Stops a private control plane's kube-apiserver and starts it again with the same command line (same port,
 * certificates and etcd), as an upgrade or a crash would; resolves once it answers /readyz. Its watch cache starts
 * afresh at etcd's current revision, so a watch resuming from an older resourceVersion is answered 410 Gone.
 */
export async function restartApiServer(plane: ControlPlane): Promise<void> {
  await run(
    process.execPath,
    [CONTROL_PLANE_SCRIPT, 'restart', 'kube-apiserver', '--state-dir', privateStateDir(plane)],
    undefined,
    START_TIMEOUT_MS,
  );
}
