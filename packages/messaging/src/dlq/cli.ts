import amqp from 'amqplib';
import type { ChannelModel } from 'amqplib';
import { parseArgs } from 'node:util';
import {
  type DeadLetterEntry,
  DEFAULT_LIST_LIMIT,
  discardDeadLetters,
  listDeadLetters,
  purgeDeadLetters,
  replayDeadLetters,
  showDeadLetter,
} from './dlq-admin.js';
import { maskUrl } from '../observability/messaging-logger.js';
import { outboxMain } from '../outbox-admin/outbox-cli.js';
import { errorMessage } from '../to-error.js';
import { formatTextTable, truncate } from '../text-table.js';

/** Broker used when `RABBITMQ_URL` is not set: the local development one. */
export const DEFAULT_RABBITMQ_URL = 'amqp://guest:guest@127.0.0.1:5672';

export const EXIT_OK = 0;
export const EXIT_FAILURE = 1;
export const EXIT_USAGE = 2;

const USAGE = `usage: switchyard dlq <command> [options]

commands:
  list <queue> [--limit N] [--json]              dead letters (id, type, reason, attempts, last failure, copies); reads without consuming
  show <queue> <eventId>                         one dead letter: properties, all headers, the body and its copy count
  replay <queue> (--id <eventId>... | --all)     publish each once again with the original routing key and id, then remove it
                                                 and its extra copies from the DLQ
  discard <queue> --id <eventId>...              delete these dead letters, every copy, without publishing them
  purge <queue> --yes                            delete every dead letter of the queue

A dead letter is counted, replayed and discarded once per event id, however many copies of it the DLQ holds
(same id and body: a copy made twice when an ack was lost).

<queue> is a consumer queue (order-service.user-events) or its DLQ (order-service.user-events.dlq).
options:
  --exchange <name>   exchange to replay to (default: the message's original exchange, else switchyard.events)
environment:
  RABBITMQ_URL        default ${DEFAULT_RABBITMQ_URL}; in production the switchyard-dlq broker identity: replay
                      publishes under the producer's recorded user-id, which needs its impersonator tag
exit codes: 0 ok, 1 failure, 2 usage

usage: switchyard outbox (list | retry | discard) [options]   outbox rows the relay parked; switchyard outbox --help`;

export interface CliIo {
  stdout(text: string): void;
  stderr(text: string): void;
  env: Record<string, string | undefined>;
}

const processIo: CliIo = {
  stdout: (text) => process.stdout.write(`${text}\n`),
  stderr: (text) => process.stderr.write(`${text}\n`),
  env: process.env,
};

class UsageError extends Error {}

/** Runs `switchyard <argv>`; resolves to the exit code. Never throws. */
export async function main(argv: readonly string[], io: CliIo = processIo): Promise<number> {
  if (argv[0] === 'outbox') return outboxMain(argv.slice(1), io);
  let parsed: ReturnType<typeof parse>;
  try {
    parsed = parse(argv);
  } catch (error) {
    io.stderr(`${errorMessage(error)}\n\n${USAGE}`);
    return EXIT_USAGE;
  }
  if (parsed.help) {
    io.stdout(USAGE);
    return EXIT_OK;
  }
  const url = io.env.RABBITMQ_URL || DEFAULT_RABBITMQ_URL;
  let connection: ChannelModel;
  try {
    connection = await amqp.connect(url, { timeout: 10_000 });
  } catch (error) {
    io.stderr(`cannot connect to RabbitMQ at ${maskUrl(url)}: ${errorMessage(error)}`);
    return EXIT_FAILURE;
  }
  connection.on('error', () => undefined);
  try {
    return await run(connection, parsed, io);
  } catch (error) {
    io.stderr(`${parsed.command} failed: ${describe(error)}`);
    return EXIT_FAILURE;
  } finally {
    await connection.close().catch(() => undefined);
  }
}

type Parsed =
  | { help: true; command: 'help' }
  | { help: false; command: 'list'; queue: string; limit: number; json: boolean }
  | { help: false; command: 'show'; queue: string; eventId: string }
  | { help: false; command: 'replay'; queue: string; ids: string[]; all: boolean; exchange: string | undefined }
  | { help: false; command: 'discard'; queue: string; ids: string[] }
  | { help: false; command: 'purge'; queue: string };

function parse(argv: readonly string[]): Parsed {
  const { values, positionals } = parseArgs({
    args: [...argv],
    allowPositionals: true,
    strict: true,
    options: {
      help: { type: 'boolean', short: 'h' },
      limit: { type: 'string' },
      json: { type: 'boolean' },
      id: { type: 'string', multiple: true },
      all: { type: 'boolean' },
      yes: { type: 'boolean' },
      exchange: { type: 'string' },
    },
  });
  if (values.help) return { help: true, command: 'help' };
  const [group, command, queue, ...rest] = positionals;
  if (group !== 'dlq') throw new UsageError(group ? `unknown command '${group}'` : 'missing command');
  if (!command) throw new UsageError('missing dlq command');
  if (!queue) throw new UsageError(`dlq ${command} needs a queue`);
  const extra = (allowed: number): void => {
    if (rest.length > allowed) throw new UsageError(`unexpected argument '${rest[allowed]}'`);
  };
  switch (command) {
    case 'list': {
      extra(0);
      const limit = values.limit === undefined ? DEFAULT_LIST_LIMIT : Number(values.limit);
      if (!Number.isSafeInteger(limit) || limit < 1) throw new UsageError('--limit must be a positive integer');
      return { help: false, command, queue, limit, json: values.json ?? false };
    }
    case 'show': {
      extra(1);
      const eventId = rest[0];
      if (!eventId) throw new UsageError('dlq show needs an event id');
      return { help: false, command, queue, eventId };
    }
    case 'replay': {
      extra(0);
      const ids = values.id ?? [];
      const all = values.all ?? false;
      if (all === ids.length > 0) throw new UsageError('dlq replay needs either --id <eventId> (repeatable) or --all');
      return { help: false, command, queue, ids, all, exchange: values.exchange };
    }
    case 'discard': {
      extra(0);
      const ids = values.id ?? [];
      if (ids.length === 0) throw new UsageError('dlq discard needs --id <eventId> (repeatable)');
      return { help: false, command, queue, ids };
    }
    case 'purge': {
      extra(0);
      if (!values.yes) throw new UsageError('dlq purge deletes messages for good: add --yes');
      return { help: false, command, queue };
    }
    default:
      throw new UsageError(`unknown dlq command '${command}'`);
  }
}

async function run(connection: ChannelModel, parsed: Exclude<Parsed, { help: true }>, io: CliIo): Promise<number> {
  switch (parsed.command) {
    case 'list': {
      const list = await listDeadLetters(connection, parsed.queue, { limit: parsed.limit });
      if (parsed.json) {
        io.stdout(JSON.stringify(list, null, 2));
      } else {
        io.stdout(table(list.items));
        io.stdout(
          `${list.items.length} of ${list.deadLetters} dead letter(s) in ${list.queue} (${list.total} message(s))`,
        );
      }
      return EXIT_OK;
    }
    case 'show': {
      const letter = await showDeadLetter(connection, parsed.queue, parsed.eventId);
      if (!letter) {
        io.stderr(`no dead letter with id ${parsed.eventId} in ${parsed.queue}`);
        return EXIT_FAILURE;
      }
      const { body, ...rest } = letter;
      io.stdout(
        JSON.stringify(
          { ...rest, body: bodyOf(body) },
          (_key, value: unknown) => (typeof value === 'bigint' ? value.toString() : value),
          2,
        ),
      );
      return EXIT_OK;
    }
    case 'replay': {
      const result = await replayDeadLetters(connection, parsed.queue, {
        ids: parsed.ids,
        all: parsed.all,
        exchange: parsed.exchange,
      });
      io.stdout(
        `replayed ${result.replayed.length} message(s)${result.replayed.length ? `: ${result.replayed.join(', ')}` : ''}`,
      );
      if (result.removedCopies > 0) io.stdout(`removed ${result.removedCopies} extra copy(ies) without publishing`);
      for (const id of result.notFound) io.stderr(`not found: ${id}`);
      for (const failure of result.failed)
        io.stderr(`not replayed (still in the DLQ): ${failure.eventId ?? '(no id)'}: ${failure.error}`);
      return result.notFound.length > 0 || result.failed.length > 0 ? EXIT_FAILURE : EXIT_OK;
    }
    case 'discard': {
      const result = await discardDeadLetters(connection, parsed.queue, parsed.ids);
      io.stdout(
        `discarded ${result.discarded.length} dead letter(s) (${result.messages} message(s))` +
          (result.discarded.length ? `: ${result.discarded.join(', ')}` : ''),
      );
      for (const id of result.notFound) io.stderr(`not found: ${id}`);
      return result.notFound.length > 0 ? EXIT_FAILURE : EXIT_OK;
    }
    case 'purge': {
      const { messages, deadLetters } = await purgeDeadLetters(connection, parsed.queue);
      io.stdout(`purged ${deadLetters} dead letter(s) (${messages} message(s))`);
      return EXIT_OK;
    }
  }
}

function table(items: readonly DeadLetterEntry[]): string {
  const rows = [
    ['EVENT ID', 'TYPE', 'REASON', 'ATTEMPTS', 'LAST FAILURE', 'COPIES', 'ERROR'],
    ...items.map((item) => [
      item.eventId ?? '-',
      item.type ?? '-',
      item.reason,
      item.attempts?.toString() ?? '-',
      item.lastFailureAt ?? '-',
      item.copies.toString(),
      truncate(item.errorMessage ?? '', 60),
    ]),
  ];
  return formatTextTable(rows);
}

function bodyOf(body: Buffer): unknown {
  const text = body.toString('utf8');
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return text;
  }
}

function describe(error: unknown): string {
  const message = errorMessage(error);
  if (/NOT_FOUND - no queue/.test(message))
    return `queue not found (${message.replace(/^.*NOT_FOUND - /, '').replace(/"$/, '')})`;
  return message;
}
