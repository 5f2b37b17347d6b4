import 'reflect-metadata';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type { INestApplication } from '@nestjs/common';
import type { Role } from '@switchyard/auth';
import { createTestDatabase, createTestVhost, type TestDatabase, type TestVhost, withToken } from '@switchyard/testing';
import { randomUUID } from 'node:crypto';
import request from 'supertest';
import { SCHEMA_PATH } from '../src/app.module.js';
import { CustomerProfilesService } from '../src/customers/customer-profiles.service.js';
import { PrismaClient } from '../src/generated/prisma/client.js';
import { startOrderServiceApp, testTokenIssuer } from './order-service-app.js';

let db: TestDatabase;
let vhost: TestVhost;
let app: INestApplication;
let http: ReturnType<typeof request>;

beforeAll(async () => {
  [db, vhost] = await Promise.all([createTestDatabase('orders', SCHEMA_PATH), createTestVhost('orders')]);
  app = await startOrderServiceApp(db.url, vhost.identityUrl('order-service'));
  http = request(app.getHttpServer());
});

/** The agent acting as `userId`, with a token as user-service would issue it after a login. */
async function as(userId: string, roles: Role[] = ['user']): Promise<ReturnType<typeof request>> {
  return withToken(http, await (await testTokenIssuer()).token(userId, roles));
}
const asAdmin = () => as(randomUUID(), ['admin']);

afterAll(async () => {
  await app?.close();
  await db?.drop();
  await vhost?.drop();
});

/** Profiles come from user events; these tests apply one through the same service method the handler calls. */
async function knownCustomer(): Promise<string> {
  const userId = randomUUID();
  const event = {
    userId,
    email: `${userId}@example.com`,
    name: 'Customer',
    marketingOptIn: false,
    locale: 'en',
    occurredAt: new Date().toISOString(),
  };
  await app.get(PrismaClient).$transaction((tx) => app.get(CustomerProfilesService).applyUserCreated(tx, event));
  return userId;
}

const items = [
  { sku: 'BOOK-1', quantity: 2, unitPriceCents: 1250 },
  { sku: 'PEN-9', quantity: 3, unitPriceCents: 199 },
];

async function placeOrder(userId: string) {
  return (await (await as(userId)).post('/orders').send({ userId, items }).expect(201)).body as {
    id: string;
    userId: string;
    status: string;
    totalCents: number;
  };
}

describe('GET /customers/:userId', () => {
  it('returns the profile order-service keeps', async () => {
    const userId = await knownCustomer();
    const response = await (await as(userId)).get(`/customers/${userId}`).expect(200);
    expect(response.body).toMatchObject({ userId, email: `${userId}@example.com`, name: 'Customer', deleted: false });
  });

  it('answers an unknown user with 404 and a malformed id with 400', async () => {
    const admin = await asAdmin();
    await admin.get(`/customers/${randomUUID()}`).expect(404);
    expect((await admin.get('/customers/nope').expect(400)).body.details).toEqual([
      { field: 'userId', message: 'must be a UUID' },
    ]);
  });
});

describe('POST /orders', () => {
  it('places an order and computes its total in integer cents', async () => {
    const userId = await knownCustomer();
    const response = await (await as(userId)).post('/orders').send({ userId, items }).expect(201);
    expect(response.body).toMatchObject({ userId, status: 'PLACED', totalCents: 2 * 1250 + 3 * 199, items });
    expect(response.body.id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-7/);
    expect(new Date(response.body.createdAt).toISOString()).toBe(response.body.createdAt);
  });

  it('keeps totals exact far beyond 32-bit cents', async () => {
    const userId = await knownCustomer();
    const big = Array.from({ length: 100 }, (_, i) => ({
      sku: `GOLD-${i}`,
      quantity: 10_000,
      unitPriceCents: 100_000_000,
    }));
    const customer = await as(userId);
    const response = await customer.post('/orders').send({ userId, items: big }).expect(201);
    expect(response.body.totalCents).toBe(100 * 10_000 * 100_000_000);
    expect((await customer.get(`/orders/${response.body.id}`).expect(200)).body.totalCents).toBe(100_000_000_000_000);
  });

  it('answers an unknown customer with 422 saying why', async () => {
    const userId = randomUUID();
    const response = await (await as(userId)).post('/orders').send({ items }).expect(422);
    expect(response.body.statusCode).toBe(422);
    expect(response.body.error).toBe('Unprocessable Entity');
    expect(response.body.message).toContain(`customer ${userId} is unknown to order-service`);
  });

  it('answers a deleted customer with 422', async () => {
    const userId = await knownCustomer();
    const deleted = { userId, occurredAt: new Date().toISOString() };
    await app
      .get(PrismaClient)
      .$transaction((tx) => app.get(CustomerProfilesService).applyUserDeleted(tx, deleted, randomUUID()));
    const response = await (await as(userId)).post('/orders').send({ userId, items }).expect(422);
    expect(response.body.message).toBe(`customer ${userId} was deleted and cannot place orders`);
  });

  it.each([
    ['no items', { items: [] }, [{ field: 'items', message: 'must contain at least one item' }]],
    ['items not an array', { items: 'BOOK-1' }, [{ field: 'items', message: 'must be an array of items' }]],
    [
      'an empty sku',
      { items: [{ sku: '  ', quantity: 1, unitPriceCents: 1 }] },
      [{ field: 'items.0.sku', message: 'must be a non-empty string' }],
    ],
    [
      'a sku of the wrong type',
      { items: [{ sku: 5, quantity: 1, unitPriceCents: 1 }] },
      [{ field: 'items.0.sku', message: 'must be a string' }],
    ],
    [
      'a zero quantity',
      { items: [{ sku: 'A', quantity: 0, unitPriceCents: 1 }] },
      [{ field: 'items.0.quantity', message: 'must be a positive integer' }],
    ],
    [
      'a fractional quantity',
      { items: [{ sku: 'A', quantity: 1.5, unitPriceCents: 1 }] },
      [{ field: 'items.0.quantity', message: 'must be a positive integer' }],
    ],
    [
      'a quantity as a string',
      { items: [{ sku: 'A', quantity: '2', unitPriceCents: 1 }] },
      [{ field: 'items.0.quantity', message: 'must be a number' }],
    ],
    [
      'a negative price',
      { items: [{ sku: 'A', quantity: 1, unitPriceCents: -1 }] },
      [{ field: 'items.0.unitPriceCents', message: 'must be a non-negative integer (cents)' }],
    ],
    [
      'a fractional price',
      { items: [{ sku: 'A', quantity: 1, unitPriceCents: 9.99 }] },
      [{ field: 'items.0.unitPriceCents', message: 'must be a non-negative integer (cents)' }],
    ],
    [
      'an unknown item field',
      { items: [{ sku: 'A', quantity: 1, unitPriceCents: 1, discount: 5 }] },
      [{ field: 'items.0.discount', message: 'is not an allowed field' }],
    ],
  ])('rejects %s with 400 naming the field', async (_case, body, details) => {
    const userId = randomUUID();
    const response = await (
      await as(userId)
    )
      .post('/orders')
      .send({ userId, ...body })
      .expect(400);
    expect(response.body.details).toEqual(details);
  });

  it('names a malformed userId and unknown top-level fields', async () => {
    const userId = randomUUID();
    const customer = await as(userId);
    expect((await customer.post('/orders').send({ userId: 'u-1', items }).expect(400)).body.details).toEqual([
      { field: 'userId', message: 'must be a UUID' },
    ]);
    expect(
      (await customer.post('/orders').send({ userId, items, status: 'CANCELLED' }).expect(400)).body.details,
    ).toEqual([{ field: 'status', message: 'is not an allowed field' }]);
  });

  it('places the order for the token’s user when the body has no userId, and refuses another user’s id with 403', async () => {
    const userId = await knownCustomer();
    const customer = await as(userId);
    expect((await customer.post('/orders').send({ items }).expect(201)).body.userId).toBe(userId);
    const other = await knownCustomer();
    const refused = await customer.post('/orders').send({ userId: other, items }).expect(403);
    expect(refused.body).toMatchObject({ statusCode: 403, error: 'Forbidden' });
    expect((await (await as(other)).get('/orders').expect(200)).body.items).toEqual([]);
  });

  it('answers malformed JSON with 400 and an oversized body with 413', async () => {
    const customer = await as(randomUUID());
    await customer.post('/orders').set('content-type', 'application/json').send('{"userId":').expect(400);
    const huge = { items: [{ sku: 'x'.repeat(150 * 1024), quantity: 1, unitPriceCents: 1 }] };
    expect((await customer.post('/orders').send(huge).expect(413)).body.statusCode).toBe(413);
  });
});

describe('GET /orders', () => {
  it('lists a customer’s orders, oldest first, in pages, and nobody else’s', async () => {
    const [alice, bob] = [await knownCustomer(), await knownCustomer()];
    const placed = [await placeOrder(alice), await placeOrder(alice), await placeOrder(alice)];
    await placeOrder(bob);
    const asAlice = await as(alice);
    const first = await asAlice.get('/orders').query({ userId: alice, limit: 2 }).expect(200);
    expect(first.body.items.map((o: { id: string }) => o.id)).toEqual(placed.slice(0, 2).map((o) => o.id));
    const second = await asAlice.get('/orders').query({ limit: 2, cursor: first.body.nextCursor }).expect(200);
    expect(second.body.items.map((o: { id: string }) => o.id)).toEqual([placed[2]!.id]);
    expect(second.body.nextCursor).toBeNull();
  });

  it('lets an admin list anyone’s orders and refuses other users with 403', async () => {
    const [alice, bob] = [await knownCustomer(), await knownCustomer()];
    const order = await placeOrder(alice);
    const listed = await (await asAdmin()).get('/orders').query({ userId: alice }).expect(200);
    expect(listed.body.items.map((o: { id: string }) => o.id)).toEqual([order.id]);
    const refused = await (await as(bob)).get('/orders').query({ userId: alice }).expect(403);
    expect(JSON.stringify(refused.body)).not.toContain(order.id);
  });

  it('names a malformed userId', async () => {
    expect((await (await as(randomUUID())).get('/orders?userId=7').expect(400)).body.details).toEqual([
      { field: 'userId', message: 'must be a UUID' },
    ]);
  });
});

describe('GET /orders/:id', () => {
  it('returns the order with its items in the order they were placed', async () => {
    const order = await placeOrder(await knownCustomer());
    const response = await (await as(order.userId)).get(`/orders/${order.id}`).expect(200);
    expect(response.body).toEqual(order);
    expect(response.body.items.map((i: { sku: string }) => i.sku)).toEqual(['BOOK-1', 'PEN-9']);
  });

  it('answers 404 for an unknown order and 400 for a malformed id', async () => {
    const customer = await as(randomUUID());
    await customer.get(`/orders/${randomUUID()}`).expect(404);
    await customer.get('/orders/12').expect(400);
  });

  it('answers another user’s order with 404, like a missing one, and shows it to an admin', async () => {
    const order = await placeOrder(await knownCustomer());
    const refused = await (await as(await knownCustomer())).get(`/orders/${order.id}`).expect(404);
    expect(refused.body).toEqual({ statusCode: 404, error: 'Not Found', message: `order ${order.id} not found` });
    expect((await (await asAdmin()).get(`/orders/${order.id}`).expect(200)).body).toEqual(order);
  });
});

describe('POST /orders/:id/cancel', () => {
  it('cancels a placed order once, then answers 409', async () => {
    const order = await placeOrder(await knownCustomer());
    const customer = await as(order.userId);
    const response = await customer.post(`/orders/${order.id}/cancel`).expect(200);
    expect(response.body).toMatchObject({ id: order.id, status: 'CANCELLED', cancelReason: 'requested' });
    expect(response.body.cancelledAt).not.toBeNull();
    const again = await customer.post(`/orders/${order.id}/cancel`).expect(409);
    expect(again.body).toEqual({
      statusCode: 409,
      error: 'Conflict',
      message: `order ${order.id} is CANCELLED and cannot be cancelled`,
    });
  });

  it('lets exactly one of two concurrent cancels win', async () => {
    const order = await placeOrder(await knownCustomer());
    const customer = await as(order.userId);
    const statuses = await Promise.all([
      customer.post(`/orders/${order.id}/cancel`),
      customer.post(`/orders/${order.id}/cancel`),
    ]).then((r) => r.map((x) => x.status).sort());
    expect(statuses).toEqual([200, 409]);
  });

  it('answers 404 for an unknown order', async () => {
    await (await as(randomUUID())).post(`/orders/${randomUUID()}/cancel`).expect(404);
  });

  it('answers 404 for another user’s order, admins included, and leaves it placed', async () => {
    const order = await placeOrder(await knownCustomer());
    await (await as(await knownCustomer())).post(`/orders/${order.id}/cancel`).expect(404);
    await (await asAdmin()).post(`/orders/${order.id}/cancel`).expect(404);
    expect((await (await as(order.userId)).get(`/orders/${order.id}`).expect(200)).body.status).toBe('PLACED');
  });
});
