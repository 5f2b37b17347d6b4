import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from '@jest/globals';
import { UserCreatedV2, UserDeletedV1 } from '@switchyard/contracts';
import {
  createTestDatabase,
  createTestVhost,
  type PgTransaction,
  pgTransactions,
  startFaultProxy,
  type TestDatabase,
  type TestVhost,
  waitFor,
} from '@switchyard/testing';
import amqp, { type Channel, type ChannelModel, type GetMessage } from 'amqplib';
import { randomUUID } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import { outboxRowToWire } from './event-codec.js';
import { EventPublisher } from './event-publisher.js';
import { inboxHandlerRunner } from '../consumer/inbox.js';
import { payloadHash } from '../consumer/payload-hash.js';
import { type MessagingLogger } from '../observability/messaging-logger.js';
import { addToOutbox, OUTBOX_NOTIFY_BURST } from './outbox.js';
import { OUTBOX_CLAIM_SQL } from './outbox-claim.js';
import { OutboxRelay, type OutboxRelayOptions, type OutboxRowPublisher } from './outbox-relay.js';
import { RabbitMqConnection } from '../connection/rabbitmq-connection.js';

const FIXTURE_SCHEMA = fileURLToPath(new URL('../../test/fixtures/schema.prisma', import.meta.url));
const EXCHANGE = 'switchyard.events';
const QUEUE = 'relay-test.user-events';

let db: TestDatabase;
let vhost: TestVhost;
let tx: ReturnType<typeof pgTransactions>;
let connection: RabbitMqConnection;
let publisher: EventPublisher;
let inspector: ChannelModel;
let channel: Channel;
const relays: OutboxRelay[] = [];

beforeAll(async () => {
  [db, vhost] = await Promise.all([createTestDatabase('relay', FIXTURE_SCHEMA), createTestVhost('relay')]);
  tx = pgTransactions(db.url);
  connection = new RabbitMqConnection({ url: vhost.url });
  await connection.start();
  publisher = new EventPublisher({ connection, exchanges: [EXCHANGE] });
  await publisher.start();
  inspector = await amqp.connect(vhost.url);
  channel = await inspector.createChannel();
  await channel.assertExchange(EXCHANGE, 'topic', { durable: true });
  await channel.assertQueue(QUEUE, { durable: true });
  await channel.bindQueue(QUEUE, EXCHANGE, 'user.deleted');
});

afterAll(async () => {
  await inspector?.close();
  await publisher?.close();
  await connection?.close();
  await tx?.end();
  await Promise.all([db?.drop(), vhost?.drop()]);
});

beforeEach(async () => {
  await channel.purgeQueue(QUEUE);
  await tx.query('DELETE FROM outbox_events; DELETE FROM inbox_events; DELETE FROM effects');
});

afterEach(async () => {
  await Promise.all(relays.splice(0).map((relay) => relay.stop()));
});

/** Publishes through `via` (the shared publisher by default); encoding throws synchronously for a bad row. */
function publishWith(via: () => EventPublisher = () => publisher): OutboxRowPublisher {
  return (row) => {
    const wire = outboxRowToWire(row, 'relay-test');
    return via().publish(EXCHANGE, wire.routingKey, wire.content, {
      ...wire.properties,
      headers: { ...wire.properties.headers },
    });
  };
}

function relay(options: Partial<OutboxRelayOptions> = {}, Relay: typeof OutboxRelay = OutboxRelay): OutboxRelay {
  const instance = new Relay({
    databaseUrl: db.url,
    publish: publishWith(),
    ...options,
  });
  relays.push(instance);
  return instance;
}

async function commitEvents(count: number): Promise<string[]> {
  return tx.run(async (t) => {
    const ids: string[] = [];
    for (let i = 0; i < count; i++)
      ids.push(await addToOutbox(t, UserDeletedV1, { userId: randomUUID(), occurredAt: new Date().toISOString() }));
    return ids;
  });
}

async function drainQueue(): Promise<GetMessage[]> {
  const messages: GetMessage[] = [];
  for (;;) {
    const message = await channel.get(QUEUE, { noAck: true });
    if (!message) return messages;
    messages.push(message);
  }
}

async function unsentCount(): Promise<number> {
  const { rows } = await tx.query<{ n: string }>('SELECT count(*) AS n FROM outbox_events WHERE sent_at IS NULL');
  return Number(rows[0]!.n);
}

/** Resolves once the relay's LISTEN has run on this test's database (its wake-up after it follows at once). */
async function relayListening(): Promise<void> {
  await waitFor('the relay to listen', async () => {
    const { rows } = await tx.query<{ n: string }>(
      `SELECT count(*) AS n FROM pg_stat_activity WHERE datname = $1 AND query LIKE 'LISTEN%' AND state = 'idle'`,
      [db.name],
    );
    return rows[0]!.n !== '0';
  });
}

/** Resolves when `count` parties have arrived: concurrent writers reaching the same point together. */
function barrier(count: number): { arrive(): Promise<void> } {
  let arrived = 0;
  let release!: () => void;
  const all = new Promise<void>((resolve) => (release = resolve));
  return {
    arrive: () => {
      if (++arrived === count) release();
      return all;
    },
  };
}

/** An open transaction on its own connection that wrote one event; records whether its write sent a NOTIFY. */
interface HeldWriter {
  id: string;
  notified: boolean;
  commit(): Promise<void>;
  rollback(): Promise<void>;
}

/** `count` writers, each in its own transaction, whose `addToOutbox` calls reach the NOTIFY rate limit together. */
async function heldWriters(count: number): Promise<HeldWriter[]> {
  const inserted = barrier(count);
  return Promise.all(
    Array.from({ length: count }, async () => {
      const client = new pg.Client({ connectionString: db.url });
      await client.connect();
      await client.query('BEGIN');
      let notified = false;
      const t: PgTransaction = {
        $executeRawUnsafe: async (sql, ...values) => {
          if (sql.includes('pg_notify')) notified = true;
          const result = await client.query(sql, values);
          if (sql.includes('INSERT INTO outbox_events')) await inserted.arrive();
          return result.rowCount ?? 0;
        },
        $queryRawUnsafe: async <T>(sql: string, ...values: unknown[]) => (await client.query(sql, values)).rows as T,
      };
      const id = await addToOutbox(t, UserDeletedV1, { userId: randomUUID(), occurredAt: new Date().toISOString() });
      const finish = async (command: string): Promise<void> => {
        await client.query(command);
        await client.end();
      };
      return { id, notified, commit: () => finish('COMMIT'), rollback: () => finish('ROLLBACK') };
    }),
  );
}

describe('OutboxRelay', () => {
  it('publishes committed events with the full envelope and marks them sent', async () => {
    const ids = await commitEvents(3);
    expect(await relay().drain()).toBe(3);
    expect(await unsentCount()).toBe(0);
    const messages = await waitFor('three messages', async () => {
      const { messageCount } = await channel.checkQueue(QUEUE);
      return messageCount === 3 ? drainQueue() : undefined;
    });
    expect(messages.map((m) => m.properties.messageId)).toEqual(ids);
    const first = messages[0]!;
    expect(first.properties).toMatchObject({
      type: 'user.deleted',
      contentType: 'application/json',
      appId: 'relay-test',
      deliveryMode: 2,
    });
    expect(first.properties.headers).toMatchObject({
      cloudEvents_id: ids[0],
      cloudEvents_type: 'user.deleted',
      cloudEvents_source: 'relay-test',
      'x-event-version': 1,
    });
  });

  it('publishes nothing for a transaction that rolled back', async () => {
    await expect(
      tx.run(async (t) => {
        await addToOutbox(t, UserDeletedV1, { userId: randomUUID(), occurredAt: new Date().toISOString() });
        throw new Error('business rule failed after the event was written');
      }),
    ).rejects.toThrow('business rule failed');
    expect(await relay().drain()).toBe(0);
    expect((await channel.checkQueue(QUEUE)).messageCount).toBe(0);
  });

  it('refuses event data that breaks its contract, failing the business transaction instead of the relay', async () => {
    await expect(
      tx.run((t) => addToOutbox(t, UserDeletedV1, { userId: 'not-a-uuid', occurredAt: 'yesterday' })),
    ).rejects.toThrow();
    expect(await unsentCount()).toBe(0);
  });

  it('is woken by the commit itself (NOTIFY), long before its next poll', async () => {
    relay({ pollIntervalMs: 60_000 }).start();
    // The relay drains once on start; give its LISTEN a moment to be in place by waiting for an idle drain.
    await waitFor(
      'the relay to listen',
      async () =>
        (await tx.query<{ n: string }>(`SELECT count(*) AS n FROM pg_stat_activity WHERE query LIKE 'LISTEN%'`))
          .rows[0]!.n !== '0',
    );
    const [id] = await commitEvents(1);
    const message = await waitFor('the event on the queue', () => channel.get(QUEUE, { noAck: true }), 5_000);
    expect(message && message.properties.messageId).toBe(id);
  });

  it('claims again right after a batch, so rows committed meanwhile without a NOTIFY of their own never wait for the poll', async () => {
    let committedDuringBatch: Promise<void> | undefined;
    let silent: HeldWriter[] = [];
    const publishing = publishWith();
    // A 30 s poll: only a NOTIFY or the relay's own follow-up claim can publish anything within this test.
    relay({
      pollIntervalMs: 30_000,
      publish: async (row) => {
        // The first batch is out: now the writers that sent no NOTIFY commit, after the claim that missed them.
        committedDuringBatch ??= Promise.all(silent.map((writer) => writer.commit())).then(() => undefined);
        await committedDuringBatch;
        return publishing(row);
      },
    }).start();
    await relayListening();

    const writers = await heldWriters(2 * OUTBOX_NOTIFY_BURST);
    const notifying = writers.filter((writer) => writer.notified);
    silent = writers.filter((writer) => !writer.notified);
    // The rate limit: the first writes of the burst notify, the rest rely on the relay looking again.
    expect(notifying).toHaveLength(OUTBOX_NOTIFY_BURST);
    expect(silent).toHaveLength(OUTBOX_NOTIFY_BURST);
    // Business rules failed in all notifying transactions but one: their NOTIFYs are dropped with them, so exactly
    // one wake-up reaches the relay, and nothing else would wake it before the poll.
    await Promise.all(notifying.slice(1).map((writer) => writer.rollback()));
    await notifying[0]!.commit();

    const expected = [notifying[0]!.id, ...silent.map((writer) => writer.id)];
    const messages = await waitFor(
      'every committed event on the queue',
      async () => ((await channel.checkQueue(QUEUE)).messageCount === expected.length ? drainQueue() : undefined),
      10_000,
    );
    expect(new Set(messages.map((m) => m.properties.messageId))).toEqual(new Set(expected));
    expect(await unsentCount()).toBe(0);
  }, 30_000);

  it('keeps looking often for a while after finding rows, so a row committed after its burst without a NOTIFY is not left for the poll', async () => {
    relay({ pollIntervalMs: 30_000 }).start();
    await relayListening();
    await commitEvents(1);
    await waitFor(
      'the notified event on the queue',
      async () => ((await channel.checkQueue(QUEUE)).messageCount === 1 ? drainQueue() : undefined),
      5_000,
    );
    // A writer whose NOTIFY the rate limit skipped, committing a few hundred ms after the batch: only the relay's
    // follow-up claims can publish it before the 30 s poll.
    await new Promise((resolve) => setTimeout(resolve, 300));
    const late = randomUUID();
    await tx.query(
      `INSERT INTO outbox_events (id, event_type, event_version, payload) VALUES ($1, 'user.deleted', 1, $2)`,
      [late, JSON.stringify({ userId: randomUUID(), occurredAt: new Date().toISOString() })],
    );
    const committedAt = performance.now();
    const [message] = await waitFor(
      'the silent event on the queue',
      async () => ((await channel.checkQueue(QUEUE)).messageCount === 1 ? drainQueue() : undefined),
      5_000,
    );
    expect(message!.properties.messageId).toBe(late);
    expect(performance.now() - committedAt).toBeLessThan(2_000);
  });

  it('publishes a burst from many concurrent writers well within the poll interval', async () => {
    relay({ pollIntervalMs: 30_000 }).start();
    await relayListening();
    const writers = pgTransactions(db.url, 20);
    const ids: string[] = [];
    const startedAt = performance.now();
    try {
      await Promise.all(
        Array.from({ length: 20 }, async () => {
          for (let i = 0; i < 15; i++) {
            ids.push(
              await writers.run((t) =>
                addToOutbox(t, UserDeletedV1, { userId: randomUUID(), occurredAt: new Date().toISOString() }),
              ),
            );
          }
        }),
      );
    } finally {
      await writers.end();
    }
    const messages: GetMessage[] = [];
    await waitFor(
      'all 300 events on the queue',
      async () => {
        messages.push(...(await drainQueue()));
        return messages.length >= ids.length;
      },
      15_000,
    );
    expect(performance.now() - startedAt).toBeLessThan(30_000);
    expect(new Set(messages.map((m) => m.properties.messageId))).toEqual(new Set(ids));
    expect(messages).toHaveLength(ids.length);
  }, 30_000);

  it('leaves a row it cannot encode due for other replicas (reason recorded, no hold), skips it and its key, and publishes the rest', async () => {
    const errors: Array<Record<string, unknown>> = [];
    const logger: MessagingLogger = {
      info: () => undefined,
      warn: () => undefined,
      error: (fields) => errors.push(fields),
    };
    const [before] = await commitEvents(1);
    const [unknownVersion, unknownType, blocked] = [randomUUID(), randomUUID(), randomUUID()];
    await tx.query(
      `INSERT INTO outbox_events (id, event_type, event_version, payload, ordering_key)
       VALUES ($1, 'user.deleted', 99, '{}', 'held-key'), ($2, 'no.such.event', 1, '{}', DEFAULT), ($3, 'user.deleted', 1, $4, 'held-key')`,
      [
        unknownVersion,
        unknownType,
        blocked,
        JSON.stringify({ userId: randomUUID(), occurredAt: new Date().toISOString() }),
      ],
    );
    const [after] = await commitEvents(1);
    const unencodable = [unknownVersion, unknownType];
    const state = async () =>
      (
        await tx.query<{
          id: string;
          attempts: number;
          last_error: string | null;
          sent_at: Date | null;
          due: boolean;
          version: string;
        }>(
          `SELECT id, attempts, last_error, sent_at, next_attempt_at <= now() AS due, xmin::text AS version FROM outbox_events WHERE id = ANY($1::uuid[]) ORDER BY sequence`,
          [[unknownVersion, unknownType, blocked]],
        )
      ).rows;

    const replica = relay({ logger });
    expect(await replica.drain()).toBe(2);
    const first = await state();
    // Still due: nothing hides them from a replica that can encode them. Not a failed publish attempt either.
    expect(first).toEqual([
      expect.objectContaining({
        id: unknownVersion,
        attempts: 0,
        last_error: expect.stringMatching(/^unpublishable: .*99/),
        sent_at: null,
        due: true,
      }),
      expect.objectContaining({
        id: unknownType,
        attempts: 0,
        last_error: expect.stringMatching(/^unpublishable: .*no\.such\.event/),
        sent_at: null,
        due: true,
      }),
      // The later row of the unencodable row's key waits behind it, untouched.
      expect.objectContaining({ id: blocked, attempts: 0, last_error: null, sent_at: null, due: true }),
    ]);
    expect(errors.map((fields) => fields.eventId).sort()).toEqual([...unencodable].sort());
    const messages = await waitFor('the two good events', async () =>
      (await channel.checkQueue(QUEUE)).messageCount === 2 ? drainQueue() : undefined,
    );
    expect(messages.map((m) => m.properties.messageId)).toEqual([before, after]);

    // This replica leaves them (and the key) alone meanwhile: no claim, no log line, no write (same row versions).
    expect(await replica.drain()).toBe(0);
    expect(errors).toHaveLength(2);
    expect(await state()).toEqual(first);
    expect(await unsentCount()).toBe(3);

    // Another replica still sees them: it tries them itself (and, with the same build, fails the same way).
    expect(await relay({ logger }).drain()).toBe(0);
    expect(errors.map((fields) => fields.eventId).sort()).toEqual([...unencodable, ...unencodable].sort());
    expect((await channel.checkQueue(QUEUE)).messageCount).toBe(0);
  });

  it('reschedules a row whose confirm timed out with doubling backoff, and publishes it once the link is healthy', async () => {
    const proxy = await startFaultProxy('relay → rabbitmq', { port: 5672 });
    const slowConnection = new RabbitMqConnection({ url: vhost.url.replace(':5672', `:${proxy.port}`) });
    const slowPublisher = new EventPublisher({
      connection: slowConnection,
      exchanges: [EXCHANGE],
      confirmTimeoutMs: 200,
    });
    try {
      await slowConnection.start();
      await slowPublisher.start();
      const [id] = await commitEvents(1);
      const retrying = relay({ publish: publishWith(() => slowPublisher) });
      const state = async () =>
        (
          await tx.query<{ attempts: number; last_error: string | null; sent_at: Date | null; retry_in_s: number }>(
            `SELECT attempts, last_error, sent_at, EXTRACT(EPOCH FROM next_attempt_at - now())::float8 AS retry_in_s FROM outbox_events WHERE id = $1`,
            [id],
          )
        ).rows[0]!;

      // Confirms now take a second each way: longer than the publisher waits.
      proxy.latency(1_000);
      expect(await retrying.drain()).toBe(0);
      const first = await state();
      expect(first).toMatchObject({
        attempts: 1,
        sent_at: null,
        last_error: expect.stringMatching(/^PublishTimeoutError: no publisher confirm/),
      });
      expect(first.retry_in_s).toBeGreaterThan(0);
      expect(first.retry_in_s).toBeLessThanOrEqual(1);
      expect(await retrying.drain()).toBe(0); // not due yet: not claimed

      await tx.query('UPDATE outbox_events SET next_attempt_at = now() WHERE id = $1', [id]);
      expect(await retrying.drain()).toBe(0);
      const second = await state();
      expect(second).toMatchObject({ attempts: 2, sent_at: null });
      expect(second.retry_in_s).toBeGreaterThan(1);
      expect(second.retry_in_s).toBeLessThanOrEqual(2);

      proxy.passThrough();
      await tx.query('UPDATE outbox_events SET next_attempt_at = now() WHERE id = $1', [id]);
      await waitFor('the publish to go through', async () => (await retrying.drain()) === 1, 15_000);
      expect((await state()).sent_at).not.toBeNull();
      // At least once: the timed-out attempts may have reached the queue too; every copy carries the same id.
      const messages = await waitFor('the event on the queue', async () => {
        const got = await drainQueue();
        return got.length > 0 ? got : undefined;
      });
      expect(new Set(messages.map((m) => m.properties.messageId))).toEqual(new Set([id]));
    } finally {
      await slowPublisher.close();
      await slowConnection.close();
      await proxy.close();
    }
  }, 30_000);

  it('claims through the (sent_at, sequence) index in order, one key-index probe per candidate, never sorting or hashing the unsent rows, backlog or not', async () => {
    interface PlanNode {
      'Node Type': string;
      'Index Name'?: string;
      Plans?: PlanNode[];
    }
    const nodes = (node: PlanNode): PlanNode[] => [node, ...(node.Plans ?? []).flatMap(nodes)];
    const claimPlan = async (): Promise<PlanNode[]> => {
      // As the owner: the runtime role may not ANALYZE (in production autovacuum does it).
      const owner = new pg.Client({ connectionString: db.ownerUrl });
      await owner.connect();
      await owner.query('ANALYZE outbox_events').finally(() => owner.end());
      const { rows } = await tx.query<{ 'QUERY PLAN': Array<{ Plan: PlanNode }> }>(
        `EXPLAIN (FORMAT JSON) ${OUTBOX_CLAIM_SQL}`,
        [100, []],
      );
      return nodes(rows[0]!['QUERY PLAN'][0]!.Plan);
    };
    // A backlog: 10k sent, 40k unsent (the broker was away for a while).
    await tx.query(
      `INSERT INTO outbox_events (id, event_type, event_version, payload, sent_at)
       SELECT gen_random_uuid(), 'user.deleted', 1, '{}', CASE WHEN g <= 10000 THEN now() END FROM generate_series(1, 50000) g`,
    );
    for (const plan of [
      await claimPlan(),
      await (async () => {
        // Healthy: days of sent rows kept for retention, a handful unsent.
        await tx.query(
          'UPDATE outbox_events SET sent_at = now() WHERE sequence NOT IN (SELECT sequence FROM outbox_events ORDER BY sequence DESC LIMIT 50)',
        );
        return claimPlan();
      })(),
    ]) {
      expect(plan.map((node) => node['Node Type'])).not.toContain('Sort');
      // "An earlier unsent row of the key?" is a probe of the key index per candidate, not a hash of the backlog.
      expect(plan.map((node) => node['Node Type'])).not.toContain('Hash');
      expect(plan.filter((node) => node['Node Type'].startsWith('Index')).map((node) => node['Index Name'])).toEqual([
        'outbox_events_sent_at_sequence_idx',
        'outbox_events_ordering_key_sent_at_sequence_idx',
      ]);
    }
  }, 30_000);

  it('deletes sent events and handled ids once they are past retention, and never unsent events', async () => {
    // Nothing is bound to user.created here: that event stays unsent (returned, backing off).
    const userId = randomUUID();
    const unsent = await tx.run((t) =>
      addToOutbox(t, UserCreatedV2, {
        userId,
        email: 'kept@example.com',
        name: 'Kept',
        marketingOptIn: false,
        locale: 'en',
        occurredAt: new Date().toISOString(),
      }),
    );
    const [sent] = await commitEvents(1);
    const handled = randomUUID();
    await tx.query(
      `INSERT INTO inbox_events (consumer, event_id, event_type, processed_at) VALUES ('q', $1, 'user.deleted', now() - interval '1 hour')`,
      [handled],
    );
    // The routable one is published, then purged (retention 1 ms) by the running relay, with the old inbox row.
    relay({ retentionMs: 1, inboxRetentionMs: 60_000 }).start();
    await waitFor(
      'the sent event to be purged',
      async () => (await tx.query('SELECT 1 FROM outbox_events WHERE id = $1', [sent])).rowCount === 0,
    );
    await waitFor(
      'the old inbox row to be purged',
      async () => (await tx.query('SELECT 1 FROM inbox_events WHERE event_id = $1', [handled])).rowCount === 0,
    );
    expect((await tx.query('SELECT sent_at FROM outbox_events WHERE id = $1', [unsent])).rows).toEqual([
      { sent_at: null },
    ]);
  });

  it('keeps an unroutable event unsent, records why, and backs off', async () => {
    await channel.unbindQueue(QUEUE, EXCHANGE, 'user.deleted');
    try {
      const [id] = await commitEvents(1);
      expect(await relay().drain()).toBe(0);
      const { rows } = await tx.query<{ attempts: number; last_error: string; sent_at: Date | null; due: boolean }>(
        'SELECT attempts, last_error, sent_at, next_attempt_at > now() AS due FROM outbox_events WHERE id = $1',
        [id],
      );
      expect(rows[0]).toMatchObject({ attempts: 1, sent_at: null, due: true });
      expect(rows[0]!.last_error).toMatch(/unroutable/);
      expect(publisher.stats().returned).toBeGreaterThanOrEqual(1);
    } finally {
      await channel.bindQueue(QUEUE, EXCHANGE, 'user.deleted');
    }
  });

  it('never publishes a row twice when several relays drain at once (SKIP LOCKED claims)', async () => {
    const ids = await commitEvents(150);
    const [a, b, c] = [relay({ batchSize: 10 }), relay({ batchSize: 10 }), relay({ batchSize: 10 })];
    const sent = await Promise.all([a.drain(), b.drain(), c.drain()]);
    expect(sent.reduce((x, y) => x + y, 0)).toBe(150);
    const messages = await waitFor('150 messages', async () =>
      (await channel.checkQueue(QUEUE)).messageCount === 150 ? drainQueue() : undefined,
    );
    expect(new Set(messages.map((m) => m.properties.messageId))).toEqual(new Set(ids));
  });

  it('re-publishes after a crash between publish and mark-sent, and the inbox keeps exactly one effect per event', async () => {
    class CrashingRelay extends OutboxRelay {
      crashes = 1;
      protected override async markSent(client: pg.PoolClient, sentIds: string[]): Promise<void> {
        if (this.crashes-- > 0)
          throw new Error('simulated crash after the broker confirmed, before the rows were marked');
        await super.markSent(client, sentIds);
      }
    }
    const ids = await commitEvents(5);
    const crashing = relay({}, CrashingRelay);
    await expect(crashing.drain()).rejects.toThrow('simulated crash');
    expect(await unsentCount()).toBe(5);
    expect(await crashing.drain()).toBe(5);
    expect(await unsentCount()).toBe(0);

    const messages = await waitFor('both copies of every event', async () =>
      (await channel.checkQueue(QUEUE)).messageCount === 10 ? drainQueue() : undefined,
    );
    const runner = inboxHandlerRunner((work) => tx.run(work));
    const outcomes: string[] = [];
    for (const message of messages) {
      const eventId = message.properties.messageId as string;
      // Both copies of a row carry the same body, so they hash alike: duplicates, not conflicting ones.
      const hash = payloadHash('user.deleted', JSON.parse(message.content.toString()));
      outcomes.push(
        await runner({ eventId, type: 'user.deleted', queue: QUEUE, payloadHash: hash }, async (t) => {
          await t.$executeRawUnsafe('INSERT INTO effects (event_id, label) VALUES ($1::uuid, $2)', eventId, 'handled');
        }),
      );
    }
    expect(outcomes.filter((o) => o === 'processed')).toHaveLength(5);
    expect(outcomes.filter((o) => o === 'duplicate')).toHaveLength(5);
    const { rows } = await tx.query<{ event_id: string }>('SELECT event_id FROM effects ORDER BY id');
    expect(rows.map((r) => r.event_id).sort()).toEqual([...ids].sort());
  });
});

describe('inbox', () => {
  const hash = payloadHash('user.deleted', { userId: randomUUID() });

  it('lets exactly one of two concurrent deliveries of the same event take effect', async () => {
    const eventId = randomUUID();
    const runner = inboxHandlerRunner((work) => tx.run(work));
    const handle = () =>
      runner({ eventId, type: 'user.deleted', queue: QUEUE, payloadHash: hash }, async (t) => {
        await t.$executeRawUnsafe('INSERT INTO effects (event_id, label) VALUES ($1::uuid, $2)', eventId, 'concurrent');
        await new Promise((resolve) => setTimeout(resolve, 100));
      });
    expect((await Promise.all([handle(), handle()])).sort()).toEqual(['duplicate', 'processed']);
    const { rows } = await tx.query<{ n: string }>('SELECT count(*) AS n FROM effects WHERE event_id = $1', [eventId]);
    expect(rows[0]!.n).toBe('1');
  });

  it('lets a redelivery take effect when the first attempt rolled back', async () => {
    const eventId = randomUUID();
    const runner = inboxHandlerRunner((work) => tx.run(work));
    await expect(
      runner({ eventId, type: 'user.deleted', queue: QUEUE, payloadHash: hash }, async () =>
        Promise.reject(new Error('handler failed')),
      ),
    ).rejects.toThrow('handler failed');
    await expect(
      runner({ eventId, type: 'user.deleted', queue: QUEUE, payloadHash: hash }, async (t) => {
        await t.$executeRawUnsafe('INSERT INTO effects (event_id, label) VALUES ($1::uuid, $2)', eventId, 'retry');
      }),
    ).resolves.toBe('processed');
  });
});
