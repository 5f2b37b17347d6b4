import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { databaseNameOf, withDatabaseName } from './database-url.js';

/** Databases this package refuses to drop: the server cannot work without them. */
const PROTECTED_DATABASES = new Set(['postgres', 'template0', 'template1']);
/** PostgreSQL truncates identifiers longer than this many bytes, which would make scratch names collide. */
const MAX_IDENTIFIER_BYTES = 63;

/**
 * Creates the database named in `databaseUrl` when it does not exist yet.
 * `created` is false when it already existed, including when a concurrent caller created it first.
 */
export async function ensureDatabase(databaseUrl: string): Promise<{ created: boolean }> {
  const name = databaseNameOf(databaseUrl);
  return withMaintenanceClient(databaseUrl, async (client) => {
    if (await databaseExists(client, name)) return { created: false };
    try {
      await client.query(`CREATE DATABASE ${pg.escapeIdentifier(name)}`);
      return { created: true };
    } catch (error) {
      // Lost a race with a concurrent caller: duplicate_database, or unique_violation on pg_database's name index
      // when both CREATE DATABASE statements passed the existence check at the same time. Same outcome either way.
      const code = pgErrorCode(error);
      if (code === '42P04' || code === '23505') return { created: false };
      throw error;
    }
  });
}

/** Drops the database named in `databaseUrl` if it exists, disconnecting its sessions first (`WITH (FORCE)`). */
export async function dropDatabase(databaseUrl: string): Promise<void> {
  const name = databaseNameOf(databaseUrl);
  if (PROTECTED_DATABASES.has(name)) throw new Error(`Refusing to drop the ${name} database`);
  await withMaintenanceClient(databaseUrl, (client) =>
    client.query(`DROP DATABASE IF EXISTS ${pg.escapeIdentifier(name)} WITH (FORCE)`),
  );
}

/** A throw-away database on the same server as `databaseUrl`, e.g. to replay migrations into. */
export interface ScratchDatabase {
  readonly url: string;
  readonly name: string;
  drop(): Promise<void>;
}

/** Creates a uniquely named empty database next to the one in `databaseUrl` (which need not exist). */
export async function createScratchDatabase(databaseUrl: string, purpose = 'scratch'): Promise<ScratchDatabase> {
  const suffix = `_${purpose}_${randomBytes(5).toString('hex')}`;
  const base = truncateToBytes(databaseNameOf(databaseUrl), MAX_IDENTIFIER_BYTES - Buffer.byteLength(suffix));
  const name = `${base}${suffix}`;
  const url = withDatabaseName(databaseUrl, name);
  await withMaintenanceClient(databaseUrl, (client) => client.query(`CREATE DATABASE ${pg.escapeIdentifier(name)}`));
  let dropped: Promise<void> | undefined;
  return {
    url,
    name,
    // Idempotent: both the engine (when it disposes a shadow connection) and our finally blocks call it.
    drop: async () => {
      dropped ??= dropDatabase(url);
      await dropped;
    },
  };
}

/**
 * Runs `work` on a connection to the server's maintenance database: CREATE/DROP DATABASE cannot run inside the
 * database concerned. Falls back to template1 like Prisma does, for servers without a `postgres` database.
 */
async function withMaintenanceClient<T>(databaseUrl: string, work: (client: pg.Client) => Promise<T>): Promise<T> {
  let client = new pg.Client({ connectionString: withDatabaseName(databaseUrl, 'postgres') });
  try {
    await client.connect();
  } catch (error) {
    if (pgErrorCode(error) !== '3D000') throw error; // 3D000: invalid_catalog_name, i.e. no `postgres` database
    client = new pg.Client({ connectionString: withDatabaseName(databaseUrl, 'template1') });
    await client.connect();
  }
  try {
    return await work(client);
  } finally {
    await client.end();
  }
}

async function databaseExists(client: pg.Client, name: string): Promise<boolean> {
  const { rowCount } = await client.query('SELECT 1 FROM pg_database WHERE datname = $1', [name]);
  return (rowCount ?? 0) > 0;
}

/** The SQLSTATE of a pg error, if `error` is one. */
export function pgErrorCode(error: unknown): string | undefined {
  if (typeof error === 'object' && error !== null && 'code' in error && typeof error.code === 'string') {
    return error.code;
  }
  return undefined;
}

function truncateToBytes(text: string, maxBytes: number): string {
  const characters = [...text]; // whole code points, so a multi-byte character is never cut in half
  while (Buffer.byteLength(characters.join('')) > maxBytes) characters.pop();
  return characters.join('');
}
