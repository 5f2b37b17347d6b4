import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from '@jest/globals';
import { UserCreatedV2, UserDeletedV1 } from '@switchyard/contracts';
import { createTestDatabase, createTestVhost, pgTransactions, type TestDatabase, type TestVhost, waitFor } from '@switchyard/testing';
import amqp, { type Channel, type ChannelModel, type GetMessage } from 'amqplib';
import { randomUUID } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import type pg from 'pg';
import { outboxRowToWire } from './event-codec.js';
import { EventPublisher } from './event-publisher.js';
import { inboxHandlerRunner } from './inbox.js';
import { addToOutbox } from './outbox.js';
import { OutboxRelay, type OutboxRelayOptions } from './outbox-relay.js';
import { RabbitMqConnection } from './rabbitmq-connection.js';

const FIXTURE_SCHEMA = fileURLToPath(new URL('../test/fixtures/schema.prisma', import.meta.url));
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

function relay(options: Partial<OutboxRelayOptions> = {}, Relay: typeof OutboxRelay = OutboxRelay): OutboxRelay {
  const instance = new Relay({
    databaseUrl: db.url,
    publish: (row) => {
      const wire = outboxRowToWire(row, 'relay-test');
      return publisher.publish(EXCHANGE, wire.routingKey, wire.content, { ...wire.properties, headers: { ...wire.properties.headers } });
    },
    ...options,
  });
  relays.push(instance);
  return instance;
}

async function commitEvents(count: number): Promise<string[]> {
  return tx.run(async (t) => {
    const ids: string[] = [];
    for (let i = 0; i < count; i++) ids.push(await addToOutbox(t, UserDeletedV1, { userId: randomUUID(), occurredAt: new Date().toISOString() }));
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
    expect(first.properties).toMatchObject({ type: 'user.deleted', contentType: 'application/json', appId: 'relay-test', deliveryMode: 2 });
    expect(first.properties.headers).toMatchObject({ 'ce-id': ids[0], 'ce-type': 'user.deleted', 'ce-source': 'relay-test', 'x-event-version': 1 });
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
    await expect(tx.run((t) => addToOutbox(t, UserDeletedV1, { userId: 'not-a-uuid', occurredAt: 'yesterday' }))).rejects.toThrow();
    expect(await unsentCount()).toBe(0);
  });

  it('is woken by the commit itself (NOTIFY), long before its next poll', async () => {
    relay({ pollIntervalMs: 60_000 }).start();
    // The relay drains once on start; give its LISTEN a moment to be in place by waiting for an idle drain.
    await waitFor('the relay to listen', async () => (await tx.query<{ n: string }>(`SELECT count(*) AS n FROM pg_stat_activity WHERE query LIKE 'LISTEN%'`)).rows[0]!.n !== '0');
    const [id] = await commitEvents(1);
    const message = await waitFor('the event on the queue', () => channel.get(QUEUE, { noAck: true }), 5_000);
    expect(message && message.properties.messageId).toBe(id);
  });

  it('deletes sent events and handled ids once they are past retention, and never unsent events', async () => {
    // Nothing is bound to user.created here: that event stays unsent (returned, backing off).
    const userId = randomUUID();
    const unsent = await tx.run((t) =>
      addToOutbox(t, UserCreatedV2, { userId, email: 'kept@example.com', name: 'Kept', marketingOptIn: false, locale: 'en', occurredAt: new Date().toISOString() }),
    );
    const [sent] = await commitEvents(1);
    const handled = randomUUID();
    await tx.query(`INSERT INTO inbox_events (consumer, event_id, event_type, processed_at) VALUES ('q', $1, 'user.deleted', now() - interval '1 hour')`, [handled]);
    // The routable one is published, then purged (retention 1 ms) by the running relay, with the old inbox row.
    relay({ retentionMs: 1, inboxRetentionMs: 60_000 }).start();
    await waitFor('the sent event to be purged', async () => (await tx.query('SELECT 1 FROM outbox_events WHERE id = $1', [sent])).rowCount === 0);
    await waitFor('the old inbox row to be purged', async () => (await tx.query('SELECT 1 FROM inbox_events WHERE event_id = $1', [handled])).rowCount === 0);
    expect((await tx.query('SELECT sent_at FROM outbox_events WHERE id = $1', [unsent])).rows).toEqual([{ sent_at: null }]);
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
    const messages = await waitFor('150 messages', async () => ((await channel.checkQueue(QUEUE)).messageCount === 150 ? drainQueue() : undefined));
    expect(new Set(messages.map((m) => m.properties.messageId))).toEqual(new Set(ids));
  });

  it('re-publishes after a crash between publish and mark-sent, and the inbox keeps exactly one effect per event', async () => {
    class CrashingRelay extends OutboxRelay {
      crashes = 1;
      protected override async markSent(client: pg.PoolClient, sentIds: string[]): Promise<void> {
        if (this.crashes-- > 0) throw new Error('simulated crash after the broker confirmed, before the rows were marked');
        await super.markSent(client, sentIds);
      }
    }
    const ids = await commitEvents(5);
    const crashing = relay({}, CrashingRelay);
    await expect(crashing.drain()).rejects.toThrow('simulated crash');
    expect(await unsentCount()).toBe(5);
    expect(await crashing.drain()).toBe(5);
    expect(await unsentCount()).toBe(0);

    const messages = await waitFor('both copies of every event', async () => ((await channel.checkQueue(QUEUE)).messageCount === 10 ? drainQueue() : undefined));
    const runner = inboxHandlerRunner((work) => tx.run(work));
    const outcomes: string[] = [];
    for (const message of messages) {
      const eventId = message.properties.messageId as string;
      outcomes.push(
        await runner({ eventId, type: 'user.deleted', queue: QUEUE }, async (t) => {
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
  it('lets exactly one of two concurrent deliveries of the same event take effect', async () => {
    const eventId = randomUUID();
    const runner = inboxHandlerRunner((work) => tx.run(work));
    const handle = () =>
      runner({ eventId, type: 'user.deleted', queue: QUEUE }, async (t) => {
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
    await expect(runner({ eventId, type: 'user.deleted', queue: QUEUE }, async () => Promise.reject(new Error('handler failed')))).rejects.toThrow('handler failed');
    await expect(
      runner({ eventId, type: 'user.deleted', queue: QUEUE }, async (t) => {
        await t.$executeRawUnsafe('INSERT INTO effects (event_id, label) VALUES ($1::uuid, $2)', eventId, 'retry');
      }),
    ).resolves.toBe('processed');
  });
});
