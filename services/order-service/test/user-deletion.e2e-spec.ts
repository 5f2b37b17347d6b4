import 'reflect-metadata';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type { INestApplication } from '@nestjs/common';
import { PrismaPg } from '@prisma/adapter-pg';
import { toWireMessage, UserDeletedV1 } from '@switchyard/contracts';
import {
  createTestDatabase,
  createTestVhost,
  IdentityPublisher,
  type TestDatabase,
  type TestVhost,
  waitFor,
} from '@switchyard/testing';
import amqp, { type Channel, type ChannelModel } from 'amqplib';
import { randomUUID } from 'node:crypto';
import request from 'supertest';
import { EVENT_QUEUE, SCHEMA_PATH } from '../src/app.module.js';
import { loadOrderServiceConfig } from '../src/config.js';
import { CustomerProfilesService } from '../src/customers/customer-profiles.service.js';
import { PrismaClient } from '../src/generated/prisma/client.js';
import { startOrderServiceApp, testTokenIssuer } from './order-service-app.js';

// A deleted customer's orders are cancelled in chunks, each its own transaction (src/customers/order-cancellations.ts).
// Here against the real service, Postgres and RabbitMQ: a customer with 20,000 orders, and a stop between chunks.

const EXCHANGE = 'switchyard.events';
/** The test's own queue bound to order.cancelled: what a consumer of the event would get. */
const CANCELLED_QUEUE = 'test.order-cancelled';

let db: TestDatabase;
let vhost: TestVhost;
let broker: ChannelModel;
let channel: Channel;
let producer: IdentityPublisher;
/** Every order.cancelled delivered to the test queue, by the customer it is for. */
const delivered = new Map<string, Array<{ eventId: string; orderId: string }>>();

beforeAll(async () => {
  [db, vhost] = await Promise.all([
    createTestDatabase('orders_deletion', SCHEMA_PATH),
    createTestVhost('orders_deletion'),
  ]);
  broker = await amqp.connect(vhost.url);
  channel = await broker.createConfirmChannel();
  producer = await IdentityPublisher.connect(vhost, 'user-service');
  await channel.assertExchange(EXCHANGE, 'topic', { durable: true });
  await channel.assertQueue(CANCELLED_QUEUE, { durable: true });
  await channel.bindQueue(CANCELLED_QUEUE, EXCHANGE, 'order.cancelled');
  await channel.consume(
    CANCELLED_QUEUE,
    (message) => {
      if (!message) return;
      const data = JSON.parse(message.content.toString()) as { orderId: string; userId: string };
      const list = delivered.get(data.userId) ?? [];
      list.push({ eventId: String(message.properties.messageId), orderId: data.orderId });
      delivered.set(data.userId, list);
    },
    { noAck: true },
  );
});

afterAll(async () => {
  await producer?.close();
  await broker?.close();
  await Promise.all([db?.drop(), vhost?.drop()]);
});

async function startApp(env: NodeJS.ProcessEnv = {}): Promise<INestApplication> {
  const app = await startOrderServiceApp(db.url, vhost.identityUrl('order-service'), env);
  await waitFor('the consumer queue', async () => {
    const probe = await broker.createChannel();
    probe.on('error', () => undefined);
    try {
      return (await probe.checkQueue(EVENT_QUEUE)).consumerCount > 0;
    } finally {
      await probe.close().catch(() => undefined);
    }
  });
  return app;
}

/** A known customer with `count` placed orders, inserted in one statement (the API would take minutes). */
async function customerWithOrders(app: INestApplication, count: number): Promise<string> {
  const userId = randomUUID();
  const prisma = app.get(PrismaClient);
  const created = {
    userId,
    email: `${userId}@example.com`,
    name: 'Many Orders',
    marketingOptIn: false,
    locale: 'en',
    occurredAt: new Date(Date.now() - 60_000).toISOString(),
  };
  await prisma.$transaction((tx) => app.get(CustomerProfilesService).applyUserCreated(tx, created));
  await prisma.$executeRaw`
    INSERT INTO orders (id, user_id, total_cents, updated_at)
    SELECT gen_random_uuid(), ${userId}::uuid, 100, now() FROM generate_series(1, ${count}::int)`;
  return userId;
}

async function publishUserDeleted(userId: string): Promise<void> {
  const wire = toWireMessage({
    eventId: randomUUID(),
    contract: UserDeletedV1,
    data: { userId, occurredAt: new Date().toISOString() },
    source: 'user-service',
  });
  await producer.publish(EXCHANGE, wire.routingKey, wire.content, { persistent: true, ...wire.properties });
}

async function cancelledCount(app: INestApplication, userId: string): Promise<number> {
  return app.get(PrismaClient).order.count({ where: { userId, status: 'CANCELLED' } });
}

/** Waits until every order.cancelled of `userId` in the outbox is sent and delivered to the test queue. */
async function allDelivered(app: INestApplication, userId: string, expected: number, timeoutMs: number) {
  await waitFor(
    `${expected} order.cancelled sent and delivered`,
    async () => {
      const [row] = await app.get(PrismaClient).$queryRaw<Array<{ unsent: number }>>`
        SELECT count(*)::int AS unsent FROM outbox_events
        WHERE event_type = 'order.cancelled' AND payload->>'userId' = ${userId} AND sent_at IS NULL`;
      const { messageCount } = await channel.checkQueue(CANCELLED_QUEUE);
      return row?.unsent === 0 && messageCount === 0 && (delivered.get(userId)?.length ?? 0) >= expected;
    },
    timeoutMs,
    200,
  );
}

/** Each order of `userId` announced exactly once: in the outbox, and on the wire. */
async function expectExactlyOnce(app: INestApplication, userId: string, expected: number): Promise<void> {
  const [outbox] = await app.get(PrismaClient).$queryRaw<Array<{ rows: number; orders: number; reasons: number }>>`
    SELECT count(*)::int AS rows, count(DISTINCT payload->>'orderId')::int AS orders,
           count(*) FILTER (WHERE payload->>'reason' = 'customer_deleted')::int AS reasons
    FROM outbox_events WHERE event_type = 'order.cancelled' AND payload->>'userId' = ${userId}`;
  expect(outbox).toEqual({ rows: expected, orders: expected, reasons: expected });
  const received = delivered.get(userId) ?? [];
  expect(received).toHaveLength(expected);
  expect(new Set(received.map((event) => event.eventId)).size).toBe(expected);
  const orders = await app.get(PrismaClient).order.findMany({ where: { userId }, select: { id: true } });
  expect(new Set(received.map((event) => event.orderId))).toEqual(new Set(orders.map((order) => order.id)));
  expect(await app.get(PrismaClient).orderCancellationJob.count({ where: { userId } })).toBe(0);
}

describe('user.deleted for a customer with many orders', () => {
  it('cancels 20,000 placed orders within 2 minutes, announcing each exactly once, and refuses new orders meanwhile', async () => {
    const app = await startApp();
    try {
      const userId = await customerWithOrders(app, 20_000);
      const publishedAt = Date.now();
      await publishUserDeleted(userId);

      await waitFor('the profile marked deleted', async () =>
        (await app.get(PrismaClient).customerProfile.findUnique({ where: { userId } }))?.deletedAt ? true : undefined,
      );
      // While the rest are still being cancelled, the deleted customer cannot place a new one.
      const refused = await request(app.getHttpServer())
        .post('/orders')
        .set(await (await testTokenIssuer()).authorization(userId))
        .send({ userId, items: [{ sku: 'LATE', quantity: 1, unitPriceCents: 1 }] })
        .expect(422);
      expect(refused.body.message).toBe(`customer ${userId} was deleted and cannot place orders`);

      await waitFor(
        'all 20,000 orders CANCELLED',
        async () => (await cancelledCount(app, userId)) === 20_000,
        120_000 - (Date.now() - publishedAt),
        250,
      );
      expect(Date.now() - publishedAt).toBeLessThan(120_000);
      expect(await app.get(PrismaClient).order.count({ where: { userId, status: 'PLACED' } })).toBe(0);
      await allDelivered(app, userId, 20_000, 120_000);
      await expectExactlyOnce(app, userId, 20_000);
    } finally {
      await app.close();
    }
  }, 300_000);

  it('resumes after a stop between chunks, with no order announced twice', async () => {
    const total = 5_000;
    // Small chunks, so the stop lands with most of the work still to do.
    const settings = { ORDER_CANCELLATION_CHUNK_SIZE: '50', ORDER_CANCELLATION_POLL_MS: '100' };
    const first = await startApp(settings);
    const userId = await customerWithOrders(first, total);
    try {
      await publishUserDeleted(userId);
      await waitFor('a few chunks cancelled', async () => (await cancelledCount(first, userId)) >= 200, 30_000, 10);
    } finally {
      await first.close();
    }

    // Stopped between chunks: whole chunks done, the rest still PLACED, and the job says where to go on.
    const prisma = new PrismaClient({ adapter: new PrismaPg({ connectionString: db.url, max: 1 }) });
    try {
      const cancelled = await prisma.order.count({ where: { userId, status: 'CANCELLED' } });
      expect(cancelled).toBeGreaterThanOrEqual(200);
      expect(cancelled).toBeLessThan(total);
      expect(cancelled % 50).toBe(0);
      const job = await prisma.orderCancellationJob.findUnique({ where: { userId } });
      expect(job?.afterOrderId).toEqual(expect.any(String));
      expect(await prisma.order.count({ where: { userId, status: 'PLACED', id: { lte: job!.afterOrderId! } } })).toBe(
        0,
      );
    } finally {
      await prisma.$disconnect();
    }

    const second = await startApp(settings);
    try {
      await waitFor('the rest CANCELLED', async () => (await cancelledCount(second, userId)) === total, 120_000, 250);
      await allDelivered(second, userId, total, 120_000);
      await expectExactlyOnce(second, userId, total);
    } finally {
      await second.close();
    }
  }, 300_000);

  it('goes on after a chunk’s connection is killed mid-transaction, with no order announced twice', async () => {
    const total = 3_000;
    const app = await startApp({ ORDER_CANCELLATION_CHUNK_SIZE: '50', ORDER_CANCELLATION_POLL_MS: '100' });
    try {
      const userId = await customerWithOrders(app, total);
      await publishUserDeleted(userId);
      const prisma = app.get(PrismaClient);
      let kills = 0;
      for (let round = 0; round < 5; round++) {
        // The backend of a worker's chunk is the one holding a lock on the job table; kill it before it commits.
        const killed = await waitFor(
          'a chunk in flight',
          async () => {
            const rows = await prisma.$queryRaw<Array<{ killed: boolean }>>`
              SELECT pg_terminate_backend(l.pid) AS killed FROM pg_locks l JOIN pg_class c ON c.oid = l.relation
              WHERE c.relname = 'order_cancellation_jobs' AND l.pid <> pg_backend_pid()`;
            return rows.some((row) => row.killed) ? rows.length : undefined;
          },
          30_000,
          5,
        );
        kills += killed;
      }
      expect(kills).toBeGreaterThanOrEqual(5);
      await waitFor('all orders CANCELLED', async () => (await cancelledCount(app, userId)) === total, 60_000, 250);
      await allDelivered(app, userId, total, 60_000);
      await expectExactlyOnce(app, userId, total);
    } finally {
      await app.close();
    }
  }, 120_000);

  it('announces only the orders it cancelled: one cancelled earlier through the API keeps its own event', async () => {
    const app = await startApp({ ORDER_CANCELLATION_CHUNK_SIZE: '2' });
    try {
      const userId = await customerWithOrders(app, 5);
      const [first] = await app.get(PrismaClient).order.findMany({ where: { userId }, orderBy: { id: 'asc' } });
      await request(app.getHttpServer())
        .post(`/orders/${first!.id}/cancel`)
        .set(await (await testTokenIssuer()).authorization(userId))
        .expect(200);
      await publishUserDeleted(userId);
      await waitFor('all 5 orders CANCELLED', async () => (await cancelledCount(app, userId)) === 5, 20_000);
      await allDelivered(app, userId, 5, 20_000);
      expect((delivered.get(userId) ?? []).filter((event) => event.orderId === first!.id)).toHaveLength(1);
      const [outbox] = await app.get(PrismaClient).$queryRaw<Array<{ requested: number; deleted: number }>>`
        SELECT count(*) FILTER (WHERE payload->>'reason' = 'requested')::int AS requested,
               count(*) FILTER (WHERE payload->>'reason' = 'customer_deleted')::int AS deleted
        FROM outbox_events WHERE event_type = 'order.cancelled' AND payload->>'userId' = ${userId}`;
      expect(outbox).toEqual({ requested: 1, deleted: 4 });
      expect(await app.get(PrismaClient).orderCancellationJob.count({ where: { userId } })).toBe(0);
    } finally {
      await app.close();
    }
  }, 60_000);

  it.each([
    ['0', 'must be between 1 and 2000'],
    ['2001', 'must be between 1 and 2000'],
    ['ten', 'must be a number of orders'],
  ])('refuses ORDER_CANCELLATION_CHUNK_SIZE=%s with a message naming it', (value, message) => {
    expect(() =>
      loadOrderServiceConfig({
        DATABASE_URL: 'postgresql://localhost/orders',
        RABBITMQ_URL: 'amqp://localhost',
        ORDER_CANCELLATION_CHUNK_SIZE: value,
      }),
    ).toThrow(`invalid configuration: ORDER_CANCELLATION_CHUNK_SIZE ${message}`);
  });
});
