// The Docker CLI as the container tests use it: every call bounded by a deadline, every container and network the
// tests make named `sy-ctest-<label>-<random>` and removed by `cleanup()`, whatever happened in between.
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';

/** A docker CLI call that is not a `docker stop`: 2 minutes (image inspection and `docker run --rm` included). */
const DOCKER_CALL_TIMEOUT_MS = 120_000;

/** Which client: SWITCHYARD_DOCKER, else Debian's /usr/bin/docker when present, else `docker` on PATH. */
export const DOCKER = process.env.SWITCHYARD_DOCKER ?? (existsSync('/usr/bin/docker') ? '/usr/bin/docker' : 'docker');

/** Tag of the images under test: `:dev` (what `npm run images` builds), or SWITCHYARD_IMAGE_TAG. */
const IMAGE_TAG = process.env.SWITCHYARD_IMAGE_TAG ?? 'dev';
export const image = (name: 'user-service' | 'order-service' | 'topology-operator'): string =>
  `switchyard/${name}:${IMAGE_TAG}`;

/**
 * How the pods run them (charts: runAsUser 10001, readOnlyRootFilesystem, /tmp emptyDir, drop ALL capabilities,
 * allowPrivilegeEscalation false).
 */
export const POD_SECURITY = [
  '--read-only',
  '--tmpfs',
  '/tmp',
  '--user',
  '10001:10001',
  '--cap-drop',
  'ALL',
  '--security-opt',
  'no-new-privileges',
];

export interface DockerResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs the docker CLI; resolves with the exit code and output (a non-zero code is not an error here). */
export function dockerRaw(args: readonly string[], timeoutMs = DOCKER_CALL_TIMEOUT_MS): Promise<DockerResult> {
  return new Promise((resolve, reject) => {
    execFile(
      DOCKER,
      args,
      { encoding: 'utf8', timeout: timeoutMs, killSignal: 'SIGKILL', maxBuffer: 64 * 1024 * 1024 },
      (error, stdout, stderr) => {
        if (error && (error as NodeJS.ErrnoException).code === 'ENOENT') {
          return reject(
            new Error(`${DOCKER} not found: install Docker, or run bash scripts/docker/ensure-engine.sh (as root)`),
          );
        }
        if (error?.killed) return reject(new Error(`docker ${args.join(' ')} did not finish within ${timeoutMs} ms`));
        resolve({ code: typeof error?.code === 'number' ? error.code : error ? 1 : 0, stdout, stderr });
      },
    );
  });
}

/** Runs the docker CLI and fails with its stderr when it exits non-zero; resolves with stdout. */
export async function docker(args: readonly string[], timeoutMs = DOCKER_CALL_TIMEOUT_MS): Promise<string> {
  const result = await dockerRaw(args, timeoutMs);
  if (result.code !== 0)
    throw new Error(
      `docker ${args.join(' ')} exited with ${result.code}: ${result.stderr.trim() || result.stdout.trim()}`,
    );
  return result.stdout;
}

/** Fails loudly, with the command that fixes it, when the engine or an image under test is missing. */
export async function requireImages(names: ReadonlyArray<Parameters<typeof image>[0]>): Promise<void> {
  const info = await dockerRaw(['version', '--format', '{{.Server.Version}}'], 30_000);
  if (info.code !== 0)
    throw new Error(
      `no Docker engine answers (${info.stderr.trim()}): run bash scripts/docker/ensure-engine.sh (as root)`,
    );
  for (const name of names) {
    const found = await dockerRaw(['image', 'inspect', '--format', '{{.Id}}', image(name)]);
    if (found.code !== 0) throw new Error(`image ${image(name)} is not in the engine: run npm run images first`);
  }
}

/** Containers and networks of one test file, removed in `cleanup()`. */
export class DockerScope {
  private readonly containers: string[] = [];
  private readonly networks: string[] = [];

  constructor(private readonly label: string) {}

  name(what: string): string {
    return `sy-ctest-${this.label}-${what}-${randomBytes(3).toString('hex')}`;
  }

  /** `docker run -d --name <generated> ...args`; resolves with the container name. */
  async start(what: string, args: readonly string[]): Promise<string> {
    const name = this.name(what);
    this.containers.push(name);
    await docker(['run', '-d', '--name', name, ...args]);
    return name;
  }

  /** `docker run` in the foreground (kept for its logs until cleanup); resolves with exit code and output. */
  async runToEnd(what: string, args: readonly string[], timeoutMs: number): Promise<DockerResult> {
    const name = this.name(what);
    this.containers.push(name);
    return dockerRaw(['run', '--name', name, ...args], timeoutMs);
  }

  /** A user-defined bridge network; `--internal` ones have no route out of their subnet. */
  async network(
    what: string,
    options: { internal: boolean },
  ): Promise<{ name: string; gateway: string; subnet: string }> {
    const name = this.name(what);
    this.networks.push(name);
    await docker(['network', 'create', ...(options.internal ? ['--internal'] : []), name]);
    const [subnet, gateway] = (
      await docker(['network', 'inspect', '--format', '{{range .IPAM.Config}}{{.Subnet}} {{.Gateway}}{{end}}', name])
    )
      .trim()
      .split(' ');
    if (!subnet || !gateway) throw new Error(`network ${name} has no subnet/gateway: ${subnet} ${gateway}`);
    return { name, gateway, subnet };
  }

  async cleanup(): Promise<void> {
    if (this.containers.length) await dockerRaw(['rm', '-f', '-v', ...this.containers]);
    for (const network of this.networks) await dockerRaw(['network', 'rm', network]);
  }
}

export async function logsOf(container: string): Promise<string> {
  const result = await dockerRaw(['logs', '--tail', '60', container], 30_000);
  return `${result.stdout}${result.stderr}`;
}

export interface StopResult {
  exitCode: number;
  oomKilled: boolean;
  elapsedMs: number;
}

/** `docker stop -t <grace>` as the kubelet stops a pod: SIGTERM, then SIGKILL after the grace period. */
export async function stopWithin(container: string, graceSeconds: number): Promise<StopResult> {
  const started = Date.now();
  await docker(['stop', '-t', String(graceSeconds), container], (graceSeconds + 30) * 1000);
  const elapsedMs = Date.now() - started;
  const [exitCode, oomKilled] = (
    await docker(['inspect', '--format', '{{.State.ExitCode}} {{.State.OOMKilled}}', container])
  )
    .trim()
    .split(' ');
  return { exitCode: Number(exitCode), oomKilled: oomKilled === 'true', elapsedMs };
}
