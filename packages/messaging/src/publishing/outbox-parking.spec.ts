import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from '@jest/globals';
import { UserCreatedV2, UserDeletedV1 } from '@switchyard/contracts';
import { createMetricsRegistry } from '@switchyard/telemetry';
import {
  createTestDatabase,
  createTestVhost,
  pgTransactions,
  startFaultProxy,
  type TestDatabase,
  type TestVhost,
  waitFor,
} from '@switchyard/testing';
import amqp, { type Channel, type ChannelModel } from 'amqplib';
import { randomUUID } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { RabbitMqConnection } from '../connection/rabbitmq-connection.js';
import type { MessagingLogger } from '../observability/messaging-logger.js';
import { OutboxMetrics } from '../observability/outbox-metrics.js';
import { outboxRowToWire } from './event-codec.js';
import { EventPublisher } from './event-publisher.js';
import { addToOutbox } from './outbox.js';
import { OutboxRelay, type OutboxRelayOptions, type OutboxRowPublisher } from './outbox-relay.js';

// Unroutable rows (no queue binds their type) are retried a bounded number of times, then parked for an operator.

const FIXTURE_SCHEMA = fileURLToPath(new URL('../../test/fixtures/schema.prisma', import.meta.url));
const EXCHANGE = 'switchyard.events';
/** Bound to user.deleted only: user.created is unroutable until a test binds it. */
const QUEUE = 'parking-test.user-events';
const LATE_QUEUE = 'parking-test.late-consumer';

let db: TestDatabase;
let vhost: TestVhost;
let tx: ReturnType<typeof pgTransactions>;
let connection: RabbitMqConnection;
let publisher: EventPublisher;
let inspector: ChannelModel;
let channel: Channel;
const relays: OutboxRelay[] = [];

beforeAll(async () => {
  [db, vhost] = await Promise.all([createTestDatabase('parking', FIXTURE_SCHEMA), createTestVhost('parking')]);
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
  await channel.deleteQueue(LATE_QUEUE);
  await tx.query('DELETE FROM outbox_events');
});

afterEach(async () => {
  await Promise.all(relays.splice(0).map((relay) => relay.stop()));
});

function publishVia(via: EventPublisher): OutboxRowPublisher {
  return (row) => {
    const wire = outboxRowToWire(row, 'parking-test');
    return via.publish(EXCHANGE, wire.routingKey, wire.content, {
      ...wire.properties,
      headers: { ...wire.properties.headers },
    });
  };
}

function relay(options: Partial<OutboxRelayOptions> = {}): OutboxRelay {
  const instance = new OutboxRelay({ databaseUrl: db.url, publish: publishVia(publisher), ...options });
  relays.push(instance);
  return instance;
}

/** A user.created event: nobody binds it unless the test declares {@link LATE_QUEUE}. */
function commitUnroutable(userId: string = randomUUID()): Promise<string> {
  return tx.run((t) =>
    addToOutbox(t, UserCreatedV2, {
      userId,
      email: 'nobody-listens@example.com',
      name: 'Unbound',
      marketingOptIn: false,
      locale: 'en',
      occurredAt: new Date().toISOString(),
    }),
  );
}

function commitRoutable(userId: string = randomUUID()): Promise<string> {
  return tx.run((t) => addToOutbox(t, UserDeletedV1, { userId, occurredAt: new Date().toISOString() }));
}

interface RowState {
  attempts: number;
  parked_at: Date | null;
  sent_at: Date | null;
  last_error: string | null;
}

async function rowState(id: string): Promise<RowState> {
  const { rows } = await tx.query<RowState>(
    'SELECT attempts, parked_at, sent_at, last_error FROM outbox_events WHERE id = $1',
    [id],
  );
  return rows[0]!;
}

/** Skips the back-off: the row is due at once. */
async function makeDue(id: string): Promise<void> {
  await tx.query('UPDATE outbox_events SET next_attempt_at = now() WHERE id = $1', [id]);
}

describe('OutboxRelay with unroutable rows', () => {
  it('parks an unroutable row at the bound (reason recorded, gauge up), then never claims it again', async () => {
    const errors: Array<Record<string, unknown>> = [];
    const logger: MessagingLogger = { info: () => undefined, warn: () => undefined, error: (f) => errors.push(f) };
    // One user: both events share an ordering key, so the later one waits for the first until it is parked.
    const userId = randomUUID();
    const id = await commitUnroutable(userId);
    const parking = relay({ unroutableMaxAttempts: 3, logger });

    for (const attempt of [1, 2]) {
      expect(await parking.drain()).toBe(0);
      expect(await rowState(id)).toMatchObject({ attempts: attempt, parked_at: null, sent_at: null });
      await makeDue(id);
    }
    expect(await parking.drain()).toBe(0);
    const parked = await rowState(id);
    expect(parked).toMatchObject({ attempts: 3, sent_at: null, parked_at: expect.any(Date) });
    expect(parked.last_error).toMatch(/^parked: unroutable after 3 attempts: UnroutableMessageError: .*user\.created/);
    expect(errors).toEqual([expect.objectContaining({ eventId: id, eventType: 'user.created', attempts: 3 })]);

    // Due or not, a parked row is not claimed: no more attempts, no more returned publishes.
    await makeDue(id);
    const returnedBefore = publisher.stats().returned;
    expect(await parking.drain()).toBe(0);
    expect(await rowState(id)).toMatchObject({ attempts: 3, parked_at: parked.parked_at });
    expect(publisher.stats().returned).toBe(returnedBefore);

    // It holds nothing back, not even its own key: a later routable event of the same user is published.
    const later = await commitRoutable(userId);
    expect(await parking.drain()).toBe(1);
    expect((await rowState(later)).sent_at).not.toBeNull();

    // The gauge counts it apart from the pending rows, which it would otherwise keep old forever.
    const registry = createMetricsRegistry({ service: 'test', defaultMetrics: false });
    const metrics = new OutboxMetrics({ databaseUrl: db.url, registry, intervalMs: 60_000 });
    try {
      await metrics.sample();
      const gauge = async (name: string) => (await registry.getSingleMetric(name)!.get()).values[0]?.value;
      expect(await gauge('messaging_outbox_parked_rows')).toBe(1);
      expect(await gauge('messaging_outbox_pending')).toBe(0);
      expect(await gauge('messaging_outbox_oldest_age_seconds')).toBe(0);
    } finally {
      await metrics.stop();
    }
  });

  it('delivers an event whose queue is declared after a few unroutable attempts, before the bound', async () => {
    const id = await commitUnroutable();
    relay({ unroutableMaxAttempts: 5, pollIntervalMs: 100 }).start();
    await waitFor('a first unroutable attempt', async () => (await rowState(id)).attempts >= 1);

    // The consumer's queue arrives late (its service deployed after the producer's).
    await channel.assertQueue(LATE_QUEUE, { durable: false });
    await channel.bindQueue(LATE_QUEUE, EXCHANGE, 'user.created');
    // Back-off 1 s, 2 s, 4 s: the next attempt is at most a few seconds away.
    const message = await waitFor(
      'the event on the late queue',
      async () => (await channel.get(LATE_QUEUE, { noAck: true })) || undefined,
      15_000,
    );
    expect(message.properties.messageId).toBe(id);
    const state = await rowState(id);
    expect(state.sent_at).not.toBeNull();
    expect(state.parked_at).toBeNull();
    expect(state.attempts).toBeLessThan(5);
  }, 30_000);

  it('never parks a row for other transient failures (confirm timeouts): the broker is in trouble, not the row', async () => {
    const proxy = await startFaultProxy('parking relay → rabbitmq', { port: 5672 });
    const slowConnection = new RabbitMqConnection({ url: vhost.url.replace(':5672', `:${proxy.port}`) });
    const slowPublisher = new EventPublisher({
      connection: slowConnection,
      exchanges: [EXCHANGE],
      confirmTimeoutMs: 200,
    });
    try {
      await slowConnection.start();
      await slowPublisher.start();
      const id = await commitRoutable();
      const retrying = relay({ publish: publishVia(slowPublisher), unroutableMaxAttempts: 1 });
      proxy.latency(1_000);
      for (const attempt of [1, 2]) {
        expect(await retrying.drain()).toBe(0);
        const state = await rowState(id);
        expect(state).toMatchObject({ attempts: attempt, parked_at: null, sent_at: null });
        expect(state.last_error).toMatch(/^PublishTimeoutError/);
        await makeDue(id);
      }
      proxy.passThrough();
      await waitFor('the publish to go through', async () => (await retrying.drain()) === 1, 15_000);
      expect(await rowState(id)).toMatchObject({ parked_at: null, sent_at: expect.any(Date) });
    } finally {
      await slowPublisher.close();
      await slowConnection.close();
      await proxy.close();
    }
  }, 30_000);
});
