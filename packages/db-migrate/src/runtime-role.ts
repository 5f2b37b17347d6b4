import pg from 'pg';
import { databaseNameOf } from './database-url.js';

/**
 * The least-privilege role a service runs as: it may log in, read and write the rows of its own database's tables
 * (and use their sequences), and nothing else: no DDL (`CREATE` on the schema is not granted), it owns nothing, and
 * it is neither superuser nor able to create roles or databases. Migrations keep running as the owner role.
 */
export interface RuntimeRoleOptions {
  /** URL of the database as its owner (the role migrations run as); the grants are made in that database. */
  ownerUrl: string;
  /** Name of the runtime role, by convention `<database>_app`. */
  role: string;
  /** Its password; left out, the role has none (local trust authentication, as in the tests). Set on every call. */
  password?: string;
}

/** `<database>_app`: the runtime role's conventional name (charts, `npm start` and the tests use it). */
export function runtimeRoleName(databaseUrl: string): string {
  return `${databaseNameOf(databaseUrl)}_app`;
}

/**
 * Creates the runtime role when missing and (re)grants it DML on every table and sequence of schema `public`, and,
 * through default privileges, on those the owner creates later: a table added by a future migration is usable at
 * once without another grant. Idempotent, so it runs on every start.
 */
export async function ensureRuntimeRole(options: RuntimeRoleOptions): Promise<void> {
  const database = pg.escapeIdentifier(databaseNameOf(options.ownerUrl));
  const role = pg.escapeIdentifier(options.role);
  const client = new pg.Client({ connectionString: options.ownerUrl });
  await client.connect();
  try {
    // CREATE ROLE has no IF NOT EXISTS; a concurrent creator makes it fail with 42710, which means done too.
    const exists = await client.query('SELECT 1 FROM pg_roles WHERE rolname = $1', [options.role]);
    if (exists.rowCount === 0) {
      await client
        .query(`CREATE ROLE ${role} LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOINHERIT NOREPLICATION`)
        .catch((error: { code?: string }) => {
          if (error.code !== '42710') throw error;
        });
    }
    if (options.password !== undefined) {
      await client.query(`ALTER ROLE ${role} PASSWORD ${pg.escapeLiteral(options.password)}`);
    }
    await client.query(`
      GRANT CONNECT, TEMPORARY ON DATABASE ${database} TO ${role};
      REVOKE CREATE ON SCHEMA public FROM PUBLIC;
      GRANT USAGE ON SCHEMA public TO ${role};
      GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO ${role};
      GRANT USAGE, SELECT, UPDATE ON ALL SEQUENCES IN SCHEMA public TO ${role};
      ALTER DEFAULT PRIVILEGES IN SCHEMA public GRANT SELECT, INSERT, UPDATE, DELETE ON TABLES TO ${role};
      ALTER DEFAULT PRIVILEGES IN SCHEMA public GRANT USAGE, SELECT, UPDATE ON SEQUENCES TO ${role};
    `);
  } finally {
    await client.end();
  }
}

/**
 * Drops the runtime role; call after dropping its database (its grants there go with the database). A role still
 * holding privileges in another database stays, with the error saying where.
 */
export async function dropRuntimeRole(ownerUrl: string, role: string): Promise<void> {
  const client = new pg.Client({ connectionString: ownerUrl });
  await client.connect();
  try {
    await client.query(`DROP ROLE IF EXISTS ${pg.escapeIdentifier(role)}`);
  } finally {
    await client.end();
  }
}
