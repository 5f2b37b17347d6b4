// kubectl against a control plane, for the tests that need more than ControlPlane.kubectl gives: the exit code and
// stderr of a call the server is expected to refuse, and the warnings it prints on success (PodSecurity admission
// answers a workload that would violate the namespace's level with a warning, not a refusal).
import { k8sTools, type ControlPlane } from '@switchyard/testing';
import { execFile } from 'node:child_process';

/** Long enough for a dry-run of a whole chart on a loaded 2-core machine; kubectl itself never waits longer. */
const KUBECTL_TIMEOUT_MS = 60_000;

export interface KubectlOutcome {
  /** kubectl's exit code; 0 when the server accepted everything. */
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs kubectl as the plane's admin and resolves with what it printed, whether it succeeded or not. */
export function kubectlOutcome(plane: ControlPlane, args: readonly string[], input?: string): Promise<KubectlOutcome> {
  return new Promise((resolve, reject) => {
    const child = execFile(
      k8sTools().kubectl,
      ['--kubeconfig', plane.kubeconfigPath, ...args],
      { encoding: 'utf8', maxBuffer: 64 * 1024 * 1024, timeout: KUBECTL_TIMEOUT_MS },
      (error, stdout, stderr) => {
        if (error && typeof error.code !== 'number') reject(new Error(`kubectl ${args.join(' ')}: ${error.message}`));
        else resolve({ code: error ? Number(error.code) : 0, stdout, stderr });
      },
    );
    if (input !== undefined) child.stdin?.end(input);
  });
}

/** Runs `work` over `items` with at most `limit` at a time (kubectl is a process each: a 2-core machine has limits). */
export async function mapLimited<T, R>(items: readonly T[], limit: number, work: (item: T) => Promise<R>): Promise<R[]> {
  const results: R[] = new Array<R>(items.length);
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const index = next++;
      results[index] = await work(items[index]!);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return results;
}
