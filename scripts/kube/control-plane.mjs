#!/usr/bin/env node
// A real Kubernetes control plane on this machine, for the tests and for trying the charts without a cluster:
// etcd, kube-apiserver and (unless --no-controllers) kube-controller-manager, built from the Go module proxy by
// scripts/engines/build.sh at the release tools/engines/kubernetes pins. What controller-runtime's envtest does,
// with no kubelet: Pods are admitted and stay Pending.
//
//   node scripts/kube/control-plane.mjs up   [--state-dir DIR] [--no-controllers]   (npm run kube:up)
//   node scripts/kube/control-plane.mjs down [--state-dir DIR]                      (npm run kube:down)
//   node scripts/kube/control-plane.mjs status [--state-dir DIR]                    (exit 0 when running)
//   node scripts/kube/control-plane.mjs restart kube-apiserver [--state-dir DIR]    (same command, e.g. for a 410)
//
// `up` prints KUBECONFIG=<absolute path> as its last line (default DIR: k8s/.local, gitignored). The processes
// outlive this script; `down` stops every one of them and waits until they are gone.
import { execFileSync, spawn } from 'node:child_process';
import { closeSync, existsSync, mkdirSync, openSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { request } from 'node:https';
import { createServer } from 'node:net';
import { join, resolve } from 'node:path';
import { ensurePki } from './pki.mjs';

const root = new URL('../..', import.meta.url).pathname;
const STARTUP_DEADLINE_MS = 120_000;
const STOP_DEADLINE_MS = 15_000;

function freePort() {
  return new Promise((done, fail) => {
    const server = createServer();
    server.once('error', fail);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address();
      server.close(() => done(port));
    });
  });
}

const alive = (pid) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

const sleep = (ms) => new Promise((done) => setTimeout(done, ms));

function tail(file, lines = 25) {
  if (!existsSync(file)) return '(no log)';
  return readFileSync(file, 'utf8').trimEnd().split('\n').slice(-lines).join('\n');
}

/** The bin directory of the built engines; builds them on first use (minutes), reuses the cache after. */
function engineBinaries() {
  const out = execFileSync('bash', [join(root, 'scripts/engines/build.sh'), 'kubernetes'], {
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  return out.trim().split('\n').at(-1);
}

function launch(state, name, binary, args) {
  const log = join(state.dir, 'logs', `${name}.log`);
  const fd = openSync(log, 'a');
  // Detached, in its own process group: it outlives `kube:up`, and `down` can signal it and its children at once.
  const child = spawn(binary, args, { detached: true, stdio: ['ignore', fd, fd] });
  closeSync(fd);
  child.unref();
  // The command is recorded so `restart` can start the same process again, and tests can read its flags.
  const entry = { name, pid: child.pid, log, command: [binary, ...args] };
  const at = state.processes.findIndex((p) => p.name === name);
  if (at >= 0) state.processes[at] = entry;
  else state.processes.push(entry);
  writeFileSync(state.pidFile, JSON.stringify(state.processes, null, 2));
}

function get(url, pki, path) {
  return new Promise((done) => {
    const req = request(
      new URL(path, url),
      { ca: readFileSync(pki.ca), cert: readFileSync(pki.adminCert), key: readFileSync(pki.adminKey), timeout: 5000 },
      (res) => {
        let body = '';
        res.on('data', (chunk) => (body += chunk));
        res.on('end', () => done({ status: res.statusCode, body }));
      },
    );
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.on('error', () => done({ status: 0, body: '' }));
    req.end();
  });
}

function kubeconfig(server, pki) {
  const b64 = (file) => readFileSync(file).toString('base64');
  return [
    'apiVersion: v1',
    'kind: Config',
    'clusters:',
    '- name: switchyard-local',
    '  cluster:',
    `    server: ${server}`,
    `    certificate-authority-data: ${b64(pki.ca)}`,
    'users:',
    '- name: switchyard-admin',
    '  user:',
    `    client-certificate-data: ${b64(pki.adminCert)}`,
    `    client-key-data: ${b64(pki.adminKey)}`,
    'contexts:',
    '- name: switchyard-local',
    '  context: {cluster: switchyard-local, user: switchyard-admin, namespace: default}',
    'current-context: switchyard-local',
    '',
  ].join('\n');
}

/**
 * One `up` or `down` at a time per state directory: parallel test runners (or a developer and a test) calling `up`
 * together would otherwise each see the other's half-started processes and stop them. A lock left by a dead process
 * is taken over.
 */
async function withLock(dir, action) {
  const lock = join(dir, 'lock');
  const deadline = Date.now() + STARTUP_DEADLINE_MS + STOP_DEADLINE_MS + 60_000;
  for (;;) {
    try {
      writeFileSync(lock, String(process.pid), { flag: 'wx' });
      break;
    } catch (error) {
      if (error.code !== 'EEXIST') throw error;
      const holder = Number(readFileSync(lock, 'utf8'));
      if (!holder || !alive(holder)) rmSync(lock, { force: true });
      else if (Date.now() > deadline)
        throw new Error(`kube: ${lock} is held by pid ${holder} for too long`, { cause: error });
      else await sleep(250);
    }
  }
  try {
    return await action();
  } finally {
    rmSync(lock, { force: true });
  }
}

function stateOf(dir) {
  return { dir, pidFile: join(dir, 'processes.json'), kubeconfigFile: join(dir, 'kubeconfig'), processes: [] };
}

function runningProcesses(state) {
  if (!existsSync(state.pidFile)) return [];
  return JSON.parse(readFileSync(state.pidFile, 'utf8')).filter((entry) => alive(entry.pid));
}

async function up(dir, { controllers }) {
  const state = stateOf(dir);
  const running = runningProcesses(state);
  if (running.length > 0) {
    if (existsSync(state.kubeconfigFile)) {
      console.error(
        `kube: already running (${running.map((p) => `${p.name} ${p.pid}`).join(', ')}); \`npm run kube:down\` stops it`,
      );
      console.log(`KUBECONFIG=${state.kubeconfigFile}`);
      return;
    }
    await down(dir);
  }
  const bin = engineBinaries();
  // A fresh etcd each time: tests assume an empty cluster. Certificates are kept.
  for (const sub of ['etcd', 'logs']) rmSync(join(dir, sub), { recursive: true, force: true });
  mkdirSync(join(dir, 'logs'), { recursive: true });
  mkdirSync(join(dir, 'pki'), { recursive: true });
  const pki = ensurePki(join(dir, 'pki'));
  const [etcdPort, peerPort, apiPort] = [await freePort(), await freePort(), await freePort()];
  const server = `https://127.0.0.1:${apiPort}`;
  writeFileSync(join(dir, 'admin.kubeconfig'), kubeconfig(server, pki));

  const started = Date.now();
  console.error(
    `kube: starting etcd on 127.0.0.1:${etcdPort}, kube-apiserver on ${server}${controllers ? ', kube-controller-manager' : ''}`,
  );
  launch(state, 'etcd', join(bin, 'etcd'), [
    '--name=switchyard',
    `--data-dir=${join(dir, 'etcd')}`,
    `--listen-client-urls=http://127.0.0.1:${etcdPort}`,
    `--advertise-client-urls=http://127.0.0.1:${etcdPort}`,
    `--listen-peer-urls=http://127.0.0.1:${peerPort}`,
    `--initial-advertise-peer-urls=http://127.0.0.1:${peerPort}`,
    `--initial-cluster=switchyard=http://127.0.0.1:${peerPort}`,
    // Test data: losing it on a machine crash costs nothing, and fsync dominates etcd's latency on a shared disk.
    '--unsafe-no-fsync',
    '--log-level=warn',
  ]);
  launch(state, 'kube-apiserver', join(bin, 'kube-apiserver'), [
    `--etcd-servers=http://127.0.0.1:${etcdPort}`,
    '--bind-address=127.0.0.1',
    '--advertise-address=127.0.0.1',
    `--secure-port=${apiPort}`,
    `--cert-dir=${join(dir, 'pki')}`,
    `--tls-cert-file=${pki.servingCert}`,
    `--tls-private-key-file=${pki.servingKey}`,
    `--client-ca-file=${pki.ca}`,
    '--service-account-issuer=https://kubernetes.default.svc.cluster.local',
    `--service-account-key-file=${pki.serviceAccountPub}`,
    `--service-account-signing-key-file=${pki.serviceAccountKey}`,
    '--service-cluster-ip-range=10.96.0.0/16',
    // As a real cluster: RBAC decides, so a verb a chart does not grant is a real 403.
    '--authorization-mode=RBAC',
    '--profiling=false',
    '--v=1',
  ]);
  if (controllers) {
    launch(state, 'kube-controller-manager', join(bin, 'kube-controller-manager'), [
      `--kubeconfig=${join(dir, 'admin.kubeconfig')}`,
      '--leader-elect=false',
      '--secure-port=0',
      `--root-ca-file=${pki.ca}`,
      `--service-account-private-key-file=${pki.serviceAccountKey}`,
      '--controllers=*',
      '--v=1',
    ]);
  }

  const deadline = started + STARTUP_DEADLINE_MS;
  let ready = false;
  while (Date.now() < deadline) {
    const dead = state.processes.find((p) => !alive(p.pid));
    if (dead) break;
    const readyz = await get(server, pki, '/readyz');
    // With controllers, ready also means they act: the service-account controller made `default` in `default`.
    const controllersActing =
      !controllers ||
      (readyz.status === 200 &&
        (await get(server, pki, '/api/v1/namespaces/default/serviceaccounts/default')).status === 200);
    if (readyz.status === 200 && controllersActing) {
      ready = true;
      break;
    }
    await sleep(500);
  }
  if (!ready) {
    const dead = state.processes.find((p) => !alive(p.pid));
    console.error(
      dead
        ? `kube: ${dead.name} exited during startup`
        : `kube: the control plane was not ready within ${STARTUP_DEADLINE_MS / 1000} s; stopping it`,
    );
    for (const p of state.processes) console.error(`\n--- last lines of ${p.log} ---\n${tail(p.log)}`);
    await down(dir);
    process.exitCode = 1;
    return;
  }
  writeFileSync(state.kubeconfigFile, kubeconfig(server, pki));
  console.error(
    `kube: ready in ${((Date.now() - started) / 1000).toFixed(1)} s (${state.processes.map((p) => `${p.name} pid ${p.pid}`).join(', ')}; logs in ${join(dir, 'logs')})`,
  );
  console.log(`KUBECONFIG=${state.kubeconfigFile}`);
}

async function down(dir) {
  const state = stateOf(dir);
  const running = runningProcesses(state);
  // In reverse order of start, each as a process group: the controller manager and the API server finish their
  // requests while etcd still answers, then etcd goes.
  for (const p of [...running].reverse()) await stop(p);
  rmSync(state.pidFile, { force: true });
  rmSync(state.kubeconfigFile, { force: true });
  console.error(
    running.length ? `kube: stopped ${running.map((p) => p.name).join(', ')}` : 'kube: nothing was running',
  );
}

/** SIGTERM to the process group, SIGKILL after STOP_DEADLINE_MS; resolves once it is gone. */
async function stop(p) {
  signal(p, 'SIGTERM');
  const deadline = Date.now() + STOP_DEADLINE_MS;
  while (alive(p.pid) && Date.now() < deadline) await sleep(100);
  if (alive(p.pid)) {
    console.error(`kube: ${p.name} (pid ${p.pid}) ignored SIGTERM for ${STOP_DEADLINE_MS / 1000} s; killing it`);
    signal(p, 'SIGKILL');
    while (alive(p.pid)) await sleep(50);
  }
}

/**
 * Stops one process of a running control plane and starts it again with the same command (same ports, certificates
 * and data), as a crash or an upgrade would; for kube-apiserver, resolves once it answers /readyz again. A restarted
 * API server's watch cache starts afresh at etcd's current revision, which is how a test gets a real 410.
 */
async function restart(dir, name) {
  const state = stateOf(dir);
  state.processes = JSON.parse(readFileSync(state.pidFile, 'utf8'));
  const p = state.processes.find((entry) => entry.name === name && alive(entry.pid));
  if (!p) throw new Error(`kube: no running ${name} in ${state.pidFile}`);
  await stop(p);
  const [binary, ...args] = p.command;
  launch(state, name, binary, args);
  if (name !== 'kube-apiserver') return;
  const pki = ensurePki(join(dir, 'pki'));
  const server = args.find((arg) => arg.startsWith('--secure-port=')).replace('--secure-port=', 'https://127.0.0.1:');
  const deadline = Date.now() + STARTUP_DEADLINE_MS;
  while ((await get(server, pki, '/readyz')).status !== 200) {
    if (Date.now() > deadline)
      throw new Error(
        `kube: the restarted kube-apiserver was not ready within ${STARTUP_DEADLINE_MS / 1000} s:\n${tail(p.log)}`,
      );
    await sleep(500);
  }
  console.error(`kube: restarted ${name}`);
}

function signal(p, name) {
  try {
    process.kill(-p.pid, name);
  } catch {
    /* already gone */
  }
}

const [command, ...rest] = process.argv.slice(2);
const option = (name) => {
  const at = rest.indexOf(name);
  return at >= 0 ? rest[at + 1] : undefined;
};
const dir = resolve(option('--state-dir') ?? join(root, 'k8s/.local'));
mkdirSync(dir, { recursive: true });
if (command === 'up') await withLock(dir, () => up(dir, { controllers: !rest.includes('--no-controllers') }));
else if (command === 'down') await withLock(dir, () => down(dir));
else if (command === 'restart') await withLock(dir, () => restart(dir, rest[0]));
else if (command === 'status') {
  // Exit 0 when this state directory's control plane is running.
  const running = runningProcesses(stateOf(dir));
  console.error(
    running.length ? `kube: running (${running.map((p) => `${p.name} ${p.pid}`).join(', ')})` : 'kube: not running',
  );
  process.exitCode = running.length ? 0 : 1;
} else {
  console.error('usage: control-plane.mjs up|down|status|restart <process> [--state-dir DIR] [--no-controllers]');
  process.exitCode = 2;
}
