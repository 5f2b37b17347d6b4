import 'reflect-metadata';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type { INestApplication } from '@nestjs/common';
import { toWireMessage, UserDeletedV1 } from '@switchyard/contracts';
import {
  createTestDatabase,
  createTestVhost,
  IdentityPublisher,
  type TestDatabase,
  type TestVhost,
  waitFor,
} from '@switchyard/testing';
import amqp, { type ChannelModel, type GetMessage } from 'amqplib';
import { randomUUID } from 'node:crypto';
import { EVENT_QUEUE, SCHEMA_PATH } from '../src/app.module.js';
import { CustomerProfilesService } from '../src/customers/customer-profiles.service.js';
import { PrismaClient } from '../src/generated/prisma/client.js';
import { startOrderServiceApp } from './order-service-app.js';

// The attack of issue 13: a compromised order-service (or anyone with broker access) announcing `user.deleted` to
// cancel a user's orders. The real service runs under its own broker identity.
const EXCHANGE = 'switchyard.events';
const DLQ = `${EVENT_QUEUE}.dlq`;

let db: TestDatabase;
let vhost: TestVhost;
let app: INestApplication;
/** guest: full permissions on the vhost, the privileged injector (and the test's inspector). */
let guest: ChannelModel;
let userService: IdentityPublisher;
let orderService: IdentityPublisher;

beforeAll(async () => {
  [db, vhost] = await Promise.all([
    createTestDatabase('orders_producer_auth', SCHEMA_PATH),
    createTestVhost('orders_auth'),
  ]);
  app = await startOrderServiceApp(db.url, vhost.identityUrl('order-service'));
  guest = await amqp.connect(vhost.url);
  [userService, orderService] = await Promise.all([
    IdentityPublisher.connect(vhost, 'user-service'),
    IdentityPublisher.connect(vhost, 'order-service'),
  ]);
}, 60_000);

afterAll(async () => {
  await Promise.all([userService?.close(), orderService?.close(), guest?.close().catch(() => undefined)]);
  await app?.close();
  await Promise.all([db?.drop(), vhost?.drop()]);
});

/** A known customer with two placed orders. */
async function customerWithOrders(): Promise<string> {
  const userId = randomUUID();
  const prisma = app.get(PrismaClient);
  const created = {
    userId,
    email: `${userId}@example.com`,
    name: 'Target',
    marketingOptIn: false,
    locale: 'en',
    occurredAt: new Date(Date.now() - 60_000).toISOString(),
  };
  await prisma.$transaction((tx) => app.get(CustomerProfilesService).applyUserCreated(tx, created));
  await prisma.$executeRaw`
    INSERT INTO orders (id, user_id, total_cents, updated_at)
    SELECT gen_random_uuid(), ${userId}::uuid, 100, now() FROM generate_series(1, 2)`;
  return userId;
}

function userDeleted(userId: string) {
  return toWireMessage({
    eventId: randomUUID(),
    contract: UserDeletedV1,
    data: { userId, occurredAt: new Date().toISOString() },
    source: 'user-service',
  });
}

const cancelled = (userId: string) => app.get(PrismaClient).order.count({ where: { userId, status: 'CANCELLED' } });

/** The dead letter with this event id, taken off the DLQ once it is there. */
async function deadLetter(eventId: string): Promise<GetMessage> {
  const channel = await guest.createChannel();
  try {
    return await waitFor(`the dead letter of ${eventId}`, async () => {
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
    });
  } finally {
    await channel.close().catch(() => undefined);
  }
}

describe('order-service authenticates the producer of user.deleted', () => {
  it('cancels the orders on user-service’s own user.deleted', async () => {
    const userId = await customerWithOrders();
    const wire = userDeleted(userId);
    await userService.publish(EXCHANGE, wire.routingKey, wire.content, { persistent: true, ...wire.properties });
    await waitFor('the orders cancelled', async () => (await cancelled(userId)) === 2);
  });

  it('is refused by the broker when order-service’s credentials publish user.deleted (403)', async () => {
    const userId = await customerWithOrders();
    const wire = userDeleted(userId);
    await expect(
      orderService.publish(EXCHANGE, wire.routingKey, wire.content, { persistent: true, ...wire.properties }),
    ).rejects.toThrow(/403 \(ACCESS-REFUSED\).*topic 'user\.deleted'.*refused for user 'order-service'/);
    expect(await cancelled(userId)).toBe(0);
  });

  it('dead-letters as forged_producer a user.deleted injected through a privileged connection, cancelling nothing', async () => {
    const userId = await customerWithOrders();
    const wire = userDeleted(userId);
    const channel = await guest.createConfirmChannel();
    channel.publish(EXCHANGE, wire.routingKey, wire.content, { persistent: true, ...wire.properties, userId: 'guest' });
    await channel.waitForConfirms();
    await channel.close();
    const dead = await deadLetter(wire.properties.messageId);
    expect(dead.properties.headers).toMatchObject({
      'x-death-reason': 'forged_producer',
      'x-error-message': "user.deleted is published by 'user-service' only; this one came with user-id 'guest'",
      'x-original-user-id': 'guest',
    });
    expect(await cancelled(userId)).toBe(0);
    expect(await app.get(PrismaClient).customerProfile.findUnique({ where: { userId } })).toMatchObject({
      deletedAt: null,
    });
  });
});
