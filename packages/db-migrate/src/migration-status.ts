import pg from 'pg';
import { migrationNames, readMigrationList } from './migration-directory.js';
import { pgErrorCode } from './ensure-database.js';
import { resolveMigrationsDir, type MigrationPaths } from './schema-files.js';

export interface MigrationStatusOptions extends MigrationPaths {
  databaseUrl: string;
}

export interface MigrationStatus {
  /** Migrations on disk that the database has applied, in migration order. */
  applied: string[];
  /** Migrations on disk that the database has not applied yet (what deploy would apply), in order. */
  pending: string[];
  /** Migrations that started but did not finish and were not rolled back: deploy refuses to run until resolved. */
  failed: string[];
  /** Migrations the database recorded (applied or failed) that are not on disk, e.g. deployed from another branch. */
  unknownInDatabase: string[];
}

interface MigrationRow {
  migration_name: string;
  finished_at: Date | null;
  rolled_back_at: Date | null;
}

/**
 * Compares the migrations folder with the `_prisma_migrations` table. A database without that table, or that does
 * not exist yet, has applied nothing. Read-only: it never creates the table or the database.
 */
export async function migrationStatus(options: MigrationStatusOptions): Promise<MigrationStatus> {
  const onDisk = migrationNames(await readMigrationList(await resolveMigrationsDir(options)));
  const rows = await readMigrationRows(options.databaseUrl);
  // Rows marked rolled back are history only (`prisma migrate resolve --rolled-back`): the migration may run again.
  const live = rows.filter((row) => row.rolled_back_at === null);
  const applied = new Set(live.filter((row) => row.finished_at !== null).map((row) => row.migration_name));
  const failed = new Set(
    live.filter((row) => row.finished_at === null && !applied.has(row.migration_name)).map((row) => row.migration_name),
  );
  const known = new Set(onDisk);
  return {
    applied: onDisk.filter((name) => applied.has(name)),
    pending: onDisk.filter((name) => !applied.has(name) && !failed.has(name)),
    failed: [...failed],
    unknownInDatabase: [...new Set(live.map((row) => row.migration_name))].filter((name) => !known.has(name)),
  };
}

async function readMigrationRows(databaseUrl: string): Promise<MigrationRow[]> {
  const client = new pg.Client({ connectionString: databaseUrl });
  try {
    await client.connect();
  } catch (error) {
    if (pgErrorCode(error) === '3D000') return []; // invalid_catalog_name: the database does not exist yet
    throw error;
  }
  try {
    const { rows } = await client.query<MigrationRow>(
      'SELECT migration_name, finished_at, rolled_back_at FROM _prisma_migrations ORDER BY started_at, migration_name',
    );
    return rows;
  } catch (error) {
    if (pgErrorCode(error) === '42P01') return []; // undefined_table: nothing was ever deployed here
    throw error;
  } finally {
    await client.end();
  }
}
