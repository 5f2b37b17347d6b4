import {
  migrationNames,
  newMigrationDirectoryName,
  normalizeMigrationName,
  readMigrationList,
  writeLockfileIfMissing,
  writeMigration,
} from './migration-directory.js';
import { diffMigrationsToSchema } from './schema-diff.js';
import { readSchemaFiles, resolveMigrationsDir, type MigrationPaths } from './schema-files.js';

export interface CreateMigrationOptions extends MigrationPaths {
  /** A database URL on the server where a scratch database can be created; the database itself is not touched. */
  databaseUrl: string;
  /** Describes the change (`add_user_name`); normalised like Prisma does. */
  name: string;
}

export interface CreateMigrationResult {
  /** The new migration folder, or null when the schema already matches the migrations (nothing written). */
  directory: string | null;
  /** The new migration's SQL; empty when nothing was written. */
  sql: string;
}

/**
 * What `prisma migrate dev --create-only` does: writes `<migrationsDir>/<timestamp>_<name>/migration.sql` with the
 * SQL that takes the state produced by the existing migrations to the current schema, and migration_lock.toml when
 * missing. Nothing is applied to any real database.
 */
export async function createMigration(options: CreateMigrationOptions): Promise<CreateMigrationResult> {
  normalizeMigrationName(options.name); // reject a bad name before any database work
  const migrationsDir = await resolveMigrationsDir(options);
  const [schemaFiles, migrationsList] = await Promise.all([
    readSchemaFiles(options.schemaPath),
    readMigrationList(migrationsDir),
  ]);
  const sql = await diffMigrationsToSchema({ databaseUrl: options.databaseUrl, schemaFiles, migrationsList });
  if (sql === null) return { directory: null, sql: '' };
  const directoryName = newMigrationDirectoryName(options.name, migrationNames(migrationsList));
  const directory = await writeMigration(migrationsDir, directoryName, sql);
  await writeLockfileIfMissing(migrationsDir);
  return { directory, sql };
}
