import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { UserCreatedV2 } from '@switchyard/contracts';
import {
  createTestDatabase,
  createTestVhost,
  pgTransactions,
  type TestDatabase,
  type TestVhost,
  waitFor,
} from '@switchyard/testing';
import amqp, { type Channel, type ChannelModel } from 'amqplib';
import { randomUUID } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { RabbitMqConnection } from '../connection/rabbitmq-connection.js';
import { type CliIo, main } from '../dlq/cli.js';
import { outboxRowToWire } from '../publishing/event-codec.js';
import { EventPublisher } from '../publishing/event-publisher.js';
import { addToOutbox } from '../publishing/outbox.js';
import { OutboxRelay } from '../publishing/outbox-relay.js';

// `switchyard outbox` against a real database whose relay parked rows on a real broker.

const FIXTURE_SCHEMA = fileURLToPath(new URL('../../test/fixtures/schema.prisma', import.meta.url));
const EXCHANGE = 'switchyard.events';
const QUEUE = 'outbox-cli.user-created';

let db: TestDatabase;
let vhost: TestVhost;
let tx: ReturnType<typeof pgTransactions>;
let connection: RabbitMqConnection;
let publisher: EventPublisher;
let inspector: ChannelModel;
let channel: Channel;
let relay: OutboxRelay;
/** Committed while nothing bound user.created, and parked at the first attempt. */
let parked: string[];

beforeAll(async () => {
  [db, vhost] = await Promise.all([createTestDatabase('outbox_cli', FIXTURE_SCHEMA), createTestVhost('outbox_cli')]);
  tx = pgTransactions(db.url);
  connection = new RabbitMqConnection({ url: vhost.url });
  await connection.start();
  publisher = new EventPublisher({ connection, exchanges: [EXCHANGE] });
  await publisher.start();
  inspector = await amqp.connect(vhost.url);
  channel = await inspector.createChannel();
  await channel.assertExchange(EXCHANGE, 'topic', { durable: true });
  relay = new OutboxRelay({
    databaseUrl: db.url,
    unroutableMaxAttempts: 1,
    pollIntervalMs: 200,
    publish: (row) => {
      const wire = outboxRowToWire(row, 'outbox-cli-test');
      return publisher.publish(EXCHANGE, wire.routingKey, wire.content, {
        ...wire.properties,
        headers: { ...wire.properties.headers },
      });
    },
  });
  parked = [];
  for (let i = 0; i < 3; i++)
    parked.push(
      await tx.run((t) =>
        addToOutbox(t, UserCreatedV2, {
          userId: randomUUID(),
          email: `late-${i}@example.com`,
          name: `Late ${i}`,
          marketingOptIn: false,
          locale: 'en',
          occurredAt: new Date().toISOString(),
        }),
      ),
    );
  expect(await relay.drain()).toBe(0);
  relay.start();
});

afterAll(async () => {
  await relay?.stop();
  await inspector?.close();
  await publisher?.close();
  await connection?.close();
  await tx?.end();
  await Promise.all([db?.drop(), vhost?.drop()]);
});

async function run(...argv: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  let stdout = '';
  let stderr = '';
  const io: CliIo = {
    stdout: (text) => (stdout += `${text}\n`),
    stderr: (text) => (stderr += `${text}\n`),
    env: { DATABASE_URL: db.url },
  };
  const code = await main(argv, io);
  return { code, stdout, stderr };
}

describe('switchyard outbox (CLI)', () => {
  it('lists parked rows as a table or as JSON', async () => {
    const table = await run('outbox', 'list');
    expect(table.code).toBe(0);
    expect(table.stdout).toMatch(
      /EVENT ID\s+TYPE\s+VERSION\s+SEQUENCE\s+ORDERING KEY\s+ATTEMPTS\s+PARKED AT\s+LAST ERROR/,
    );
    for (const id of parked) expect(table.stdout).toContain(id);
    expect(table.stdout).toContain('user.created');
    expect(table.stdout).toContain('parked: unroutable after 1 attempts');
    expect(table.stdout).toContain('3 of 3 parked outbox row(s)');

    const json = await run('outbox', 'list', '--json', '--limit', '2');
    expect(json.code).toBe(0);
    expect(JSON.parse(json.stdout)).toEqual({
      total: 3,
      items: parked.slice(0, 2).map((id) =>
        expect.objectContaining({
          id,
          eventType: 'user.created',
          eventVersion: 2,
          attempts: 1,
          parkedAt: expect.stringMatching(/^\d{4}-\d\d-\d\dT/),
          lastError: expect.stringMatching(/^parked: unroutable after 1 attempts: UnroutableMessageError/),
        }),
      ),
    });
  });

  it('retries a parked row, which the relay then delivers once its queue exists', async () => {
    await channel.assertQueue(QUEUE, { durable: false });
    await channel.bindQueue(QUEUE, EXCHANGE, 'user.created');
    const retried = await run('outbox', 'retry', parked[0]!);
    expect(retried).toMatchObject({ code: 0, stdout: `retried 1 parked row(s): ${parked[0]}\n`, stderr: '' });
    const message = await waitFor(
      'the retried event on its queue',
      async () => (await channel.get(QUEUE, { noAck: true })) || undefined,
      15_000,
    );
    expect(message.properties.messageId).toBe(parked[0]);
    // Confirmed before it is marked sent: the mark follows in the relay's transaction.
    const row = await waitFor('the retried row to be marked sent', async () => {
      const { rows } = await tx.query<{ sent: boolean; parked: boolean }>(
        'SELECT sent_at IS NOT NULL AS sent, parked_at IS NOT NULL AS parked FROM outbox_events WHERE id = $1',
        [parked[0]],
      );
      return rows[0]?.sent ? rows[0] : undefined;
    });
    expect(row).toEqual({ sent: true, parked: false });
    // The others stay parked: retry touches only what it is given.
    expect(JSON.parse((await run('outbox', 'list', '--json')).stdout)).toMatchObject({ total: 2 });
    expect(await channel.get(QUEUE, { noAck: true })).toBe(false);

    // Sent now: no longer parked, so a second retry leaves it alone and says so.
    const again = await run('outbox', 'retry', parked[0]!);
    expect(again.code).toBe(1);
    expect(again.stderr).toContain(`not parked: ${parked[0]}`);
  }, 30_000);

  it('discards parked rows by id, then all of them with --yes', async () => {
    const unknown = randomUUID();
    const one = await run('outbox', 'discard', parked[1]!, unknown);
    expect(one.code).toBe(1);
    expect(one.stdout).toBe(`discarded 1 parked row(s): ${parked[1]}\n`);
    expect(one.stderr).toContain(`not found: ${unknown}`);

    const all = await run('outbox', 'discard', '--all', '--yes');
    expect(all).toMatchObject({ code: 0, stdout: `discarded 1 parked row(s): ${parked[2]}\n` });
    const { rows } = await tx.query<{ id: string }>('SELECT id FROM outbox_events WHERE id = ANY($1::uuid[])', [
      parked.slice(1),
    ]);
    expect(rows).toEqual([]);
    expect(await run('outbox', 'list')).toMatchObject({ code: 0, stdout: expect.stringContaining('0 of 0 parked') });
    expect(await run('outbox', 'retry', '--all')).toMatchObject({ code: 0, stdout: 'retried 0 parked row(s)\n' });
  });

  it('answers usage mistakes with exit code 2 and the fix, database trouble with 1, never echoing the password', async () => {
    const usage = async (argv: string[], env: CliIo['env'], says: string) => {
      let stderr = '';
      const code = await main(argv, { stdout: () => undefined, stderr: (text) => (stderr += text), env });
      expect({ code, says: stderr.includes(says) }).toEqual({ code: 2, says: true });
    };
    const env = { DATABASE_URL: db.url };
    await usage(['outbox'], env, 'missing outbox command');
    await usage(['outbox', 'frobnicate'], env, "unknown outbox command 'frobnicate'");
    await usage(['outbox', 'list'], {}, 'pass --database-url postgresql://… or set DATABASE_URL');
    await usage(['outbox', 'list', '--database-url', 'amqp://guest:s3cret@h'], {}, 'must be a postgresql:// URL');
    await usage(['outbox', 'retry'], env, 'outbox retry needs either event ids or --all');
    await usage(['outbox', 'retry', '--all', randomUUID()], env, 'needs either event ids or --all');
    await usage(['outbox', 'retry', 'not-an-id'], env, "'not-an-id' is not an event id");
    await usage(['outbox', 'discard', '--all'], env, 'add --yes');
    await usage(['outbox', 'list', '--limit', 'many'], env, '--limit must be a positive integer');
    await usage(['outbox', 'list', '--bogus'], env, '--bogus');

    const help = await run('outbox', '--help');
    expect(help.code).toBe(0);
    expect(help.stdout).toContain('usage: switchyard outbox <command>');
    expect((await run('--help')).stdout).toContain('switchyard outbox');

    // --database-url wins over DATABASE_URL.
    let stderr = '';
    const code = await main(['outbox', 'list', '--database-url', 'postgresql://postgres:s3cret@127.0.0.1:1/none'], {
      stdout: () => undefined,
      stderr: (text) => (stderr += text),
      env,
    });
    expect(code).toBe(1);
    expect(stderr).toContain('cannot connect to the database at postgresql://postgres:***@127.0.0.1:1/none');
    expect(stderr).not.toContain('s3cret');
  });
});
