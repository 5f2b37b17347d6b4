import { deployMigrations, dropDatabase, ensureDatabase, withDatabaseName } from '@switchyard/db-migrate';
import { randomBytes } from 'node:crypto';

/** Server the tests use; CI and the machine's Postgres listen here with trust auth. */
export const TEST_POSTGRES_URL = process.env.TEST_POSTGRES_URL ?? 'postgresql://postgres@127.0.0.1:5432/postgres';

export interface TestDatabase {
  /** Connection URL of the fresh, fully migrated database. */
  url: string;
  name: string;
  /** Drops the database, closing any connection still open to it. */
  drop(): Promise<void>;
}

/**
 * A new database with every migration of `schemaPath` applied, named `switchyard_test_<label>_<random>` so runs
 * never share state and a leftover is easy to spot. Fails loudly when Postgres is not there: a skipped
 * integration test would hide a broken setup.
 */
export async function createTestDatabase(label: string, schemaPath: string): Promise<TestDatabase> {
  const name =
    `switchyard_test_${label.replace(/\W/g, '_')}_${Date.now().toString(36)}_${randomBytes(3).toString('hex')}`.toLowerCase();
  const databaseUrl = withDatabaseName(TEST_POSTGRES_URL, name);
  await ensureDatabase(databaseUrl);
  try {
    await deployMigrations({ databaseUrl, schemaPath });
  } catch (error) {
    await dropDatabase(databaseUrl);
    throw error;
  }
  return { url: databaseUrl, name, drop: () => dropDatabase(databaseUrl) };
}
