import { readMigrationList } from './migration-directory.js';
import { diffMigrationsToSchema } from './schema-diff.js';
import { readSchemaFiles, resolveMigrationsDir, type MigrationPaths } from './schema-files.js';

export interface CheckSchemaOptions extends MigrationPaths {
  /** A database URL on the server where a scratch database can be created; the database itself is not touched. */
  databaseUrl: string;
}

export interface SchemaCheckResult {
  /** True when applying every migration yields exactly the schema. */
  inSync: boolean;
  /** The statements a new migration would need (what `create` would write); empty when in sync. */
  sql: string;
}

/**
 * Checks that schema.prisma and its migrations agree, i.e. that nobody changed the schema without creating the
 * migration (or edited a migration by hand into something else). Meant for CI and tests.
 */
export async function checkSchemaMatchesMigrations(options: CheckSchemaOptions): Promise<SchemaCheckResult> {
  const [schemaFiles, migrationsList] = await Promise.all([
    readSchemaFiles(options.schemaPath),
    resolveMigrationsDir(options).then(readMigrationList),
  ]);
  const sql = await diffMigrationsToSchema({ databaseUrl: options.databaseUrl, schemaFiles, migrationsList });
  return sql === null ? { inSync: true, sql: '' } : { inSync: false, sql };
}
