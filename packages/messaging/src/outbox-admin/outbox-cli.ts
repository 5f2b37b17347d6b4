import pg from 'pg';
import { parseArgs } from 'node:util';
import { postgresConnectionOptions } from '@switchyard/service-kit';
import { type CliIo, EXIT_FAILURE, EXIT_OK, EXIT_USAGE } from '../dlq/cli.js';
import { maskUrl } from '../observability/messaging-logger.js';
import { errorMessage } from '../to-error.js';
import { formatTextTable, truncate } from '../text-table.js';
import {
  DEFAULT_PARKED_LIST_LIMIT,
  discardParkedRows,
  listParkedRows,
  type ParkedOutboxRow,
  type ParkedRowSelection,
  type ParkedRowsResult,
  retryParkedRows,
} from './outbox-admin.js';

export const OUTBOX_USAGE = `usage: switchyard outbox <command> [options]

Outbox rows the relay parked: no queue bound their event type for MESSAGING_OUTBOX_UNROUTABLE_MAX_ATTEMPTS attempts.
commands:
  list [--limit N] [--json]                      parked rows, oldest first (id, type, version, sequence, ordering key,
                                                 attempts, parked at, last error)
  retry (<eventId>... | --all)                   un-park: attempts 0, due now; the relay publishes them (declare the
                                                 missing queue or binding first, or they are parked again)
  discard (<eventId>... | --all --yes)           delete parked rows for good: their events are never published

options:
  --database-url <url>   the service's database (default: DATABASE_URL)
environment:
  DATABASE_URL           postgresql:// URL of the service's database (user-service's or order-service's)
exit codes: 0 ok, 1 failure (including ids not found or not parked), 2 usage`;

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

class UsageError extends Error {}

type Parsed =
  | { command: 'help' }
  | { command: 'list'; databaseUrl: string; limit: number; json: boolean }
  | { command: 'retry' | 'discard'; databaseUrl: string; selection: ParkedRowSelection };

/** Runs `switchyard outbox <argv>` (argv after `outbox`); resolves to the exit code. Never throws. */
export async function outboxMain(argv: readonly string[], io: CliIo): Promise<number> {
  let parsed: Parsed;
  try {
    parsed = parse(argv, io.env);
  } catch (error) {
    io.stderr(`${errorMessage(error)}\n\n${OUTBOX_USAGE}`);
    return EXIT_USAGE;
  }
  if (parsed.command === 'help') {
    io.stdout(OUTBOX_USAGE);
    return EXIT_OK;
  }
  const client = new pg.Client(postgresConnectionOptions(parsed.databaseUrl, { applicationName: 'switchyard-outbox' }));
  client.on('error', () => undefined);
  try {
    await client.connect();
  } catch (error) {
    io.stderr(`cannot connect to the database at ${maskUrl(parsed.databaseUrl)}: ${errorMessage(error)}`);
    await client.end().catch(() => undefined);
    return EXIT_FAILURE;
  }
  try {
    return await run(client, parsed, io);
  } catch (error) {
    io.stderr(`outbox ${parsed.command} failed: ${describe(error)}`);
    return EXIT_FAILURE;
  } finally {
    await client.end().catch(() => undefined);
  }
}

function parse(argv: readonly string[], env: CliIo['env']): Parsed {
  const { values, positionals } = parseArgs({
    args: [...argv],
    allowPositionals: true,
    strict: true,
    options: {
      help: { type: 'boolean', short: 'h' },
      'database-url': { type: 'string' },
      limit: { type: 'string' },
      json: { type: 'boolean' },
      all: { type: 'boolean' },
      yes: { type: 'boolean' },
    },
  });
  if (values.help) return { command: 'help' };
  const [command, ...ids] = positionals;
  if (!command) throw new UsageError('missing outbox command (list, retry or discard)');
  if (command !== 'list' && command !== 'retry' && command !== 'discard')
    throw new UsageError(`unknown outbox command '${command}'`);
  const databaseUrl = values['database-url'] || env.DATABASE_URL;
  if (!databaseUrl)
    throw new UsageError(
      'no database: pass --database-url postgresql://… or set DATABASE_URL to the service database holding the outbox',
    );
  if (!/^postgres(ql)?:\/\//.test(databaseUrl))
    throw new UsageError(`the database URL must be a postgresql:// URL, not ${maskUrl(databaseUrl)}`);
  if (command === 'list') {
    if (ids.length > 0) throw new UsageError(`unexpected argument '${ids[0]}'`);
    const limit = values.limit === undefined ? DEFAULT_PARKED_LIST_LIMIT : Number(values.limit);
    if (!Number.isSafeInteger(limit) || limit < 1) throw new UsageError('--limit must be a positive integer');
    return { command, databaseUrl, limit, json: values.json ?? false };
  }
  const all = values.all ?? false;
  if (all === ids.length > 0) throw new UsageError(`outbox ${command} needs either event ids or --all`);
  const malformed = ids.find((id) => !UUID.test(id));
  if (malformed !== undefined) throw new UsageError(`'${malformed}' is not an event id (a UUID, as outbox list shows)`);
  if (command === 'discard' && all && !values.yes)
    throw new UsageError('outbox discard --all deletes every parked event for good: add --yes');
  return { command, databaseUrl, selection: all ? { all: true } : { ids: ids.map((id) => id.toLowerCase()) } };
}

async function run(client: pg.Client, parsed: Exclude<Parsed, { command: 'help' }>, io: CliIo): Promise<number> {
  if (parsed.command === 'list') {
    const list = await listParkedRows(client, { limit: parsed.limit });
    if (parsed.json) {
      io.stdout(JSON.stringify(list, null, 2));
    } else {
      io.stdout(table(list.items));
      io.stdout(`${list.items.length} of ${list.total} parked outbox row(s)`);
    }
    return EXIT_OK;
  }
  const result =
    parsed.command === 'retry'
      ? await retryParkedRows(client, parsed.selection)
      : await discardParkedRows(client, parsed.selection);
  const verb = parsed.command === 'retry' ? 'retried' : 'discarded';
  io.stdout(`${verb} ${result.done.length} parked row(s)${result.done.length ? `: ${result.done.join(', ')}` : ''}`);
  return reportMisses(result, io);
}

function reportMisses(result: ParkedRowsResult, io: CliIo): number {
  for (const id of result.notFound) io.stderr(`not found: ${id} (no outbox row with this id in this database)`);
  for (const id of result.notParked)
    io.stderr(`not parked: ${id} (the relay still owns it, or has sent it; left alone)`);
  return result.notFound.length > 0 || result.notParked.length > 0 ? EXIT_FAILURE : EXIT_OK;
}

function table(items: readonly ParkedOutboxRow[]): string {
  const rows = [
    ['EVENT ID', 'TYPE', 'VERSION', 'SEQUENCE', 'ORDERING KEY', 'ATTEMPTS', 'PARKED AT', 'LAST ERROR'],
    ...items.map((item) => [
      item.id,
      item.eventType,
      String(item.eventVersion),
      item.sequence,
      item.orderingKey ?? '-',
      String(item.attempts),
      item.parkedAt,
      truncate(item.lastError ?? '', 80),
    ]),
  ];
  return formatTextTable(rows);
}

function describe(error: unknown): string {
  const message = errorMessage(error);
  if (/relation "outbox_events" does not exist/.test(message))
    return `${message}: is this a service database (user-service's or order-service's)?`;
  if (/column "parked_at" does not exist/.test(message))
    return `${message}: the database predates parking; run the service's migrations (npx switchyard-migrate deploy)`;
  return message;
}
