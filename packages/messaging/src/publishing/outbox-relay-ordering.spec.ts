import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from '@jest/globals';
import {
  defineCatalog,
  type EventCatalog,
  eventCatalog,
  UserCreatedV1,
  UserCreatedV2,
  UserDeletedV1,
  UserUpdatedV1,
} from '@switchyard/contracts';
import {
  createTestDatabase,
  createTestVhost,
  type PgTransaction,
  pgTransactions,
  type TestDatabase,
  type TestVhost,
  waitFor,
} from '@switchyard/testing';
import amqp, { type Channel, type ChannelModel } from 'amqplib';
import { randomUUID } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { RabbitMqConnection } from '../connection/rabbitmq-connection.js';
import type { MessagingLogger } from '../observability/messaging-logger.js';
import { outboxRowToWire } from './event-codec.js';
import { EventPublisher } from './event-publisher.js';
import { addToOutbox, MAX_ORDERING_KEY_LENGTH } from './outbox.js';
import { OutboxRelay, type OutboxRelayOptions, type OutboxRow } from './outbox-relay.js';

// Two relays on one database, as two replicas during a rolling deploy: the newer build knows user.created v2, the
// older one only v1. Real Postgres and RabbitMQ. The older build's encoder is this build's after a decode with a real
// catalog lacking v2, which refuses the rows that build could not read; the rows it can read it would publish as v1
// rather than upcast to v2, which changes nothing for the relay.

const FIXTURE_SCHEMA = fileURLToPath(new URL('../../test/fixtures/schema.prisma', import.meta.url));
const EXCHANGE = 'switchyard.events';
const QUEUE = 'ordering-test.user-events';

/** The older build: user.created only up to v1. */
const olderCatalog = defineCatalog({
  'user.created': { producer: 'user-service', versions: [UserCreatedV1] },
  'user.updated': { producer: 'user-service', versions: [UserUpdatedV1] },
  'user.deleted': { producer: 'user-service', versions: [UserDeletedV1] },
});

let db: TestDatabase;
let vhost: TestVhost;
let tx: ReturnType<typeof pgTransactions>;
let inspector: ChannelModel;
let channel: Channel;
const cleanups: Array<() => Promise<void>> = [];

beforeAll(async () => {
  [db, vhost] = await Promise.all([createTestDatabase('ordering', FIXTURE_SCHEMA), createTestVhost('ordering')]);
  tx = pgTransactions(db.url, 10);
  inspector = await amqp.connect(vhost.url);
  channel = await inspector.createChannel();
  await channel.assertExchange(EXCHANGE, 'topic', { durable: true });
  await channel.assertQueue(QUEUE, { durable: true });
  await channel.bindQueue(QUEUE, EXCHANGE, 'user.*');
});

afterAll(async () => {
  await inspector?.close();
  await tx?.end();
  await Promise.all([db?.drop(), vhost?.drop()]);
});

beforeEach(async () => {
  await channel.purgeQueue(QUEUE);
  await tx.query('DELETE FROM outbox_events');
});

afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

/** When each row's publish started and was confirmed, whoever published it. */
interface PublishLog {
  startedAt: Map<string, number>;
  confirmedAt: Map<string, number>;
}

/** A replica: its own connection and publisher, encoding what `catalog` knows; its error log lines are kept. */
async function replica(
  catalog: EventCatalog,
  log: PublishLog,
  options: Partial<OutboxRelayOptions> = {},
): Promise<{ relay: OutboxRelay; errors: Array<Record<string, unknown>>; published: string[] }> {
  const connection = new RabbitMqConnection({ url: vhost.url });
  await connection.start();
  const publisher = new EventPublisher({ connection, exchanges: [EXCHANGE] });
  await publisher.start();
  const errors: Array<Record<string, unknown>> = [];
  const published: string[] = [];
  const logger: MessagingLogger = { info: () => undefined, warn: () => undefined, error: (f) => errors.push(f) };
  const relay = new OutboxRelay({
    databaseUrl: db.url,
    logger,
    publish: async (row: OutboxRow) => {
      catalog.decode(row.eventType, row.eventVersion, row.payload);
      const wire = outboxRowToWire(row, 'ordering-test');
      log.startedAt.set(row.id, performance.now());
      await publisher.publish(EXCHANGE, wire.routingKey, wire.content, {
        ...wire.properties,
        headers: { ...wire.properties.headers },
      });
      log.confirmedAt.set(row.id, performance.now());
      published.push(row.id);
    },
    ...options,
  });
  cleanups.push(async () => {
    await relay.stop();
    await publisher.close();
    await connection.close();
  });
  return { relay, errors, published };
}

type Kind = 'created.v1' | 'created.v2' | 'updated' | 'deleted';

/** Writes one event of `userId` the way each build would: v1 rows come from an older writer, the rest via addToOutbox. */
async function write(t: PgTransaction, userId: string, kind: Kind): Promise<string> {
  const occurredAt = new Date().toISOString();
  const user = { userId, email: `${userId}@example.com`, name: 'Ada' };
  switch (kind) {
    case 'created.v1': {
      const id = randomUUID();
      await t.$executeRawUnsafe(
        `INSERT INTO outbox_events (id, event_type, event_version, payload, ordering_key) VALUES ($1::uuid, 'user.created', 1, $2::jsonb, $3)`,
        id,
        JSON.stringify({ ...user, occurredAt }),
        userId,
      );
      return id;
    }
    case 'created.v2':
      return addToOutbox(t, UserCreatedV2, { ...user, marketingOptIn: true, locale: 'en', occurredAt });
    case 'updated':
      return addToOutbox(t, UserUpdatedV1, { userId, changes: { name: 'Grace' }, occurredAt });
    case 'deleted':
      return addToOutbox(t, UserDeletedV1, { userId, occurredAt });
  }
}

const KINDS: readonly Kind[] = ['created.v1', 'created.v2', 'updated', 'deleted'];

/** Every key's events, one transaction each, in order per key (as the entity's row lock would have it), keys at once. */
async function traffic(keys: readonly string[], eventsPerKey: number, order: Map<string, string[]>): Promise<void> {
  await Promise.all(
    keys.map(async (key, k) => {
      for (let i = 0; i < eventsPerKey; i++) {
        // Versions interleaved within and across keys: every key has a v2 row somewhere, most have several.
        const kind = i === k % eventsPerKey ? 'created.v2' : KINDS[(k * 7 + i * 3) % KINDS.length]!;
        const id = await tx.run((t) => write(t, key, kind));
        order.set(key, [...(order.get(key) ?? []), id]);
        await new Promise((resolve) => setTimeout(resolve, (k + i) % 5));
      }
    }),
  );
}

describe('OutboxRelay ordering', () => {
  it('publishes every key in sequence with replicas that differ by one event version, during traffic, holding nothing back', async () => {
    const log: PublishLog = { startedAt: new Map(), confirmedAt: new Map() };
    const older = await replica(olderCatalog, log, { batchSize: 20 });
    const newer = await replica(eventCatalog, log, { batchSize: 20 });
    const received: Array<{ id: string; key: string }> = [];
    const { consumerTag } = await channel.consume(
      QUEUE,
      (message) => {
        if (!message) return;
        const { userId } = JSON.parse(message.content.toString()) as { userId: string };
        received.push({ id: message.properties.messageId as string, key: userId });
      },
      { noAck: true },
    );
    cleanups.push(async () => {
      await channel.cancel(consumerTag);
    });

    const keys = Array.from({ length: 40 }, () => randomUUID());
    const order = new Map<string, string[]>();
    // A first wave that only the older replica sees: it publishes up to each key's first v2 row and stops that key.
    await traffic(keys.slice(0, 20), 6, order);
    const publishedAlone = await older.relay.drain();
    expect(publishedAlone).toBeGreaterThan(0);
    expect(older.errors.length).toBeGreaterThan(0);
    // Then both run while the traffic goes on.
    older.relay.start();
    newer.relay.start();
    await Promise.all([traffic(keys.slice(0, 20), 6, order), traffic(keys.slice(20), 12, order)]);
    const trafficEndedAt = performance.now();
    const total = [...order.values()].reduce((n, ids) => n + ids.length, 0);

    await waitFor('every event on the queue', () => received.length >= total, 15_000);
    // Nothing waited for a timer: all out within a few seconds of the last write.
    expect(performance.now() - trafficEndedAt).toBeLessThan(5_000);
    expect(received).toHaveLength(total);
    const { rows } = await tx.query<{ unsent: string; held: string }>(
      `SELECT count(*) FILTER (WHERE sent_at IS NULL) AS unsent,
              count(*) FILTER (WHERE next_attempt_at > created_at + interval '1 minute') AS held FROM outbox_events`,
    );
    expect(rows[0]).toEqual({ unsent: '0', held: '0' });

    // Per key, as consumed from the queue: exactly the order the events were written in.
    for (const [key, ids] of order) {
      expect(received.filter((message) => message.key === key).map((message) => message.id)).toEqual(ids);
    }
    // And no relay even started a row's publish before the key's previous row was confirmed.
    for (const ids of order.values()) {
      for (let i = 1; i < ids.length; i++)
        expect(log.startedAt.get(ids[i]!)!).toBeGreaterThanOrEqual(log.confirmedAt.get(ids[i - 1]!)!);
    }
    // Both replicas did part of the work; only the newer one published v2 rows, which the older one left due.
    const v2 = await tx.query<{ id: string }>(`SELECT id FROM outbox_events WHERE event_version = 2`);
    expect(older.published.length).toBeGreaterThan(0);
    expect(newer.published.length).toBeGreaterThan(0);
    expect(older.published.filter((id) => v2.rows.some((row) => row.id === id))).toEqual([]);
    expect(older.errors.filter((fields) => !v2.rows.some((row) => row.id === fields.eventId))).toEqual([]);
  }, 60_000);

  it('tries a row it could not encode again after the re-check delay, without writing to it in between', async () => {
    const log: PublishLog = { startedAt: new Map(), confirmedAt: new Map() };
    const older = await replica(olderCatalog, log, { unencodableRecheckMs: 1_000 });
    const userId = randomUUID();
    const id = await tx.run((t) => write(t, userId, 'created.v2'));
    const version = async () =>
      (await tx.query<{ v: string }>('SELECT xmin::text AS v FROM outbox_events WHERE id = $1', [id])).rows[0]!.v;

    expect(await older.relay.drain()).toBe(0);
    expect(older.errors).toHaveLength(1);
    const recorded = await version();
    expect(await older.relay.drain()).toBe(0);
    expect(older.errors).toHaveLength(1);
    expect(await version()).toBe(recorded);
    await waitFor(
      'the re-check',
      async () => {
        await older.relay.drain();
        return older.errors.length === 2;
      },
      5_000,
      100,
    );
  });
});

describe('addToOutbox ordering keys', () => {
  const keyOf = async (id: string) =>
    (await tx.query<{ key: string }>('SELECT ordering_key AS key FROM outbox_events WHERE id = $1', [id])).rows[0]!.key;

  it("keys an event by its contract's aggregate field unless the caller names a key", async () => {
    const userId = randomUUID();
    const occurredAt = new Date().toISOString();
    const [byContract, byCaller] = await tx.run(async (t) => [
      await addToOutbox(t, UserDeletedV1, { userId, occurredAt }),
      await addToOutbox(t, UserDeletedV1, { userId, occurredAt }, { orderingKey: 'tenant-7' }),
    ]);
    expect(await keyOf(byContract)).toBe(userId);
    expect(await keyOf(byCaller)).toBe('tenant-7');
  });

  it('refuses an empty or oversized key with a clear error, writing nothing', async () => {
    const data = { userId: randomUUID(), occurredAt: new Date().toISOString() };
    for (const orderingKey of ['', 'k'.repeat(MAX_ORDERING_KEY_LENGTH + 1)]) {
      await expect(tx.run((t) => addToOutbox(t, UserDeletedV1, data, { orderingKey }))).rejects.toThrow(
        /orderingKey option must be a non-empty string of at most 200 characters/,
      );
    }
    expect((await tx.query('SELECT 1 FROM outbox_events')).rowCount).toBe(0);
  });
});
