#!/usr/bin/env node
// `npm test`: type-check (the build), lint, then every unit and integration test against the real
// Postgres (and, with the messaging layer, RabbitMQ). Each test file makes its own database and drops it.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const root = new URL('..', import.meta.url).pathname;

function step(title, command, args, env = {}) {
  console.log(`\n▶ ${title}`);
  const started = Date.now();
  const result = spawnSync(command, args, { cwd: root, stdio: 'inherit', env: { ...process.env, ...env } });
  const seconds = ((Date.now() - started) / 1000).toFixed(1);
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

const resultsDir = mkdtempSync(join(tmpdir(), 'switchyard-jest-'));
const resultsFile = join(resultsDir, 'results.json');
const passed = step(
  'unit and integration tests (jest)',
  process.execPath,
  // --forceExit: a test that leaks a socket after failing must not hang CI until its time limit; the failure is reported either way.
  ['--experimental-vm-modules', '--no-warnings=ExperimentalWarning', 'node_modules/jest/bin/jest.js', '--json', `--outputFile=${resultsFile}`, '--forceExit', ...process.argv.slice(2)],
);

// A closing line CI and humans can read without knowing jest's summary format.
try {
  const results = JSON.parse(readFileSync(resultsFile, 'utf8'));
  console.log(`\ntests: ${results.numPassedTests} passed, ${results.numFailedTests} failed, ${results.numPendingTests} skipped`);
  if (results.numTotalTests === 0) {
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
process.exit(passed ? 0 : 1);
