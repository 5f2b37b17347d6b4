import { createHash, randomBytes } from 'node:crypto';
import { existsSync, linkSync, mkdirSync, readFileSync, unlinkSync, writeFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { dirname, join } from 'node:path';
import { BROKER_IDENTITIES, brokerPermissions, EVENTS_EXCHANGE } from './broker-permissions.js';
import { rabbitmqctl } from './rabbitmqctl.js';

/** A password for each identity, by user name. */
export type BrokerPasswords = Readonly<Record<string, string>>;

export interface BrokerIdentitiesOptions {
  /** The vhost to grant the permissions on; created when missing. */
  vhost: string;
  /** Default `switchyard.events`. */
  exchange?: string;
  passwords: BrokerPasswords;
  /** Users (e.g. `guest`) to give full permissions on the vhost, for setup and inspection. */
  fullAccess?: readonly string[];
}

/**
 * The RabbitMQ definitions (the format of `rabbitmqctl import_definitions` and of the broker's `load_definitions`)
 * that create the vhost and every identity with its tags, password, vhost permissions and topic permissions.
 */
export function brokerIdentityDefinitions(options: BrokerIdentitiesOptions): Record<string, unknown> {
  const { vhost } = options;
  const permissions = brokerPermissions(options.exchange ?? EVENTS_EXCHANGE);
  return {
    vhosts: [{ name: vhost }],
    users: permissions.map(({ user, tags }) => ({
      name: user,
      password_hash: rabbitPasswordHash(passwordOf(options.passwords, user)),
      hashing_algorithm: 'rabbit_password_hashing_sha256',
      tags,
    })),
    permissions: [
      ...(options.fullAccess ?? []).map((user) => ({ user, vhost, configure: '.*', write: '.*', read: '.*' })),
      ...permissions.map(({ user, configure, write, read }) => ({ user, vhost, configure, write, read })),
    ],
    topic_permissions: permissions.map(({ user, topic }) => ({ user, vhost, ...topic })),
  };
}

/**
 * Creates or updates every identity (`add_user` or `change_password`, `set_user_tags`, `set_permissions`,
 * `set_topic_permissions`) in one `rabbitmqctl import_definitions`: idempotent, and one Erlang VM boot instead of
 * sixteen. Connections already open keep working (RabbitMQ checks a password only when a client connects).
 */
export async function provisionBrokerIdentities(options: BrokerIdentitiesOptions): Promise<void> {
  await rabbitmqctl(['import_definitions', '--format', 'json'], JSON.stringify(brokerIdentityDefinitions(options)));
}

/**
 * RabbitMQ's `rabbit_password_hashing_sha256`: base64(salt ‖ SHA-256(salt ‖ password)) with a 4-byte random salt.
 * See https://www.rabbitmq.com/docs/passwords#computing-password-hash.
 */
export function rabbitPasswordHash(password: string): string {
  const salt = randomBytes(4);
  const digest = createHash('sha256')
    .update(Buffer.concat([salt, Buffer.from(password, 'utf8')]))
    .digest();
  return Buffer.concat([salt, digest]).toString('base64');
}

/**
 * Where the development passwords live: `SWITCHYARD_BROKER_PASSWORDS_FILE`, else
 * `~/.config/switchyard/broker-passwords.json`. Per machine user, not per checkout: the broker's users are
 * broker-wide, so two checkouts (worktrees) with passwords of their own would lock each other's clients out at their
 * next connect.
 */
export function devBrokerPasswordsFile(): string {
  return (
    process.env.SWITCHYARD_BROKER_PASSWORDS_FILE || join(homedir(), '.config', 'switchyard', 'broker-passwords.json')
  );
}

/**
 * The development passwords of every identity, from `file` (default `devBrokerPasswordsFile()`), made with random
 * passwords on first use (mode 0600). `npm start` and the tests share it.
 */
export function devBrokerPasswords(file: string = devBrokerPasswordsFile()): BrokerPasswords {
  if (!existsSync(file)) {
    mkdirSync(dirname(file), { recursive: true, mode: 0o700 });
    const passwords = Object.fromEntries(
      BROKER_IDENTITIES.map((user) => [user, randomBytes(18).toString('base64url')]),
    );
    // Written aside and linked into place: link fails if another process got there first, and a reader never sees
    // half a file.
    const draft = `${file}.${process.pid}.${randomBytes(4).toString('hex')}`;
    writeFileSync(draft, `${JSON.stringify(passwords, null, 2)}\n`, { mode: 0o600 });
    try {
      linkSync(draft, file);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
    } finally {
      unlinkSync(draft);
    }
  }
  const stored: unknown = JSON.parse(readFileSync(file, 'utf8'));
  if (typeof stored !== 'object' || stored === null)
    throw new Error(`${file} must be a JSON object of passwords by user; delete it to make a new one`);
  for (const user of BROKER_IDENTITIES) passwordOf(stored as BrokerPasswords, user, file);
  return stored as BrokerPasswords;
}

function passwordOf(passwords: BrokerPasswords, user: string, source = 'passwords'): string {
  const password = passwords[user];
  if (typeof password !== 'string' || password.length === 0)
    throw new Error(`${source} has no password for the broker identity '${user}'`);
  return password;
}
