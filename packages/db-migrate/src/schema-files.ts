import { readdir, readFile, stat } from 'node:fs/promises';
import path from 'node:path';
import type { SchemaContainer } from '@prisma/schema-engine-wasm/schema_engine_bg';

/**
 * Reads a Prisma schema: one `.prisma` file, or a folder of them (Prisma's multi-file schemas).
 * Paths are kept as given so engine errors point at files the user recognises.
 */
export async function readSchemaFiles(schemaPath: string): Promise<SchemaContainer[]> {
  const info = await stat(schemaPath).catch((error: unknown) => {
    throw new Error(`Cannot read the Prisma schema at ${schemaPath}`, { cause: error });
  });
  if (!info.isDirectory()) return [{ path: schemaPath, content: await readFile(schemaPath, 'utf8') }];
  const entries = await readdir(schemaPath, { recursive: true, withFileTypes: true });
  const files = entries
    .filter((entry) => entry.isFile() && entry.name.endsWith('.prisma'))
    .map((entry) => path.join(entry.parentPath, entry.name))
    .sort();
  if (files.length === 0) throw new Error(`No .prisma files in ${schemaPath}`);
  return Promise.all(files.map(async (file) => ({ path: file, content: await readFile(file, 'utf8') })));
}

/** Where a project's schema and migrations are. */
export interface MigrationPaths {
  /** A schema.prisma file, or a folder of .prisma files. */
  schemaPath: string;
  /** Defaults to Prisma's `migrations` folder beside the schema file (inside the folder for a multi-file schema). */
  migrationsDir?: string | undefined;
}

export async function resolveMigrationsDir({ schemaPath, migrationsDir }: MigrationPaths): Promise<string> {
  if (migrationsDir !== undefined) return migrationsDir;
  const isDirectory = await stat(schemaPath).then(
    (info) => info.isDirectory(),
    () => false,
  );
  return path.join(isDirectory ? schemaPath : path.dirname(schemaPath), 'migrations');
}
