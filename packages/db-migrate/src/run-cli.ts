import { stat } from 'node:fs/promises';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { checkSchemaMatchesMigrations } from './check-schema.js';
import { createMigration } from './create-migration.js';
import { databaseNameOf, maskDatabaseUrl } from './database-url.js';
import { deployMigrations } from './deploy-migrations.js';
import { ensureDatabase } from './ensure-database.js';
import { normalizeMigrationName } from './migration-directory.js';
import { migrationStatus } from './migration-status.js';
import { SchemaEngineError } from './schema-engine.js';
import { resolveMigrationsDir } from './schema-files.js';

/** Exit codes: success, a failed check (or failed operation), wrong usage or configuration. */
export const EXIT_OK = 0;
export const EXIT_FAILED = 1;
export const EXIT_USAGE = 2;

export const USAGE = `Usage: switchyard-migrate <command> [options]

Commands:
  deploy          Create the database if missing, then apply pending migrations (prisma migrate deploy)
  create <name>   Write a new migration for the schema's changes, without applying it (migrate dev --create-only)
  status          List applied and pending migrations; exit 1 unless the database is up to date
  check           Exit 1 and print the missing SQL when schema.prisma and the migrations disagree

Options:
  --schema <path>       Prisma schema file or folder (default: prisma/schema.prisma)
  --migrations <dir>    Migrations folder (default: migrations beside the schema)
  -h, --help            Show this help

Environment:
  DATABASE_URL          postgresql://user:password@host:5432/database (required). create and check only use
                        its server, where they create and drop a scratch database.

Exit codes: 0 ok, 1 check or operation failed, 2 usage error.`;

/** Where the CLI writes; lines are written without trailing newline. */
export interface CliOutput {
  out(line: string): void;
  err(line: string): void;
}

/** Wrong invocation or configuration. `showUsage` adds the help text, for mistakes about commands and options. */
class UsageError extends Error {
  constructor(
    message: string,
    readonly showUsage = false,
  ) {
    super(message);
  }
}

/** Runs one CLI invocation and returns its exit code; never throws. */
export async function runCli(argv: string[], env: NodeJS.ProcessEnv, output: CliOutput): Promise<number> {
  const databaseUrl = env['DATABASE_URL'];
  try {
    const { values, positionals } = parseCommandLine(argv);
    const [command, ...rest] = positionals;
    if (values.help) {
      output.out(USAGE);
      return EXIT_OK;
    }
    if (command === undefined) throw new UsageError('a command is required (deploy, create, status or check)', true);
    if (!['deploy', 'create', 'status', 'check'].includes(command)) {
      throw new UsageError(`unknown command "${command}"`, true);
    }
    const expectedArguments = command === 'create' ? 1 : 0;
    if (rest.length !== expectedArguments) {
      const message = command === 'create' ? 'create takes one migration name' : `${command} takes no arguments`;
      throw new UsageError(message, true);
    }
    if (command === 'create') checkMigrationName(rest[0] ?? '');
    if (!databaseUrl) throw new UsageError('DATABASE_URL is not set: export the PostgreSQL URL to migrate');
    checkDatabaseUrl(databaseUrl);
    const schemaPath = values.schema ?? path.join('prisma', 'schema.prisma');
    await stat(schemaPath).catch(() => {
      throw new UsageError(`no Prisma schema at ${schemaPath} (use --schema <path>)`);
    });
    const options = { databaseUrl, schemaPath, migrationsDir: values.migrations };
    switch (command) {
      case 'deploy':
        return await deploy(options, output);
      case 'create':
        return await create({ ...options, name: rest[0] ?? '' }, output);
      case 'status':
        return await status(options, output);
      default:
        return await check(options, output);
    }
  } catch (error) {
    if (error instanceof UsageError) {
      output.err(`switchyard-migrate: ${error.message}`);
      if (error.showUsage) output.err(`\n${USAGE}`);
      return EXIT_USAGE;
    }
    output.err(`switchyard-migrate: ${redact(describeError(error), databaseUrl)}`);
    return EXIT_FAILED;
  }
}

interface CommandOptions {
  databaseUrl: string;
  schemaPath: string;
  migrationsDir: string | undefined;
}

async function deploy(options: CommandOptions, output: CliOutput): Promise<number> {
  const target = maskDatabaseUrl(options.databaseUrl);
  if ((await ensureDatabase(options.databaseUrl)).created) output.out(`Created database ${target}`);
  const { applied } = await deployMigrations(options);
  if (applied.length === 0) output.out(`No pending migrations to apply on ${target}`);
  else
    output.out(
      [`Applied ${applied.length} migration(s) to ${target}:`, ...applied.map((name) => `  ${name}`)].join('\n'),
    );
  return EXIT_OK;
}

async function create(options: CommandOptions & { name: string }, output: CliOutput): Promise<number> {
  const result = await createMigration(options);
  if (result.directory === null) {
    output.out('The schema matches the migrations: no migration created.');
    return EXIT_OK;
  }
  output.out(`Created ${path.relative(process.cwd(), result.directory) || result.directory}/migration.sql:\n`);
  output.out(result.sql.trimEnd());
  return EXIT_OK;
}

async function status(options: CommandOptions, output: CliOutput): Promise<number> {
  const result = await migrationStatus(options);
  const migrationsDir = await resolveMigrationsDir(options);
  output.out(`${maskDatabaseUrl(options.databaseUrl)} against ${migrationsDir}:`);
  const sections: Array<[string, string[]]> = [
    ['Applied', result.applied],
    ['Pending', result.pending],
    ['Failed (resolve before deploying)', result.failed],
    ['In the database but not in the migrations folder', result.unknownInDatabase],
  ];
  for (const [title, names] of sections) {
    if (names.length > 0) output.out([`${title}:`, ...names.map((name) => `  ${name}`)].join('\n'));
  }
  const upToDate = result.pending.length === 0 && result.failed.length === 0 && result.unknownInDatabase.length === 0;
  output.out(upToDate ? 'Database is up to date.' : 'Database is not up to date.');
  return upToDate ? EXIT_OK : EXIT_FAILED;
}

async function check(options: CommandOptions, output: CliOutput): Promise<number> {
  const result = await checkSchemaMatchesMigrations(options);
  if (result.inSync) {
    output.out('The schema matches the migrations.');
    return EXIT_OK;
  }
  output.err('The schema and the migrations are out of sync. Missing from the migrations (run create <name>):');
  output.out(result.sql.trimEnd());
  return EXIT_FAILED;
}

function checkDatabaseUrl(databaseUrl: string): void {
  try {
    databaseNameOf(databaseUrl);
  } catch (error) {
    throw new UsageError(`DATABASE_URL: ${error instanceof Error ? error.message : String(error)}`);
  }
}

/** A bad migration name is the user's input, not a failure of the tool. */
function checkMigrationName(name: string): void {
  try {
    normalizeMigrationName(name);
  } catch (error) {
    throw new UsageError(error instanceof Error ? error.message : String(error));
  }
}

function parseCommandLine(argv: string[]) {
  try {
    return parseArgs({
      args: argv,
      allowPositionals: true,
      strict: true,
      options: {
        schema: { type: 'string' },
        migrations: { type: 'string' },
        help: { type: 'boolean', short: 'h' },
      },
    });
  } catch (error) {
    throw new UsageError(error instanceof Error ? error.message : String(error), true);
  }
}

function describeError(error: unknown): string {
  if (error instanceof SchemaEngineError && error.code) return `${error.message} [${error.code}]`;
  // pg reports "connection refused" on a dual-stack host as an AggregateError with an empty message.
  if (error instanceof AggregateError && !error.message) return error.errors.map(describeError).join('; ');
  if (error instanceof Error) return error.message || error.name;
  return String(error);
}

/** Defence in depth: whatever an error message contains, the password from DATABASE_URL is never printed. */
function redact(message: string, databaseUrl: string | undefined): string {
  if (!databaseUrl) return message;
  let result = message.split(databaseUrl).join(maskDatabaseUrl(databaseUrl));
  try {
    const { password } = new URL(databaseUrl);
    for (const secret of new Set([password, decodeURIComponent(password)])) {
      if (secret) result = result.split(secret).join('***');
    }
  } catch {
    // An unparseable URL cannot be in the message in a recognisable form other than whole, handled above.
  }
  return result;
}
