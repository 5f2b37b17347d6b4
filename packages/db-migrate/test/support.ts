// Shared by the specs in src/: real PostgreSQL databases and throw-away copies of the fixture projects.
import { randomBytes } from 'node:crypto';
import { cp, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import pg from 'pg';

/** Server the tests use (same variable as @switchyard/testing); the machine's Postgres listens here with trust auth. */
export const TEST_POSTGRES_URL = process.env['TEST_POSTGRES_URL'] ?? 'postgresql://postgres@127.0.0.1:5432/postgres';

const FIXTURES = fileURLToPath(new URL('./fixtures/', import.meta.url));

/** A URL for a database no test has used: `switchyard_test_<label>_<random>`. Nothing is created. */
export function uniqueDatabaseUrl(label: string): string {
  const url = new URL(TEST_POSTGRES_URL);
  url.pathname = `/switchyard_test_${label}_${randomBytes(4).toString('hex')}`;
  return url.toString();
}

export interface FixtureProject {
  dir: string;
  schemaPath: string;
  migrationsDir: string;
}

/** Copies test/fixtures/<name> to a fresh temp directory, so tests can change the schema and migrations freely. */
export async function copyFixture(name = 'basic'): Promise<FixtureProject> {
  const dir = await mkdtemp(path.join(tmpdir(), 'db-migrate-'));
  await cp(path.join(FIXTURES, name), dir, { recursive: true });
  return { dir, schemaPath: path.join(dir, 'schema.prisma'), migrationsDir: path.join(dir, 'migrations') };
}

export async function removeDir(dir: string): Promise<void> {
  await rm(dir, { recursive: true, force: true });
}

/** Adds a field to the fixture's Account model, as a developer editing schema.prisma would. */
export async function addAccountField(schemaPath: string, field: string): Promise<void> {
  const schema = await readFile(schemaPath, 'utf8');
  const changed = schema.replace(/(\n {2}@@map\("accounts"\))/, `\n  ${field}\n$1`);
  if (changed === schema) throw new Error('fixture schema changed shape: cannot find the Account model end');
  await writeFile(schemaPath, changed);
}

/** Runs one query on a short-lived connection. */
export async function query<Row extends pg.QueryResultRow>(
  databaseUrl: string,
  sql: string,
  values: unknown[] = [],
): Promise<Row[]> {
  const client = new pg.Client({ connectionString: databaseUrl });
  await client.connect();
  try {
    return (await client.query<Row>(sql, values)).rows;
  } finally {
    await client.end();
  }
}

/** Names of the databases on the test server starting with `prefix` (to prove scratch databases are dropped). */
export async function databasesStartingWith(prefix: string): Promise<string[]> {
  const rows = await query<{ datname: string }>(
    TEST_POSTGRES_URL,
    'SELECT datname FROM pg_database WHERE starts_with(datname, $1)',
    [prefix],
  );
  return rows.map((row) => row.datname);
}
