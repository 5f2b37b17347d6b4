import 'reflect-metadata';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type { INestApplication } from '@nestjs/common';
import { REJECTION_REASONS, toWireMessage, UserCreatedV2, UserDeletedV1, UserUpdatedV1 } from '@switchyard/contracts';
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
import { startOrderServiceApp } from './order-service-app.js';

/**
 * Hostile AMQP input put straight into order-service's work queue (or through the exchange under a bound routing
 * key) while the consumer runs: random bytes, wrong content types, missing and forged headers, lying death
 * histories, enormous headers, valid JSON of the wrong shape, reused ids. Each bad message must reach the DLQ with
 * its reason; valid events interleaved with them must each have their effect exactly once; the consumer keeps going.
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
    createTestDatabase('orders_hostile_amqp', SCHEMA_PATH),
    createTestVhost('orders_hostile_amqp'),
  ]);
  app = await startOrderServiceApp(db.url, vhost.identityUrl('order-service'), {
    MESSAGING_RETRY_DELAYS_MS: RETRY_DELAYS_MS,
  });
  injector = await WorkQueueInjector.connect(vhost.url, {
    publishUrl: vhost.identityUrl('user-service'),
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

function userCreatedData(userId = randomUUID()) {
  return {
    userId,
    email: `${userId}@example.com`,
    name: 'Mallory',
    marketingOptIn: false,
    locale: 'en',
    occurredAt: new Date(Date.now() - 60_000).toISOString(),
  };
}

function asRaw(wire: ReturnType<typeof toWireMessage>, via: RawMessage['via']): RawMessage {
  return {
    via,
    routingKey: wire.routingKey,
    content: wire.content,
    properties: { ...wire.properties, headers: { ...wire.properties.headers } },
  };
}

function userCreated(via: RawMessage['via'] = 'exchange', userId = randomUUID(), eventId = randomUUID()): RawMessage {
  return asRaw(
    toWireMessage({ eventId, contract: UserCreatedV2, data: userCreatedData(userId), source: 'user-service' }),
    via,
  );
}

const publish = (message: RawMessage, tag?: string): Promise<string> => injector.publish(message, tag);

const deadLetter = (tag: string, timeoutMs?: number): Promise<ConsumeMessage> => injector.deadLetter(tag, timeoutMs);

const prisma = () => app.get(PrismaClient);

/** Deliveries of user.created the consumer settled as duplicates (already in the inbox), from its /metrics. */
async function consumedDuplicates(): Promise<number> {
  const scrape = await request(app.get(MetricsServer).httpServer).get('/metrics').expect(200);
  return (
    valueOf(samples(scrape.text), 'messaging_messages_consumed_total', {
      queue: EVENT_QUEUE,
      event_type: UserCreatedV2.type,
      outcome: 'duplicate',
    }) ?? 0
  );
}
const profileOf = (userId: string) => prisma().customerProfile.findUnique({ where: { userId } });

const expectDeadLetteredWithReason = (dead: ConsumeMessage, reasons: Set<string>): void =>
  assertDeadLettered(dead, { reasons, service: 'order-service', queue: EVENT_QUEUE });

/** Every valid event sent in this file, by the user it creates: each must end with exactly one profile and one inbox row. */
const validEvents = new Map<string, string>();

async function expectEachValidEventAppliedOnce(): Promise<void> {
  const userIds = [...validEvents.keys()];
  await waitFor(
    'every valid event applied',
    async () => (await prisma().customerProfile.count({ where: { userId: { in: userIds } } })) === userIds.length,
    30_000,
  );
  const inbox = await prisma().inboxEvent.findMany({ where: { eventId: { in: [...validEvents.values()] } } });
  expect(inbox).toHaveLength(validEvents.size);
}

describe('order-service consuming hostile messages', () => {
  it(
    'dead-letters every randomly broken message with its reason, and applies each valid one interleaved with them exactly once',
    async () => {
      const isValidUserCreated = (json: unknown) => UserCreatedV2.schema.safeParse(json).success;
      await fc.assert(
        fc.asyncProperty(
          messageDefects(isValidUserCreated),
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
            const badUser = randomUUID();
            const bad = withDefects(userCreated(via, badUser), defects, UserDeletedV1.type);
            Object.assign(bad.properties.headers, badNoise);
            const good = userCreated(goodVia);
            // Forged dead-letter bookkeeping and junk headers change nothing for a valid event.
            Object.assign(good.properties.headers, goodNoise);
            const goodUser = (JSON.parse(good.content.toString()) as { userId: string }).userId;
            validEvents.set(goodUser, String(good.properties.messageId));

            const badTag = await publish(bad);
            await publish(good);
            expectDeadLetteredWithReason(await deadLetter(badTag), REJECTION_REASON_SET);
            await waitFor(
              `the profile of the valid event next to ${defects.map((d) => d.kind).join('+')}`,
              () => profileOf(goodUser).then((p) => p ?? undefined),
              15_000,
              20,
            );
            expect(await profileOf(badUser)).toBeNull();
          },
        ),
        { numRuns: 40 },
      );
      await expectEachValidEventAppliedOnce();
    },
    TEST_TIMEOUT_MS,
  );

  it(
    'dead-letters a deletion published under user.created’s routing key as misrouted, and deletes nothing',
    async () => {
      const userId = randomUUID();
      const created = userCreated('exchange', userId);
      validEvents.set(userId, String(created.properties.messageId));
      await publish(created);
      await waitFor('the profile', () => profileOf(userId).then((p) => p ?? undefined));
      const deletion = asRaw(
        toWireMessage({
          eventId: randomUUID(),
          contract: UserDeletedV1,
          data: { userId, occurredAt: new Date().toISOString() },
          source: 'user-service',
        }),
        'exchange',
      );
      deletion.routingKey = UserCreatedV2.type;
      const dead = await deadLetter(await publish(deletion));
      expectDeadLetteredWithReason(dead, new Set(['misrouted']));
      expect((await profileOf(userId))?.deletedAt).toBeNull();
    },
    TEST_TIMEOUT_MS,
  );

  it(
    'dead-letters a valid JSON event sent as another content type, and applies nothing',
    async () => {
      for (const contentType of [
        'text/plain',
        'application/json; charset=iso-8859-1',
        'application/cloudevents+json',
      ]) {
        const userId = randomUUID();
        const message = userCreated('queue', userId);
        message.properties.contentType = contentType;
        expectDeadLetteredWithReason(await deadLetter(await publish(message)), new Set(['unsupported_content_type']));
        expect(await profileOf(userId)).toBeNull();
      }
    },
    TEST_TIMEOUT_MS,
  );

  it(
    'dead-letters at once, as schema_invalid, events valid in form that no database could store',
    async () => {
      for (const [field, value] of [
        ['name', 'Eve\u0000'],
        ['name', '\ud800'],
        ['occurredAt', '0000-06-01T00:00:00Z'],
        ['occurredAt', '0001-01-01T00:30:00+01:00'],
      ] as const) {
        const userId = randomUUID();
        const message = userCreated('queue', userId);
        message.content = Buffer.from(JSON.stringify({ ...userCreatedData(userId), [field]: value }));
        const dead = await deadLetter(await publish(message));
        expectDeadLetteredWithReason(dead, new Set(['schema_invalid']));
        // Rejected on the first attempt instead of failing in Postgres through every retry tier.
        expect(dead.properties.headers?.['x-attempts']).toBe(1);
        expect(String(dead.properties.headers?.['x-error-message'])).toContain(field);
        expect(await profileOf(userId)).toBeNull();
      }
    },
    TEST_TIMEOUT_MS,
  );

  it(
    'accepts x-event-version as a numeric string, as the wire format allows',
    async () => {
      const userId = randomUUID();
      const message = userCreated('queue', userId);
      message.properties.headers['x-event-version'] = '2';
      validEvents.set(userId, String(message.properties.messageId));
      await publish(message);
      await waitFor('the profile', () => profileOf(userId).then((p) => p ?? undefined));
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
        { 'x-death': [1, 'two', null] },
        { 'x-first-death-reason': 'maxlen' },
        { 'x-attempt': 1000 },
      ];
      for (const lie of lies) {
        const userId = randomUUID();
        const message = userCreated('exchange', userId);
        Object.assign(message.properties.headers, lie);
        const dead = await deadLetter(await publish(message));
        expectDeadLetteredWithReason(dead, new Set(['forged_header']));
        expect(String(dead.properties.headers?.['x-error-message'])).toContain(Object.keys(lie)[0]);
        // The forged count neither skipped the tiers nor shows up as the dead letter's attempt count.
        expect(dead.properties.headers?.['x-attempts']).toBe(1);
        expect(await profileOf(userId)).toBeNull();
      }
    },
    TEST_TIMEOUT_MS,
  );

  it(
    'walks a failing event with forged bookkeeping headers through every retry tier to the DLQ',
    async () => {
      // No death history here: a retry tier dead-letters its messages broker-side, which parses x-death.
      const update = asRaw(
        toWireMessage({
          eventId: randomUUID(),
          contract: UserUpdatedV1,
          data: { userId: randomUUID(), changes: { name: 'Nobody' }, occurredAt: new Date().toISOString() },
          source: 'user-service',
        }),
        'exchange',
      );
      Object.assign(update.properties.headers, {
        'x-delivery-count': 999,
        'x-attempts': 77,
        'x-death-reason': 'forged',
        'x-first-failure-at': 'yesterday',
      });
      const dead = await deadLetter(await publish(update));
      expectDeadLetteredWithReason(dead, new Set(['retries_exhausted']));
      expect(dead.properties.headers?.['x-attempts']).toBe(3);
      expect(dead.properties.headers?.['x-error-class']).toBe('ProfileNotYetKnownError');
    },
    TEST_TIMEOUT_MS,
  );

  it(
    'handles events whose headers come close to the largest table a client can encode, valid or not',
    async () => {
      // amqplib (the service's client too) encodes a header table into a 64 KiB buffer; frame_max (128 KiB) is further.
      // A dead letter carries the original headers plus ~0.5 KiB of its own bookkeeping; amqplib encodes at most 64 KiB.
      // Past the copy budget (48 KiB) the largest original headers are dropped and named, so the copy always goes.
      for (const paddingBytes of [32 * 1024, 60 * 1024, 65_000]) {
        const userId = randomUUID();
        const valid = userCreated('queue', userId);
        valid.properties.headers['x-padding'] = 'p'.repeat(paddingBytes);
        validEvents.set(userId, String(valid.properties.messageId));
        await publish(valid);
        await waitFor(
          `the profile from an event with ${paddingBytes} bytes of headers`,
          () => profileOf(userId).then((p) => p ?? undefined),
          15_000,
        );

        const broken = userCreated('queue');
        broken.content = Buffer.from('{"userId": ');
        broken.properties.headers['x-padding'] = 'p'.repeat(paddingBytes);
        const dead = await deadLetter(await publish(broken));
        expectDeadLetteredWithReason(dead, new Set(['malformed_json']));
        if (paddingBytes > 48 * 1024) {
          expect(dead.properties.headers?.['x-dropped-headers']).toBe('x-padding');
          expect(dead.properties.headers?.['x-padding']).toBeUndefined();
        } else {
          expect(String(dead.properties.headers?.['x-padding'])).toHaveLength(paddingBytes);
        }
      }
    },
    TEST_TIMEOUT_MS,
  );

  it(
    'dead-letters with its reason a broken event whose trace context alone nearly fills the header table',
    async () => {
      const broken = userCreated('queue');
      broken.content = Buffer.from('{"userId": ');
      broken.properties.headers.tracestate = `v=${'t'.repeat(65_000)}`;
      const dead = await deadLetter(await publish(broken));
      expectDeadLetteredWithReason(dead, new Set(['malformed_json']));
      expect(dead.properties.headers?.['x-dropped-headers']).toContain('tracestate');
    },
    TEST_TIMEOUT_MS,
  );

  it(
    'applies an event once: its redelivery is acked as a duplicate, another body under its id is dead-lettered as conflicting_duplicate',
    async () => {
      const eventId = randomUUID();
      const first = randomUUID();
      const second = randomUUID();
      validEvents.set(first, eventId);
      const original = userCreated('exchange', first, eventId);
      await publish(original);
      await waitFor('the first event', () => profileOf(first).then((p) => p ?? undefined));
      const duplicatesBefore = await consumedDuplicates();
      await publish(original);
      // A duplicate changes nothing in the database: its settling shows only in the consumer's outcome counter.
      await waitFor(
        'the redelivery settled as a duplicate',
        async () => (await consumedDuplicates()) === duplicatesBefore + 1,
      );
      // Another payload under the same id is no duplicate: never acked silently, never applied.
      const dead = await deadLetter(await publish(userCreated('exchange', second, eventId)));
      expectDeadLetteredWithReason(dead, new Set(['conflicting_duplicate']));
      expect(await profileOf(second)).toBeNull();
      expect(await consumedDuplicates()).toBe(duplicatesBefore + 1);
      expect(await prisma().inboxEvent.count({ where: { eventId } })).toBe(1);
    },
    TEST_TIMEOUT_MS,
  );

  it(
    'is still consuming at the end, with nothing left behind and every valid event applied once',
    async () => {
      await waitFor('the work queue drained', async () => (await checkQueue(EVENT_QUEUE)).messageCount === 0, 30_000);
      expect((await checkQueue(EVENT_QUEUE)).consumerCount).toBeGreaterThan(0);
      await expectEachValidEventAppliedOnce();
      const userIds = [...validEvents.keys()];
      // Nothing but the valid events made a profile.
      expect(await prisma().customerProfile.count()).toBe(userIds.length);
    },
    TEST_TIMEOUT_MS,
  );
});
