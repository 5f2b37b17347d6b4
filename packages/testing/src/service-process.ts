import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { createRequire } from 'node:module';
import { createServer } from 'node:net';
import { pathToFileURL } from 'node:url';

/**
 * How the services are started in production (`node --import @switchyard/telemetry/register`), resolved from here
 * so it does not depend on the test's working directory. It only traces when the env names an OTLP endpoint.
 */
const TELEMETRY_PRELOAD = resolvePreload('@switchyard/telemetry/register');

function resolvePreload(specifier: string): string {
  try {
    return pathToFileURL(createRequire(import.meta.url).resolve(specifier)).href;
  } catch {
    return specifier;
  }
}

/** A port nothing listens on right now (the OS picks it). */
export async function freePort(): Promise<number> {
  const server = createServer().listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as { port: number };
  await new Promise((resolve) => server.close(resolve));
  return port;
}

export interface ServiceProcess {
  child: ChildProcess;
  /** Everything written to stdout and stderr so far. */
  output(): string;
  /** Parsed JSON log lines written so far. */
  logLines(): Array<Record<string, unknown>>;
  exit: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

/**
 * Runs a built service entry point as its own process with exactly `env` (plus PATH, and METRICS_PORT 0 by default): signals, exit codes and
 * stdout are what Kubernetes sees, so some tests must look at them from outside.
 */
export function startServiceProcess(entryPoint: string, env: NodeJS.ProcessEnv): ServiceProcess {
  let output = '';
  const child = spawn(process.execPath, ['--import', TELEMETRY_PRELOAD, entryPoint], {
    // METRICS_PORT 0 (a free port) unless the test names one: processes running at once must not collide on 9464.
    env: { PATH: process.env.PATH, METRICS_PORT: '0', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  child.stdout!.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr!.on('data', (chunk: Buffer) => (output += chunk.toString()));
  const exit = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.on('exit', (code, signal) => resolve({ code, signal })),
  );
  return {
    child,
    output: () => output,
    logLines: () =>
      output
        .split('\n')
        .filter((line) => line.startsWith('{'))
        .map((line) => JSON.parse(line) as Record<string, unknown>),
    exit,
  };
}

/**
 * Waits for `GET /health/ready` to answer 200. Fails at once, with the service's output, when it exits (by code or
 * signal); on timeout it kills the service so a failed test leaves no process behind.
 */
export async function waitUntilReady(service: ServiceProcess, port: number, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const { exitCode, signalCode } = service.child;
    if (exitCode !== null || signalCode !== null)
      throw new Error(`service exited (${signalCode ?? exitCode}) before it was ready:\n${service.output()}`);
    const response = await fetch(`http://127.0.0.1:${port}/health/ready`).catch(() => undefined);
    if (response?.status === 200) return;
    if (Date.now() > deadline) {
      service.child.kill('SIGKILL');
      throw new Error(`service on port ${port} not ready after ${timeoutMs} ms:\n${service.output()}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}
