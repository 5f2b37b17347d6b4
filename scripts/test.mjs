#!/usr/bin/env node
// `npm test`: type-check (the build), lint, then every unit and integration test against the real
// Postgres (and, with the messaging layer, RabbitMQ). Each test file makes its own database and drops it.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const root = new URL('..', import.meta.url).pathname;

function step(title, command, args, { timeoutMinutes } = {}) {
  console.log(`\n▶ ${title}`);
  const started = Date.now();
  // A bound instead of jest's --forceExit: a test that leaks a socket after failing must not hang CI until its own
  // time limit, but a clean run needs no force (no project leaves a handle open).
  const timeout = timeoutMinutes ? timeoutMinutes * 60_000 : undefined;
  const result = spawnSync(command, args, {
    cwd: root,
    stdio: 'inherit',
    env: process.env,
    timeout,
    killSignal: 'SIGKILL',
  });
  const seconds = ((Date.now() - started) / 1000).toFixed(1);
  if (result.error?.code === 'ETIMEDOUT')
    console.error(`✖ ${title} did not finish within ${timeoutMinutes} minutes (killed)`);
  if (result.status !== 0) {
    console.error(`✖ ${title} failed after ${seconds} s`);
    return false;
  }
  console.log(`✔ ${title} (${seconds} s)`);
  return true;
}

const npm = process.platform === 'win32' ? 'npm.cmd' : 'npm';
if (!step('type-check and build (prisma generate + tsc -b)', npm, ['run', '--silent', 'build'])) process.exit(1);
if (!step('lint (eslint)', npm, ['run', '--silent', 'lint'])) process.exit(1);
if (!step('format (prettier --check)', npm, ['run', '--silent', 'format:check'])) process.exit(1);

// The real Kubernetes API server the operator, CRD and chart tests run against (scripts/kube/control-plane.mjs):
// started here unless `npm run kube:up` already did, and then stopped here too.
console.log('\n▶ Kubernetes control plane (etcd, kube-apiserver, kube-controller-manager)');
const kubeWasRunning =
  spawnSync(process.execPath, ['scripts/kube/control-plane.mjs', 'status'], { cwd: root, stdio: 'ignore' }).status ===
  0;
// The first run on a machine builds the binaries from the Go module proxy (minutes); later runs reuse them.
const kube = spawnSync(process.execPath, ['scripts/kube/control-plane.mjs', 'up'], {
  cwd: root,
  encoding: 'utf8',
  stdio: ['ignore', 'pipe', 'inherit'],
  timeout: 60 * 60_000,
});
const kubeconfig = /^KUBECONFIG=(.+)$/m.exec(kube.stdout ?? '')?.[1];
if (kube.status !== 0 || !kubeconfig) {
  console.error('✖ the Kubernetes control plane did not start (see above)');
  process.exit(1);
}
process.env.SWITCHYARD_KUBECONFIG = kubeconfig;
const stopKube = () => {
  if (!kubeWasRunning)
    spawnSync(process.execPath, ['scripts/kube/control-plane.mjs', 'down'], {
      cwd: root,
      stdio: 'inherit',
      timeout: 60_000,
    });
};

const resultsDir = mkdtempSync(join(tmpdir(), 'switchyard-jest-'));
const resultsFile = join(resultsDir, 'results.json');
const faultsFile = join(resultsDir, 'faults.json');
const jest = [
  '--experimental-vm-modules',
  '--no-warnings=ExperimentalWarning',
  'node_modules/jest/bin/jest.js',
  '--json',
];
const extraArgs = process.argv.slice(2);
const passed = step(
  'unit and integration tests (jest)',
  process.execPath,
  // The fault-injection project runs on its own afterwards; the container tests need built images (npm run test:images).
  [...jest, `--outputFile=${resultsFile}`, '--ignoreProjects', 'faults', 'containers', ...extraArgs],
  { timeoutMinutes: 40 },
);

stopKube();

// Fault injection (bounded mode, about 2 minutes here): after the rest, alone and serially, because it starts
// its own RabbitMQ node and Postgres cluster and measures recovery times a parallel run would distort. A run
// narrowed by arguments (a project, a path) leaves it out; `npm run test:faults` runs it alone.
let faultsRan = false;
let faultsPassed = true;
if (extraArgs.length === 0) {
  faultsRan = true;
  faultsPassed = step(
    'fault injection (jest project faults, bounded)',
    process.execPath,
    [...jest, `--outputFile=${faultsFile}`, '--selectProjects', 'faults', '--runInBand'],
    {
      timeoutMinutes: 20,
    },
  );
} else {
  console.log('\n(fault injection left out: arguments narrow this run; `npm run test:faults` runs it)');
}

// A closing line CI and humans can read without knowing jest's summary format.
try {
  const runs = [JSON.parse(readFileSync(resultsFile, 'utf8'))];
  if (faultsRan) {
    try {
      runs.push(JSON.parse(readFileSync(faultsFile, 'utf8')));
    } catch {
      runs.push({ numPassedTests: 0, numFailedTests: 1, numPendingTests: 0, numTotalTests: 1 });
      console.error('the fault-injection run wrote no results');
    }
  }
  const sum = (key) => runs.reduce((total, run) => total + run[key], 0);
  console.log(
    `\ntests: ${sum('numPassedTests')} passed, ${sum('numFailedTests')} failed, ${sum('numPendingTests')} skipped`,
  );
  if (sum('numTotalTests') === 0) {
    console.error('no test ran');
    process.exit(1);
  }
} catch {
  console.log('\ntests: 0 passed, 1 failed');
  console.error('jest wrote no results');
  process.exit(1);
} finally {
  rmSync(resultsDir, { recursive: true, force: true });
}
process.exit(passed && faultsPassed ? 0 : 1);
