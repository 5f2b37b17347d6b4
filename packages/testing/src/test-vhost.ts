import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';

/** Broker the tests use; CI and the machine's RabbitMQ listen here with the default guest user. */
const TEST_RABBITMQ_HOST = '127.0.0.1:5672';
/** rabbitmqctl boots an Erlang VM per call (~1 s); a minute means the node is not answering. */
const RABBITMQCTL_TIMEOUT_MS = 60_000;

export interface TestVhost {
  /** `switchyard_test_<label>_<random>`. */
  name: string;
  /** `amqp://guest:guest@127.0.0.1:5672/<encoded vhost>`. */
  url: string;
  /** Forcibly closes every client connection to this vhost (like a broker restart, as the clients see it). */
  closeAllConnections(reason?: string): Promise<void>;
  /** Deletes the vhost with everything in it. */
  drop(): Promise<void>;
}

/**
 * A fresh RabbitMQ virtual host for one test file, so queues, exchanges and forced disconnects never touch
 * another test. Uses `rabbitmqctl` (it must run as a user allowed to, e.g. root). Fails loudly when RabbitMQ is
 * not there: a skipped integration test would hide a broken setup.
 */
export async function createTestVhost(label: string): Promise<TestVhost> {
  const name =
    `switchyard_test_${label.replace(/\W/g, '_')}_${Date.now().toString(36)}_${randomBytes(3).toString('hex')}`.toLowerCase();
  await rabbitmqctl(['add_vhost', name]);
  try {
    await rabbitmqctl(['set_permissions', '-p', name, 'guest', '.*', '.*', '.*']);
  } catch (error) {
    await rabbitmqctl(['delete_vhost', name]).catch(() => undefined);
    throw error;
  }
  return {
    name,
    url: `amqp://guest:guest@${TEST_RABBITMQ_HOST}/${encodeURIComponent(name)}`,
    closeAllConnections: async (reason = 'test: forced disconnect') => {
      await rabbitmqctl(['close_all_connections', '-p', name, reason]);
    },
    drop: async () => {
      await rabbitmqctl(['delete_vhost', name]);
    },
  };
}

function rabbitmqctl(args: string[]): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile('rabbitmqctl', ['--quiet', ...args], { timeout: RABBITMQCTL_TIMEOUT_MS }, (error, stdout, stderr) => {
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
    });
  });
}
