import { readMigrationList } from './migration-directory.js';
import { NO_FILTERS, withSchemaEngine } from './schema-engine.js';
import { readSchemaFiles, resolveMigrationsDir, type MigrationPaths } from './schema-files.js';

export interface DeployMigrationsOptions extends MigrationPaths {
  /** The database to migrate; it must exist (see ensureDatabase). */
  databaseUrl: string;
}

export interface DeployMigrationsResult {
  /** Migrations applied by this call, in order; empty when the database was up to date. */
  applied: string[];
}

/**
 * What `prisma migrate deploy` does: applies the migrations not yet recorded in `_prisma_migrations`, in order,
 * recording each with its checksum so the Prisma CLI sees the same history. Stops at the first failing migration
 * (recorded as failed) and refuses to run while a failed migration is unresolved, as Prisma does.
 */
export async function deployMigrations(options: DeployMigrationsOptions): Promise<DeployMigrationsResult> {
  const [schemaFiles, migrationsList] = await Promise.all([
    readSchemaFiles(options.schemaPath),
    resolveMigrationsDir(options).then(readMigrationList),
  ]);
  const { appliedMigrationNames } = await withSchemaEngine(
    { databaseUrl: options.databaseUrl, schemaFiles },
    (engine) => engine.applyMigrations({ migrationsList, filters: NO_FILTERS }),
  );
  return { applied: appliedMigrationNames };
}
