import 'reflect-metadata';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type { INestApplication } from '@nestjs/common';
import { createTestDatabase, createTestVhost, type TestDatabase, type TestVhost } from '@switchyard/testing';
import fc from 'fast-check';
import { randomUUID } from 'node:crypto';
import request from 'supertest';
import { SCHEMA_PATH } from '../src/app.module.js';
import { CustomerProfilesService } from '../src/customers/customer-profiles.service.js';
import { PrismaClient } from '../src/generated/prisma/client.js';
import { startOrderServiceApp, testTokenIssuer } from './order-service-app.js';

/**
 * Who may call what, property-based over every order-service route: any caller (nobody, a bad token, either of two
 * customers, an admin) against any target (either customer, their orders, ids that do not exist). The answer is
 * decided here from the README's rules; and never does a response carry another customer's data.
 */

const RUNS = 100;

type Customer = { id: string; email: string; token: string; orderId: string };
type Caller = 'nobody' | 'garbage' | 'alice' | 'bob' | 'admin';
type Whom = 'alice' | 'bob' | 'ghost';
type Route = 'customer' | 'list' | 'list-own' | 'get' | 'place' | 'place-for' | 'cancel';

let db: TestDatabase;
let vhost: TestVhost;
let app: INestApplication;
let http: ReturnType<typeof request>;
let alice: Customer;
let bob: Customer;
let adminToken: string;

async function customer(name: string): Promise<Customer> {
  const id = randomUUID();
  const email = `${name}.${id}@example.com`;
  const event = { userId: id, email, name, marketingOptIn: false, locale: 'en', occurredAt: new Date().toISOString() };
  await app.get(PrismaClient).$transaction((tx) => app.get(CustomerProfilesService).applyUserCreated(tx, event));
  const token = await (await testTokenIssuer()).token(id);
  const order = await http
    .post('/orders')
    .set('Authorization', `Bearer ${token}`)
    .send({ items: [{ sku: `${name}-1`, quantity: 1, unitPriceCents: 100 }] })
    .expect(201);
  return { id, email, token, orderId: order.body.id as string };
}

beforeAll(async () => {
  [db, vhost] = await Promise.all([createTestDatabase('orders_authz', SCHEMA_PATH), createTestVhost('orders_authz')]);
  app = await startOrderServiceApp(db.url, vhost.identityUrl('order-service'));
  http = request(app.getHttpServer());
  alice = await customer('alice');
  bob = await customer('bob');
  adminToken = await (await testTokenIssuer()).token(randomUUID(), ['admin']);
});

afterAll(async () => {
  await app?.close();
  await Promise.all([db?.drop(), vhost?.drop()]);
});

const customers = { alice: () => alice, bob: () => bob };

/** The answers allowed for `route` by `caller` on `whom`'s data, from the rules alone. */
function allowed(route: Route, caller: Caller, whom: Whom): number[] {
  if (caller === 'nobody' || caller === 'garbage') return [401];
  const admin = caller === 'admin';
  const self = (caller as Whom) === whom;
  switch (route) {
    case 'customer':
      return self || admin ? [whom === 'ghost' ? 404 : 200] : [403];
    case 'list':
      return self || admin ? [200] : [403];
    case 'list-own':
      return [200];
    case 'get':
      return (self || admin) && whom !== 'ghost' ? [200] : [404];
    case 'place':
      // The admin's own id is no customer order-service knows.
      return admin ? [422] : [201];
    case 'place-for':
      return self ? [201] : [403];
    case 'cancel':
      // Only the owner cancels (once: after that, 409); for anyone else the order does not exist.
      return self && whom !== 'ghost' ? [200, 409] : [404];
  }
}

function send(route: Route, whom: Whom): request.Test {
  const target = whom === 'ghost' ? undefined : customers[whom]();
  const userId = target?.id ?? randomUUID();
  const orderId = target?.orderId ?? randomUUID();
  const items = [{ sku: 'P-1', quantity: 1, unitPriceCents: 1 }];
  switch (route) {
    case 'customer':
      return http.get(`/customers/${userId}`);
    case 'list':
      return http.get('/orders').query({ userId });
    case 'list-own':
      return http.get('/orders');
    case 'get':
      return http.get(`/orders/${orderId}`);
    case 'place':
      return http.post('/orders').send({ items });
    case 'place-for':
      return http.post('/orders').send({ userId, items });
    case 'cancel':
      return http.post(`/orders/${orderId}/cancel`);
  }
}

describe('every order-service route, any caller, any target', () => {
  it('answers 401, 403 or 404 exactly where the rules say, and never shows another customer’s data', async () => {
    const route = fc.constantFrom<Route>('customer', 'list', 'list-own', 'get', 'place', 'place-for', 'cancel');
    const caller = fc.constantFrom<Caller>('nobody', 'garbage', 'alice', 'bob', 'admin');
    const whom = fc.constantFrom<Whom>('alice', 'bob', 'ghost');
    await fc.assert(
      fc.asyncProperty(route, caller, whom, async (r, who, target) => {
        let req = send(r, target);
        if (who === 'garbage') req = req.set('Authorization', 'Bearer eyJhbGciOiJIUzI1NiJ9.e30.c2ln');
        else if (who === 'admin') req = req.set('Authorization', `Bearer ${adminToken}`);
        else if (who !== 'nobody') req = req.set('Authorization', `Bearer ${customers[who]().token}`);
        const response = await req;

        const expected = allowed(r, who, target);
        expect({ r, who, target, status: response.status }).toEqual({
          r,
          who,
          target,
          status: expected.includes(response.status) ? response.status : expected.join(' or '),
        });
        expect(response.headers['content-type']).toMatch(/^application\/json/);
        if (response.status === 401) expect(response.headers['www-authenticate']).toMatch(/^Bearer/);
        if (who === 'admin' || who === 'nobody' || who === 'garbage') {
          if (who !== 'admin') expect(JSON.stringify(response.body)).not.toMatch(/alice|bob/);
          return;
        }
        // A customer sees only its own data: never the other's email, orders or user id.
        const other = who === 'alice' ? bob : alice;
        const text = JSON.stringify(response.body);
        expect(text).not.toContain(other.email);
        if (r !== 'get' && r !== 'cancel') expect(text).not.toContain(other.orderId);
        if (response.status < 300) expect(text).not.toContain(other.id);
      }),
      { numRuns: RUNS },
    );
  }, 120_000);
});
