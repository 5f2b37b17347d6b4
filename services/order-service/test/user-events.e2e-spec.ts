import 'reflect-metadata';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type { INestApplication } from '@nestjs/common';
import { toWireMessage, UserCreatedV2, UserDeletedV1, UserUpdatedV1 } from '@switchyard/contracts';
import {
  createTestDatabase,
  createTestVhost,
  IdentityPublisher,
  type TestDatabase,
  type TestVhost,
  waitFor,
} from '@switchyard/testing';
import amqp, { type Channel, type ChannelModel, type GetMessage } from 'amqplib';
import { randomUUID } from 'node:crypto';
import request from 'supertest';
import { EVENT_QUEUE, SCHEMA_PATH } from '../src/app.module.js';
import { PrismaClient } from '../src/generated/prisma/client.js';
import { CustomerProfilesService } from '../src/customers/customer-profiles.service.js';
import { startOrderServiceApp, testTokenIssuer } from './order-service-app.js';

const EXCHANGE = 'switchyard.events';
const DLQ = `${EVENT_QUEUE}.dlq`;

let db: TestDatabase;
let vhost: TestVhost;
let app: INestApplication;
let broker: ChannelModel;
let channel: Channel;
let producer: IdentityPublisher;

beforeAll(async () => {
  [db, vhost] = await Promise.all([createTestDatabase('orders_events', SCHEMA_PATH), createTestVhost('orders_events')]);
  // Short tiers so the whole retry path fits in a test: 3 retries, so 4 attempts in all.
  app = await startOrderServiceApp(db.url, vhost.identityUrl('order-service'), {
    MESSAGING_RETRY_DELAYS_MS: '100,200,300',
  });
  broker = await amqp.connect(vhost.url);
  channel = await broker.createConfirmChannel();
  producer = await IdentityPublisher.connect(vhost, 'user-service');
  // The transport declares its queue and bindings when it starts listening; wait until they exist.
  await waitFor('the consumer queue', async () => {
    const probe = await broker.createChannel();
    probe.on('error', () => undefined);
    try {
      return (await probe.checkQueue(EVENT_QUEUE)).consumerCount > 0;
    } finally {
      await probe.close().catch(() => undefined);
    }
  });
});

afterAll(async () => {
  await producer?.close();
  await broker?.close();
  await app?.close();
  await Promise.all([db?.drop(), vhost?.drop()]);
});

function userCreated(overrides: Partial<{ userId: string; email: string; occurredAt: string }> = {}) {
  const userId = overrides.userId ?? randomUUID();
  return {
    userId,
    email: overrides.email ?? `${userId}@example.com`,
    name: 'Eve',
    marketingOptIn: true,
    locale: 'en-GB',
    occurredAt: overrides.occurredAt ?? new Date().toISOString(),
  };
}

async function publishRaw(routingKey: string, content: Buffer, properties: Record<string, unknown>): Promise<void> {
  await producer.publish(EXCHANGE, routingKey, content, { persistent: true, ...properties });
}

async function publish(wire: ReturnType<typeof toWireMessage>): Promise<void> {
  await publishRaw(wire.routingKey, wire.content, { ...wire.properties });
}

function envelope(type: string, version: number, eventId = randomUUID()) {
  return {
    messageId: eventId,
    type,
    appId: 'test-producer',
    contentType: 'application/json',
    headers: {
      'ce-specversion': '1.0',
      'ce-id': eventId,
      'ce-type': type,
      'ce-source': 'test-producer',
      'x-event-version': version,
    },
  };
}

const profiles = () => app.get(PrismaClient).customerProfile;

async function deadLetter(eventId: string, timeoutMs = 10_000): Promise<GetMessage> {
  return waitFor(
    `event ${eventId} in ${DLQ}`,
    async () => {
      for (;;) {
        const message = await channel.get(DLQ, { noAck: false });
        if (!message) return undefined;
        if (message.properties.messageId === eventId) {
          channel.ack(message);
          return message;
        }
        channel.nack(message, false, true);
        return undefined;
      }
    },
    timeoutMs,
  );
}

describe('order-service consuming user events', () => {
  it('creates a profile from user.created', async () => {
    const data = userCreated();
    await publish(toWireMessage({ eventId: randomUUID(), contract: UserCreatedV2, data, source: 'user-service' }));
    const profile = await waitFor('the profile', () =>
      profiles()
        .findUnique({ where: { userId: data.userId } })
        .then((p) => p ?? undefined),
    );
    expect(profile).toMatchObject({ email: data.email, name: 'Eve', deletedAt: null });
    await request(app.getHttpServer())
      .get(`/customers/${data.userId}`)
      .set(await (await testTokenIssuer()).authorization(data.userId))
      .expect(200);
  });

  it('accepts a v1 user.created, upcast to the version the handler is written against', async () => {
    const { userId, email, name, occurredAt } = userCreated();
    await publishRaw(
      'user.created',
      Buffer.from(JSON.stringify({ userId, email, name, occurredAt })),
      envelope('user.created', 1),
    );
    await waitFor('the profile from a v1 event', () =>
      profiles()
        .findUnique({ where: { userId } })
        .then((p) => p ?? undefined),
    );
  });

  it('applies an event delivered twice exactly once', async () => {
    const data = userCreated();
    const wire = toWireMessage({ eventId: randomUUID(), contract: UserCreatedV2, data, source: 'user-service' });
    await publish(wire);
    await publish(wire);
    await waitFor('both deliveries handled', async () => {
      const inbox = await app.get(PrismaClient).inboxEvent.count({ where: { eventId: wire.properties.messageId } });
      const { messageCount } = await channel.checkQueue(EVENT_QUEUE);
      return inbox === 1 && messageCount === 0;
    });
    expect(await profiles().count({ where: { userId: data.userId } })).toBe(1);
  });

  it('retries an update that overtook its user.created, and applies it once the profile exists', async () => {
    const data = userCreated({ occurredAt: new Date(Date.now() - 1000).toISOString() });
    const update = toWireMessage({
      eventId: randomUUID(),
      contract: UserUpdatedV1,
      data: { userId: data.userId, changes: { name: 'Eve Renamed' }, occurredAt: new Date().toISOString() },
      source: 'user-service',
    });
    await publish(update);
    // The first attempt fails (no profile yet) and the update waits in a retry tier: see it there before creating.
    const retryQueues = ['100ms', '200ms', '300ms'].map((tier) => `${EVENT_QUEUE}.retry.${tier}`);
    await waitFor(
      'the update in a retry tier',
      async () => {
        const counts = await Promise.all(
          retryQueues.map((queue) => channel.checkQueue(queue).then((q) => q.messageCount)),
        );
        return counts.some((n) => n > 0);
      },
      5_000,
      10,
    );
    await publish(toWireMessage({ eventId: randomUUID(), contract: UserCreatedV2, data, source: 'user-service' }));
    const renamed = await waitFor('the retried update', () =>
      profiles()
        .findFirst({ where: { userId: data.userId, name: 'Eve Renamed' } })
        .then((p) => p ?? undefined),
    );
    expect(renamed.email).toBe(data.email);
  });

  it('erases email and name on user.deleted, keeping a tombstone that late events do not refill', async () => {
    const data = userCreated({ occurredAt: new Date(Date.now() - 2_000).toISOString() });
    await publish(toWireMessage({ eventId: randomUUID(), contract: UserCreatedV2, data, source: 'user-service' }));
    await waitFor('the profile', () =>
      profiles()
        .findUnique({ where: { userId: data.userId } })
        .then((p) => p ?? undefined),
    );
    const deletedAt = new Date(Date.now() - 1_000);
    await publish(
      toWireMessage({
        eventId: randomUUID(),
        contract: UserDeletedV1,
        data: { userId: data.userId, occurredAt: deletedAt.toISOString() },
        source: 'user-service',
      }),
    );
    const tombstone = await waitFor('the tombstone', () =>
      profiles()
        .findFirst({ where: { userId: data.userId, deletedAt: { not: null } } })
        .then((p) => p ?? undefined),
    );
    expect(tombstone).toMatchObject({ userId: data.userId, email: null, name: null, deletedAt });

    // An update newer than the deletion and a redelivered creation (new event ids: not inbox duplicates).
    const late = [
      toWireMessage({
        eventId: randomUUID(),
        contract: UserUpdatedV1,
        data: {
          userId: data.userId,
          changes: { email: 'back@example.com', name: 'Back' },
          occurredAt: new Date().toISOString(),
        },
        source: 'user-service',
      }),
      toWireMessage({ eventId: randomUUID(), contract: UserCreatedV2, data, source: 'user-service' }),
    ];
    for (const wire of late) await publish(wire);
    await waitFor('the late events handled', async () => {
      const handled = await app
        .get(PrismaClient)
        .inboxEvent.count({ where: { eventId: { in: late.map((wire) => wire.properties.messageId) } } });
      return handled === late.length;
    });
    expect(await profiles().findUnique({ where: { userId: data.userId } })).toMatchObject({
      userId: data.userId,
      email: null,
      name: null,
      deletedAt,
    });
  });

  it('dead-letters a handler that keeps failing after the last retry, with its reason and error', async () => {
    const update = toWireMessage({
      eventId: randomUUID(),
      contract: UserUpdatedV1,
      data: { userId: randomUUID(), changes: { name: 'Nobody' }, occurredAt: new Date().toISOString() },
      source: 'user-service',
    });
    await publish(update);
    const dead = await deadLetter(update.properties.messageId);
    expect(dead.properties.headers).toMatchObject({
      'x-death-reason': 'retries_exhausted',
      'x-error-class': 'ProfileNotYetKnownError',
      'x-attempts': 4,
      'x-original-routing-key': 'user.updated',
      'x-consumer-service': 'order-service',
      'x-consumer-queue': EVENT_QUEUE,
    });
    expect(String(dead.properties.headers?.['x-error-message'])).toContain('arrived before user.created');
    expect(JSON.parse(dead.content.toString())).toEqual(JSON.parse(update.content.toString()));
  });

  it.each([
    ['malformed JSON', 'malformed_json', 'user.created', 1, Buffer.from('{"userId": ')],
    [
      'a schema-invalid payload',
      'schema_invalid',
      'user.created',
      2,
      Buffer.from(JSON.stringify({ userId: 'nope', occurredAt: 'then' })),
    ],
    [
      'a version newer than the consumer knows',
      'unsupported_version',
      'user.created',
      3,
      Buffer.from(JSON.stringify(userCreated())),
    ],
    ['an unknown event type', 'unknown_event_type', 'user.teleported', 1, Buffer.from(JSON.stringify(userCreated()))],
  ])('dead-letters %s at once with reason %s', async (_case, reason, type, version, body) => {
    const props = envelope(type, version);
    // Sent with a bound routing key, as a confused producer would; the envelope names the real type.
    await publishRaw('user.created', body, props);
    const dead = await deadLetter(props.messageId, 5_000);
    expect(dead.properties.headers).toMatchObject({ 'x-death-reason': reason, 'x-attempts': 1 });
  });

  it('keeps each field’s newest change when updates arrive out of order, and never lets an older one win', async () => {
    const profilesService = app.get(CustomerProfilesService);
    const prisma = app.get(PrismaClient);
    const at = (seconds: number) => new Date(Date.UTC(2026, 0, 1, 0, 0, seconds)).toISOString();
    const data = userCreated({ occurredAt: at(0) });
    await prisma.$transaction((tx) => profilesService.applyUserCreated(tx, data));
    // Newest first: the name changed at t3, then (arriving later) an email change from t2 and a name change from t1.
    for (const [changes, seconds] of [
      [{ name: 'Name at t3' }, 3],
      [{ email: 'email-at-t2@example.com' }, 2],
      [{ name: 'Name at t1' }, 1],
    ] as const) {
      await prisma.$transaction((tx) =>
        profilesService.applyUserUpdated(tx, { userId: data.userId, changes, occurredAt: at(seconds) }),
      );
    }
    // A replayed user.created from t0 changes nothing either.
    await prisma.$transaction((tx) => profilesService.applyUserCreated(tx, data));
    expect(await profiles().findUnique({ where: { userId: data.userId } })).toMatchObject({
      name: 'Name at t3',
      email: 'email-at-t2@example.com',
    });
  });

  it('applies concurrent updates of one user one after the other', async () => {
    const profilesService = app.get(CustomerProfilesService);
    const prisma = app.get(PrismaClient);
    const data = userCreated({ occurredAt: new Date(Date.now() - 10_000).toISOString() });
    await prisma.$transaction((tx) => profilesService.applyUserCreated(tx, data));
    const updates = Array.from({ length: 10 }, (_, i) => ({
      userId: data.userId,
      changes: { name: `Name ${i}` },
      occurredAt: new Date(Date.now() - 5_000 + i * 100).toISOString(),
    }));
    await Promise.all(
      updates.map((update) => prisma.$transaction((tx) => profilesService.applyUserUpdated(tx, update))),
    );
    expect((await profiles().findUnique({ where: { userId: data.userId } }))?.name).toBe('Name 9');
  });

  it('keeps consuming other events while one is being retried', async () => {
    const stuck = toWireMessage({
      eventId: randomUUID(),
      contract: UserUpdatedV1,
      data: { userId: randomUUID(), changes: { name: 'Stuck' }, occurredAt: new Date().toISOString() },
      source: 'user-service',
    });
    await publish(stuck);
    const data = userCreated();
    await publish(toWireMessage({ eventId: randomUUID(), contract: UserCreatedV2, data, source: 'user-service' }));
    await waitFor(
      'the next event, not blocked behind the failing one',
      () =>
        profiles()
          .findUnique({ where: { userId: data.userId } })
          .then((p) => p ?? undefined),
      2_000,
    );
    await deadLetter(stuck.properties.messageId);
  });
});
