import {
  deployMigrations,
  dropDatabase,
  dropRuntimeRole,
  ensureDatabase,
  ensureRuntimeRole,
  runtimeRoleName,
  withDatabaseName,
} from '@switchyard/db-migrate';
import { randomBytes } from 'node:crypto';

/** Server the tests use; CI and the machine's Postgres listen here with trust auth. */
export const TEST_POSTGRES_URL = process.env.TEST_POSTGRES_URL ?? 'postgresql://postgres@127.0.0.1:5432/postgres';

export interface TestDatabase {
  /**
   * Connection URL of the fresh, fully migrated database as its runtime role `<name>_app` (DML only, no DDL, owns
   * nothing): what the services run as in production, so the tests run them that way too.
   */
  url: string;
  /** The same database as its owner (the server's superuser here), the role migrations run as. */
  ownerUrl: string;
  name: string;
  /** Drops the database, closing any connection still open to it. */
  drop(): Promise<void>;
}

/**
 * A new database with every migration of `schemaPath` applied (as the owner), and its runtime role, named
 * `switchyard_test_<label>_<random>` so runs never share state and a leftover is easy to spot. Fails loudly when Postgres is not there: a skipped
 * integration test would hide a broken setup.
 */
export async function createTestDatabase(label: string, schemaPath: string): Promise<TestDatabase> {
  const name =
    `switchyard_test_${label.replace(/\W/g, '_')}_${Date.now().toString(36)}_${randomBytes(3).toString('hex')}`.toLowerCase();
  const ownerUrl = withDatabaseName(TEST_POSTGRES_URL, name);
  const role = runtimeRoleName(ownerUrl);
  const drop = async () => {
    await dropDatabase(ownerUrl);
    await dropRuntimeRole(TEST_POSTGRES_URL, role);
  };
  await ensureDatabase(ownerUrl);
  try {
    await ensureRuntimeRole({ ownerUrl, role });
    await deployMigrations({ databaseUrl: ownerUrl, schemaPath });
  } catch (error) {
    await drop();
    throw error;
  }
  return { url: withUser(ownerUrl, role), ownerUrl, name, drop };
}

/** The same URL logging in as `user` (no password: the test server trusts local connections). */
function withUser(databaseUrl: string, user: string): string {
  const url = new URL(databaseUrl);
  url.username = encodeURIComponent(user);
  url.password = '';
  return url.toString();
}
