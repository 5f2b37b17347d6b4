import { randomBytes } from 'node:crypto';
import { devBrokerPasswords, provisionBrokerIdentities } from './broker-identities.js';
import { BROKER_IDENTITIES } from './broker-permissions.js';
import { rabbitmqctl } from './rabbitmqctl.js';

/** Broker the tests use; CI and the machine's RabbitMQ listen here with the default guest user. */
const TEST_RABBITMQ_HOST = '127.0.0.1:5672';

export interface TestVhost {
  /** `switchyard_test_<label>_<random>`. */
  name: string;
  /** `amqp://guest:guest@127.0.0.1:5672/<encoded vhost>`: full permissions, for setup and inspection. */
  url: string;
  /**
   * The URL of a broker identity (`user-service`, `order-service`, `switchyard-operator`, `switchyard-dlq`) on this
   * vhost, with its permissions as in production (`brokerPermissions`). Throws for any other name.
   */
  identityUrl(user: string): string;
  /** Forcibly closes every client connection to this vhost (like a broker restart, as the clients see it). */
  closeAllConnections(reason?: string): Promise<void>;
  /** Deletes the vhost with everything in it. */
  drop(): Promise<void>;
}

/**
 * A fresh RabbitMQ virtual host for one test file, so queues, exchanges and forced disconnects never touch
 * another test, with the platform's broker identities granted on it. Uses `rabbitmqctl` (it must run as a user
 * allowed to, e.g. root). Fails loudly when RabbitMQ is not there: a skipped integration test would hide a broken
 * setup.
 */
export async function createTestVhost(label: string): Promise<TestVhost> {
  const name =
    `switchyard_test_${label.replace(/\W/g, '_')}_${Date.now().toString(36)}_${randomBytes(3).toString('hex')}`.toLowerCase();
  const passwords = devBrokerPasswords();
  try {
    // One import creates the vhost, grants guest everything and the identities what they may.
    await provisionBrokerIdentities({ vhost: name, passwords, fullAccess: ['guest'] });
  } catch (error) {
    await rabbitmqctl(['delete_vhost', name]).catch(() => undefined);
    throw error;
  }
  const path = encodeURIComponent(name);
  return {
    name,
    url: `amqp://guest:guest@${TEST_RABBITMQ_HOST}/${path}`,
    identityUrl: (user) => {
      if (!BROKER_IDENTITIES.includes(user))
        throw new TypeError(`unknown broker identity '${user}'; one of ${BROKER_IDENTITIES.join(', ')}`);
      return `amqp://${encodeURIComponent(user)}:${encodeURIComponent(passwords[user]!)}@${TEST_RABBITMQ_HOST}/${path}`;
    },
    closeAllConnections: async (reason = 'test: forced disconnect') => {
      await rabbitmqctl(['close_all_connections', '-p', name, reason]);
    },
    drop: async () => {
      await rabbitmqctl(['delete_vhost', name]);
    },
  };
}
