import { execFile } from 'node:child_process';

/** rabbitmqctl boots an Erlang VM per call (~1 s); a minute means the node is not answering. */
const RABBITMQCTL_TIMEOUT_MS = 60_000;

/**
 * Runs `rabbitmqctl --quiet <args>` (as a user allowed to, e.g. root), writing `input` to its stdin when given.
 * Fails with the fix spelled out when rabbitmqctl is missing or refuses.
 */
export function rabbitmqctl(args: string[], input?: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = execFile(
      'rabbitmqctl',
      ['--quiet', ...args],
      { timeout: RABBITMQCTL_TIMEOUT_MS },
      (error, stdout, stderr) => {
        if (!error) return resolve(stdout);
        if ((error as NodeJS.ErrnoException).code === 'ENOENT') {
          return reject(
            new Error(
              'rabbitmqctl not found: install and start RabbitMQ (sudo bash scripts/install-infra.sh) to run these tests',
            ),
          );
        }
        reject(
          new Error(
            `rabbitmqctl ${args[0]} failed (is RabbitMQ running, and may this user run rabbitmqctl?): ${String(stderr || error.message).trim()}`,
          ),
        );
      },
    );
    // An ENOENT spawn has no stdin to write to; its error reaches the callback above.
    child.stdin?.on('error', () => undefined);
    child.stdin?.end(input ?? '');
  });
}
