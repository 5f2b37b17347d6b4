import path from 'node:path';
import type { MigrationList, SchemaContainer } from '@prisma/schema-engine-wasm/schema_engine_bg';
import { createScratchDatabase } from './ensure-database.js';
import { NO_FILTERS, withSchemaEngine } from './schema-engine.js';

/** The diff result's exit code when the two sides differ (we ask for `--exit-code` semantics). */
const DIFF_NOT_EMPTY = 2;

export interface DiffMigrationsToSchemaOptions {
  /** Any database URL on the server to use; only its server and credentials are used, it need not exist. */
  databaseUrl: string;
  schemaFiles: SchemaContainer[];
  migrationsList: MigrationList;
}

/**
 * The SQL that takes the database produced by the migrations to the schema, or null when they agree.
 * Replays the migrations into a scratch database, then diffs that live database against the schema, so the engine
 * describes real PostgreSQL state exactly as `migrate dev` does with its shadow database. The scratch database is
 * dropped whatever happens. (The Wasm engine's createMigration cannot be used: it has no way to get a shadow
 * database for PostgreSQL and fails with "PostgreSQL shadow DB must be provided through an external factory".)
 */
export async function diffMigrationsToSchema(options: DiffMigrationsToSchemaOptions): Promise<string | null> {
  const scratch = await createScratchDatabase(options.databaseUrl, 'replay');
  try {
    return await withSchemaEngine({ databaseUrl: scratch.url, schemaFiles: options.schemaFiles }, async (engine) => {
      await engine.applyMigrations({ migrationsList: options.migrationsList, filters: NO_FILTERS });
      const configDir = path.dirname(path.resolve(options.schemaFiles[0]?.path ?? '.'));
      const { exitCode, stdout } = await engine.diff({
        // `schemaDatasource`: the live database behind the engine's connection (the scratch one).
        from: { tag: 'schemaDatasource', files: options.schemaFiles, configDir },
        to: { tag: 'schemaDatamodel', files: options.schemaFiles },
        script: true,
        exitCode: true,
        filters: NO_FILTERS,
      });
      return exitCode === DIFF_NOT_EMPTY ? (stdout ?? '') : null;
    });
  } finally {
    await scratch.drop();
  }
}
