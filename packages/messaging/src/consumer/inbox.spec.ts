import { afterAll, beforeAll, beforeEach, describe, expect, it } from '@jest/globals';
import type { MessageHandler } from '@nestjs/microservices';
import { createMetricsRegistry } from '@switchyard/telemetry';
import {
  createTestDatabase,
  createTestVhost,
  pgTransactions,
  samples,
  type TestDatabase,
  type TestVhost,
  valueOf,
  waitFor,
} from '@switchyard/testing';
import type { Channel, GetMessage } from 'amqplib';
import { randomUUID } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { decodeJson, publishEvent } from '../../test/broker-harness.js';
import { RabbitMqConnection } from '../connection/rabbitmq-connection.js';
import type { MessagingLogger } from '../observability/messaging-logger.js';
import { PrometheusMessagingObserver } from '../observability/prometheus-observer.js';
import { EventPublisher } from '../publishing/event-publisher.js';
import { deadLetterQueueName } from '../topology/topology-plan.js';
import type { EventContext } from './event-context.js';
import { inboxHandlerRunner } from './inbox.js';
import { payloadHash } from './payload-hash.js';
import { SwitchyardServer } from './switchyard-server.js';

// The inbox as the transport runs it: real Postgres (the fixture's migrations) under a real consumer on RabbitMQ.
const FIXTURE_SCHEMA = fileURLToPath(new URL('../../test/fixtures/schema.prisma', import.meta.url));
const EXCHANGE = 'inbox-test.events';
const QUEUE = 'inbox-test.things';
const EVENT_TYPE = 'thing.recorded';

let db: TestDatabase;
let vhost: TestVhost;
let tx: ReturnType<typeof pgTransactions>;
let connection: RabbitMqConnection;
let publisher: EventPublisher;
let inspect: Channel;
let server: SwitchyardServer;
const registry = createMetricsRegistry({ service: 'inbox-spec', defaultMetrics: false });
const warnings: Array<{ fields: Record<string, unknown>; message: string }> = [];
const logger: MessagingLogger = {
  info: () => undefined,
  warn: (fields, message) => void warnings.push({ fields, message }),
  error: () => undefined,
};

/** The handler's effect: one row per run, labelled with the payload it ran on. */
const handler = (async (data: { label: string }, ctx: EventContext) => {
  await (ctx.tx as { $executeRawUnsafe(sql: string, ...values: unknown[]): Promise<number> }).$executeRawUnsafe(
    'INSERT INTO effects (event_id, label) VALUES ($1::uuid, $2)',
    ctx.eventId,
    data.label,
  );
}) as unknown as MessageHandler;

beforeAll(async () => {
  [db, vhost] = await Promise.all([createTestDatabase('inbox', FIXTURE_SCHEMA), createTestVhost('inbox')]);
  tx = pgTransactions(db.url);
  connection = new RabbitMqConnection({ url: vhost.url, connectionName: 'inbox-spec' });
  await connection.start();
  publisher = new EventPublisher({ connection, exchanges: [EXCHANGE] });
  await publisher.start();
  inspect = await connection.current()!.createChannel();
  server = new SwitchyardServer({
    connection,
    service: 'inbox-spec',
    queue: QUEUE,
    exchange: EXCHANGE,
    retryDelaysMs: [200],
    decode: decodeJson,
    runHandler: inboxHandlerRunner((work) => tx.run(work)),
    observer: new PrometheusMessagingObserver(registry, { isKnownEventType: (type) => type === EVENT_TYPE }),
    logger,
  });
  server.addHandler(EVENT_TYPE, handler, true);
  await new Promise<void>(
    (resolve, reject) => void server.listen((error?: unknown) => (error ? reject(error as Error) : resolve())),
  );
}, 30_000);

afterAll(async () => {
  await server?.close();
  await inspect?.close().catch(() => undefined);
  await publisher?.close();
  await connection?.close();
  await tx?.end();
  await Promise.all([db?.drop(), vhost?.drop()]);
}, 20_000);

beforeEach(() => {
  warnings.length = 0;
});

/** A messaging counter for this queue and event type, as /metrics would show it (0 when absent). */
async function counter(name: string, labels: Record<string, string> = {}): Promise<number> {
  return valueOf(samples(await registry.metrics()), name, { queue: QUEUE, event_type: EVENT_TYPE, ...labels }) ?? 0;
}

async function effectsOf(eventId: string): Promise<string[]> {
  const { rows } = await tx.query<{ label: string }>('SELECT label FROM effects WHERE event_id = $1 ORDER BY id', [
    eventId,
  ]);
  return rows.map((row) => row.label);
}

async function recordedHash(eventId: string): Promise<string | null> {
  const { rows } = await tx.query<{ hash: string | null }>(
    `SELECT encode(payload_hash, 'hex') AS hash FROM inbox_events WHERE consumer = $1 AND event_id = $2`,
    [QUEUE, eventId],
  );
  return rows[0]?.hash ?? null;
}

/** Publishes one event and waits until the consumer has acked it as handled. */
async function handledOnce(data: unknown, eventId: string): Promise<void> {
  const acked = await counter('messaging_messages_consumed_total', { outcome: 'ack' });
  await publishEvent(publisher, EXCHANGE, EVENT_TYPE, data, eventId);
  await waitFor(
    'the first delivery handled',
    async () => (await counter('messaging_messages_consumed_total', { outcome: 'ack' })) === acked + 1,
    10_000,
  );
}

describe('the inbox under a live consumer', () => {
  it('acks a redelivery with the same payload as a duplicate, however its keys are ordered, and runs the handler once', async () => {
    const eventId = randomUUID();
    await handledOnce({ label: 'same', size: 3 }, eventId);
    expect(await recordedHash(eventId)).toBe(payloadHash(EVENT_TYPE, { label: 'same', size: 3 }));

    const duplicates = await counter('messaging_messages_consumed_total', { outcome: 'duplicate' });
    await publishEvent(publisher, EXCHANGE, EVENT_TYPE, { size: 3, label: 'same' }, eventId);
    await waitFor(
      'the redelivery settled as a duplicate',
      async () => (await counter('messaging_messages_consumed_total', { outcome: 'duplicate' })) === duplicates + 1,
      10_000,
    );
    expect(await effectsOf(eventId)).toEqual(['same']);
    expect((await inspect.checkQueue(deadLetterQueueName(QUEUE))).messageCount).toBe(0);
  });

  it('dead-letters the same id with another payload as conflicting_duplicate, naming both hashes, without running the handler again', async () => {
    const eventId = randomUUID();
    await handledOnce({ label: 'first' }, eventId);
    const firstHash = payloadHash(EVENT_TYPE, { label: 'first' });
    const secondHash = payloadHash(EVENT_TYPE, { label: 'second' });

    await publishEvent(publisher, EXCHANGE, EVENT_TYPE, { label: 'second' }, eventId);
    const dead = await waitFor(
      'the conflicting delivery in the DLQ',
      async () => (await inspect.get(deadLetterQueueName(QUEUE), { noAck: true })) || undefined,
      10_000,
    );
    expect((dead as GetMessage).properties.messageId).toBe(eventId);
    expect(JSON.parse(dead.content.toString())).toEqual({ label: 'second' });
    const headers = dead.properties.headers ?? {};
    expect(headers['x-death-reason']).toBe('conflicting_duplicate');
    expect(headers['x-error-class']).toBe('ConflictingDuplicateError');
    expect(headers['x-attempts']).toBe(1);
    expect(headers['x-error-message']).toContain(firstHash);
    expect(headers['x-error-message']).toContain(secondHash);

    // Straight to the DLQ: no retry tier, no second effect, the first payload's record kept.
    expect(await effectsOf(eventId)).toEqual(['first']);
    expect(await recordedHash(eventId)).toBe(firstHash);
    expect(await counter('messaging_retries_total')).toBe(0);
    // The dead-letter counter shows the new reason.
    expect(await counter('messaging_dead_lettered_total', { reason: 'conflicting_duplicate' })).toBe(1);
    const deadLettered = warnings.find((warning) => warning.message === 'event dead-lettered');
    expect(deadLettered?.fields).toMatchObject({ eventId, reason: 'conflicting_duplicate' });
    const failed = warnings.find((warning) => warning.message === 'event handler failed');
    expect(failed?.fields['error']).toEqual(expect.stringContaining(firstHash));
    expect(failed?.fields['error']).toEqual(expect.stringContaining(secondHash));
  });

  it('counts a row recorded before hashes were kept as the same payload', async () => {
    const eventId = randomUUID();
    await tx.query(`INSERT INTO inbox_events (consumer, event_id, event_type) VALUES ($1, $2, $3)`, [
      QUEUE,
      eventId,
      EVENT_TYPE,
    ]);
    const duplicates = await counter('messaging_messages_consumed_total', { outcome: 'duplicate' });
    await publishEvent(publisher, EXCHANGE, EVENT_TYPE, { label: 'unknown before' }, eventId);
    await waitFor(
      'the delivery settled as a duplicate',
      async () => (await counter('messaging_messages_consumed_total', { outcome: 'duplicate' })) === duplicates + 1,
      10_000,
    );
    expect(await effectsOf(eventId)).toEqual([]);
    expect(await recordedHash(eventId)).toBeNull();
  });
});
