import 'reflect-metadata';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type { INestApplication } from '@nestjs/common';
import { OrderCancelledV1, OrderPlacedV1, REJECTION_REASONS, toWireMessage } from '@switchyard/contracts';
import {
  assertDeadLettered,
  createTestDatabase,
  createTestVhost,
  messageDefects,
  misleadingHeaders,
  type RawMessage,
  samples,
  type TestDatabase,
  type TestVhost,
  valueOf,
  waitFor,
  withDefects,
  WorkQueueInjector,
} from '@switchyard/testing';
import type { ConsumeMessage } from 'amqplib';
import fc from 'fast-check';
import { randomUUID } from 'node:crypto';
import { MetricsServer } from '@switchyard/service-kit';
import request from 'supertest';
import { EVENT_QUEUE, SCHEMA_PATH } from '../src/app.module.js';
import { PrismaClient } from '../src/generated/prisma/client.js';
import { startUserServiceApp } from './user-service-app.js';

/**
 * Hostile AMQP input put straight into user-service's work queue (or through the exchange under a bound routing
 * key) while the consumer runs: random bytes, wrong content types, missing and forged headers, lying death
 * histories, enormous headers, valid JSON of the wrong shape, reused ids. Each bad message must reach the DLQ with
 * its reason; valid order events interleaved with them must each count exactly once; the consumer keeps going.
 */

const EXCHANGE = 'switchyard.events';
const DLQ = `${EVENT_QUEUE}.dlq`;
/** Short retry tiers, so a handler that keeps failing reaches the DLQ within a test. */
const RETRY_DELAYS_MS = '50,100';
const REJECTION_REASON_SET = new Set<string>(REJECTION_REASONS);
/** Each test waits on the broker and the database of a loaded machine: generous, and polling ends it early. */
const TEST_TIMEOUT_MS = 120_000;

let db: TestDatabase;
let vhost: TestVhost;
let app: INestApplication;
let injector: WorkQueueInjector;

beforeAll(async () => {
  [db, vhost] = await Promise.all([
    createTestDatabase('users_hostile_amqp', SCHEMA_PATH),
    createTestVhost('users_hostile_amqp'),
  ]);
  app = await startUserServiceApp(db.url, vhost.identityUrl('user-service'), {
    MESSAGING_RETRY_DELAYS_MS: RETRY_DELAYS_MS,
  });
  injector = await WorkQueueInjector.connect(vhost.url, {
    publishUrl: vhost.identityUrl('order-service'),
    exchange: EXCHANGE,
    workQueue: EVENT_QUEUE,
    deadLetterQueue: DLQ,
  });
}, 60_000);

afterAll(async () => {
  await injector?.close();
  await app?.close();
  await Promise.all([db?.drop(), vhost?.drop()]);
});

const checkQueue = (queue: string) => injector.checkQueue(queue);

function asRaw(wire: ReturnType<typeof toWireMessage>, via: RawMessage['via']): RawMessage {
  return {
    via,
    routingKey: wire.routingKey,
    content: wire.content,
    properties: { ...wire.properties, headers: { ...wire.properties.headers } },
  };
}

function orderPlaced(
  via: RawMessage['via'] = 'exchange',
  orderId = randomUUID(),
  eventId = randomUUID(),
  totalCents = 1_234,
): RawMessage {
  const data = {
    orderId,
    userId: randomUUID(),
    items: [{ sku: 'SKU-1', quantity: 1, unitPriceCents: totalCents }],
    totalCents,
    occurredAt: new Date(Date.now() - 60_000).toISOString(),
  };
  return asRaw(toWireMessage({ eventId, contract: OrderPlacedV1, data, source: 'order-service' }), via);
}

const orderIdOf = (message: RawMessage) => (JSON.parse(message.content.toString()) as { orderId: string }).orderId;

const publish = (message: RawMessage, tag?: string): Promise<string> => injector.publish(message, tag);

const deadLetter = (tag: string, timeoutMs?: number): Promise<ConsumeMessage> => injector.deadLetter(tag, timeoutMs);

const prisma = () => app.get(PrismaClient);

/** Deliveries of order.placed the consumer settled as duplicates (already in the inbox), from its /metrics. */
async function consumedDuplicates(): Promise<number> {
  const scrape = await request(app.get(MetricsServer).httpServer).get('/metrics').expect(200);
  return (
    valueOf(samples(scrape.text), 'messaging_messages_consumed_total', {
      queue: EVENT_QUEUE,
      event_type: OrderPlacedV1.type,
      outcome: 'duplicate',
    }) ?? 0
  );
}
const orderRow = (orderId: string) => prisma().userOrder.findUnique({ where: { orderId } });

const expectDeadLetteredWithReason = (dead: ConsumeMessage, reasons: Set<string>): void =>
  assertDeadLettered(dead, { reasons, service: 'user-service', queue: EVENT_QUEUE });

/** Every valid order.placed sent in this file, by order id: each must end with exactly one row and one inbox record. */
const validEvents = new Map<string, string>();

async function expectEachValidEventAppliedOnce(): Promise<void> {
  const orderIds = [...validEvents.keys()];
  await waitFor(
    'every valid event applied',
    async () =>
      (await prisma().userOrder.count({ where: { orderId: { in: orderIds }, placedAt: { not: null } } })) ===
      orderIds.length,
    30_000,
  );
  const inbox = await prisma().inboxEvent.findMany({ where: { eventId: { in: [...validEvents.values()] } } });
  expect(inbox).toHaveLength(validEvents.size);
}

describe('user-service consuming hostile messages', () => {
  it(
    'dead-letters every randomly broken message with its reason, and counts each valid one interleaved with them exactly once',
    async () => {
      const isValidOrderPlaced = (json: unknown) => OrderPlacedV1.schema.safeParse(json).success;
      await fc.assert(
        fc.asyncProperty(
          messageDefects(isValidOrderPlaced),
          // A lying death history only through the exchange, where it is rejected on arrival: straight into the queue a
          // malformed one could, were its dead letter unpublishable, reach the broker's delivery-limit dead-lettering.
          fc
            .constantFrom<RawMessage['via']>('exchange', 'queue')
            .chain((via) =>
              misleadingHeaders(EVENT_QUEUE, { history: via === 'exchange' }).map((badNoise) => ({ via, badNoise })),
            ),
          fc.constantFrom<RawMessage['via']>('exchange', 'queue'),
          // No death history on valid events: through an exchange it is itself a defect, and should a valid event's
          // handler fail, a malformed one must never reach a retry tier (RabbitMQ 3.10's dead-letter worker crashes on it).
          misleadingHeaders(EVENT_QUEUE, { history: false }),
          async (defects, { via, badNoise }, goodVia, goodNoise) => {
            const badOrder = randomUUID();
            const bad = withDefects(orderPlaced(via, badOrder), defects, OrderCancelledV1.type);
            Object.assign(bad.properties.headers, badNoise);
            const good = orderPlaced(goodVia);
            // Forged dead-letter bookkeeping and junk headers change nothing for a valid event.
            Object.assign(good.properties.headers, goodNoise);
            validEvents.set(orderIdOf(good), String(good.properties.messageId));

            const badTag = await publish(bad);
            await publish(good);
            expectDeadLetteredWithReason(await deadLetter(badTag), REJECTION_REASON_SET);
            await waitFor(
              `the order of the valid event next to ${defects.map((d) => d.kind).join('+')}`,
              () => orderRow(orderIdOf(good)).then((row) => row ?? undefined),
              15_000,
              20,
            );
            expect(await orderRow(badOrder)).toBeNull();
          },
        ),
        { numRuns: 40 },
      );
      await expectEachValidEventAppliedOnce();
    },
    TEST_TIMEOUT_MS,
  );

  it(
    'dead-letters a cancellation published under order.placed’s routing key as misrouted, and cancels nothing',
    async () => {
      const placed = orderPlaced('exchange');
      const orderId = orderIdOf(placed);
      validEvents.set(orderId, String(placed.properties.messageId));
      await publish(placed);
      await waitFor('the order', () => orderRow(orderId).then((row) => row ?? undefined));
      const userId = (JSON.parse(placed.content.toString()) as { userId: string }).userId;
      const cancellation = asRaw(
        toWireMessage({
          eventId: randomUUID(),
          contract: OrderCancelledV1,
          data: { orderId, userId, reason: 'requested', occurredAt: new Date().toISOString() },
          source: 'order-service',
        }),
        'exchange',
      );
      cancellation.routingKey = OrderPlacedV1.type;
      expectDeadLetteredWithReason(await deadLetter(await publish(cancellation)), new Set(['misrouted']));
      expect((await orderRow(orderId))?.cancelledAt).toBeNull();
    },
    TEST_TIMEOUT_MS,
  );

  it(
    'dead-letters a valid JSON event sent as another content type or encoding, and counts nothing',
    async () => {
      for (const [property, value] of [
        ['contentType', 'text/plain'],
        ['contentType', 'application/json; charset=utf-16'],
        ['contentEncoding', 'gzip'],
      ] as const) {
        const message = orderPlaced('queue');
        message.properties[property] = value;
        expectDeadLetteredWithReason(await deadLetter(await publish(message)), new Set(['unsupported_content_type']));
        expect(await orderRow(orderIdOf(message))).toBeNull();
      }
    },
    TEST_TIMEOUT_MS,
  );

  it(
    'dead-letters an event with a year-0 timestamp at once as schema_invalid, instead of failing in the database on every retry',
    async () => {
      const message = orderPlaced('queue');
      const data = JSON.parse(message.content.toString()) as Record<string, unknown>;
      message.content = Buffer.from(JSON.stringify({ ...data, occurredAt: '0000-06-01T00:00:00Z' }));
      const dead = await deadLetter(await publish(message));
      expectDeadLetteredWithReason(dead, new Set(['schema_invalid']));
      expect(dead.properties.headers?.['x-attempts']).toBe(1);
      expect(await orderRow(orderIdOf(message))).toBeNull();
    },
    TEST_TIMEOUT_MS,
  );

  it(
    'dead-letters an event published with a death history or attempt count at once, as forged_header',
    async () => {
      const lies: Array<Record<string, unknown>> = [
        {
          'x-death': [
            {
              count: 1000,
              reason: 'expired',
              queue: `${EVENT_QUEUE}.retry.50ms`,
              exchange: '',
              'routing-keys': [EVENT_QUEUE],
              time: new Date(0),
            },
          ],
        },
        // Malformed: sent only through the exchange, where it is rejected before any tier could dead-letter it.
        { 'x-death': 'not a list' },
        { 'x-last-death-queue': EVENT_QUEUE },
        { 'x-attempt': '3' },
      ];
      for (const lie of lies) {
        const message = orderPlaced('exchange');
        Object.assign(message.properties.headers, lie);
        const dead = await deadLetter(await publish(message));
        expectDeadLetteredWithReason(dead, new Set(['forged_header']));
        expect(await orderRow(orderIdOf(message))).toBeNull();
      }
    },
    TEST_TIMEOUT_MS,
  );

  it(
    'applies a valid event put straight into the queue with a lying (well-formed) history, as a retry would arrive',
    async () => {
      const message = orderPlaced('queue');
      // Typed exactly as the broker writes it (count a long): well-formed, only untrue.
      const death = {
        count: { '!': 'long', value: 1000 },
        reason: 'expired',
        queue: `${EVENT_QUEUE}.retry.50ms`,
        exchange: '',
        'routing-keys': [EVENT_QUEUE],
        time: new Date(0),
      };
      Object.assign(message.properties.headers, { 'x-death': [death], 'x-attempt': 2, 'x-delivery-count': 999 });
      validEvents.set(orderIdOf(message), String(message.properties.messageId));
      await publish(message);
      await waitFor('the order despite the lying history', () =>
        orderRow(orderIdOf(message)).then((row) => row ?? undefined),
      );
    },
    TEST_TIMEOUT_MS,
  );

  it(
    'handles events whose headers come close to the largest table a client can encode, valid or not',
    async () => {
      // amqplib (the service's client too) encodes a header table into a 64 KiB buffer; frame_max (128 KiB) is further.
      // A dead letter carries every original header plus ~400 bytes of its own bookkeeping. Originals within ~400 bytes
      // of the 64 KiB limit (65 000 bytes of padding) cannot be copied at all: the transport requeues them until the
      // broker's delivery limit dead-letters them without a reason header (reported; the fix is in failure-routing).
      for (const paddingBytes of [32 * 1024, 60 * 1024]) {
        const valid = orderPlaced('queue');
        valid.properties.headers['x-padding'] = 'p'.repeat(paddingBytes);
        validEvents.set(orderIdOf(valid), String(valid.properties.messageId));
        await publish(valid);
        await waitFor(
          `the order from an event with ${paddingBytes} bytes of headers`,
          () => orderRow(orderIdOf(valid)).then((row) => row ?? undefined),
          15_000,
        );

        const broken = orderPlaced('queue');
        broken.content = Buffer.from('{"orderId": ');
        broken.properties.headers['x-padding'] = 'p'.repeat(paddingBytes);
        expectDeadLetteredWithReason(await deadLetter(await publish(broken)), new Set(['malformed_json']));
      }
    },
    TEST_TIMEOUT_MS,
  );

  it(
    'counts an event once: its redelivery is acked as a duplicate, another body under its id is dead-lettered as conflicting_duplicate',
    async () => {
      const eventId = randomUUID();
      const first = orderPlaced('exchange', randomUUID(), eventId, 500);
      validEvents.set(orderIdOf(first), eventId);
      await publish(first);
      await waitFor('the first event', () => orderRow(orderIdOf(first)).then((row) => row ?? undefined));
      const duplicatesBefore = await consumedDuplicates();
      await publish(first);
      // A duplicate changes nothing in the database: its settling shows only in the consumer's outcome counter.
      await waitFor(
        'the redelivery settled as a duplicate',
        async () => (await consumedDuplicates()) === duplicatesBefore + 1,
      );
      // Another payload under the same id is no duplicate: never acked silently, never counted.
      const second = orderPlaced('exchange', randomUUID(), eventId, 999_999);
      expectDeadLetteredWithReason(await deadLetter(await publish(second)), new Set(['conflicting_duplicate']));
      expect(await orderRow(orderIdOf(second))).toBeNull();
      expect(await consumedDuplicates()).toBe(duplicatesBefore + 1);
      expect(Number((await orderRow(orderIdOf(first)))?.totalCents)).toBe(500);
    },
    TEST_TIMEOUT_MS,
  );

  it(
    'is still consuming at the end, with nothing left behind and every valid event counted once',
    async () => {
      await waitFor('the work queue drained', async () => (await checkQueue(EVENT_QUEUE)).messageCount === 0, 30_000);
      expect((await checkQueue(EVENT_QUEUE)).consumerCount).toBeGreaterThan(0);
      await expectEachValidEventAppliedOnce();
      // Nothing but the valid events made a row.
      expect(await prisma().userOrder.count()).toBe(validEvents.size);
    },
    TEST_TIMEOUT_MS,
  );
});
