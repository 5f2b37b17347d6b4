import { ConfigError } from '../config/load-config.js';

/**
 * Runs a service's `main`, turning a configuration error into one line on stderr and exit code 1
 * (what a Kubernetes user sees in `kubectl logs` for a CrashLoopBackOff), and any other start-up failure into exit 1 with its stack.
 */
export function startMain(main: () => Promise<unknown>): void {
  main().catch((error: unknown) => {
    if (error instanceof ConfigError) {
      process.stderr.write(`${error.message}\n`);
    } else {
      process.stderr.write(
        `failed to start: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`,
      );
    }
    process.exit(1);
  });
}
