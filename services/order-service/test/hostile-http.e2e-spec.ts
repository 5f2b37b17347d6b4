import 'reflect-metadata';
import { afterAll, afterEach, beforeAll, describe, expect, it } from '@jest/globals';
import type { INestApplication } from '@nestjs/common';
import {
  createTestDatabase,
  createTestVhost,
  deeplyNestedJson,
  hostileJsonValue,
  hostilePathSegment,
  hostileString,
  mutatedBody,
  percentEncodeAll,
  problemFields,
  asSent,
  expectAcceptable,
  expectFieldsAmong,
  fieldsOf,
  type HostileRequest,
  type HttpMethod,
  isOverLimit,
  sendHostile,
  type TestDatabase,
  type TestVhost,
  withToken,
} from '@switchyard/testing';
import fc from 'fast-check';
import { randomUUID } from 'node:crypto';
import { gzipSync } from 'node:zlib';
import request from 'supertest';
import { SCHEMA_PATH } from '../src/app.module.js';
import { CustomerProfilesService } from '../src/customers/customer-profiles.service.js';
import { PrismaClient } from '../src/generated/prisma/client.js';
import { MAX_ITEMS, MAX_QUANTITY, MAX_UNIT_PRICE_CENTS, placeOrderBody } from '../src/orders/order.schemas.js';
import { startOrderServiceApp, testTokenIssuer } from './order-service-app.js';

/**
 * Hostile HTTP input, property-based: random bodies, types, sizes, unicode, paths and query strings on every
 * endpoint. Whatever arrives: never a 5xx, every 4xx a JSON body naming the problem, the app keeps serving,
 * and valid input still succeeds. Seeds are random; fast-check prints the seed and path of a failure to replay it.
 */

/** Small enough that oversized bodies are cheap to send, large enough for a 100-item order. */
const BODY_LIMIT_BYTES = 16 * 1024;
/** Runs per property: enough to cover the generators' shapes, small enough for a loaded 2-core machine. */
const RUNS = 60;
/** Per test: a property makes dozens of requests, slow on a loaded machine; a hang still ends the run. */
const TEST_TIMEOUT_MS = 120_000;
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

let db: TestDatabase;
let vhost: TestVhost;
let app: INestApplication;
/** Acts as `customer` (hostile input is sent with a valid token, so it reaches validation). */
let http: ReturnType<typeof request>;
/** Acts as an admin, who may list anyone's orders. */
let admin: ReturnType<typeof request>;
let customer: string;
let deletedCustomer: string;

/** Profiles come from user events; these tests apply them through the same service methods the handlers call. */
async function knownCustomer(): Promise<string> {
  const userId = randomUUID();
  const event = {
    userId,
    email: `${userId}@example.com`,
    name: 'Customer',
    marketingOptIn: false,
    locale: 'en',
    occurredAt: new Date(Date.now() - 60_000).toISOString(),
  };
  await app.get(PrismaClient).$transaction((tx) => app.get(CustomerProfilesService).applyUserCreated(tx, event));
  return userId;
}

beforeAll(async () => {
  [db, vhost] = await Promise.all([
    createTestDatabase('orders_hostile', SCHEMA_PATH),
    createTestVhost('orders_hostile'),
  ]);
  app = await startOrderServiceApp(db.url, vhost.identityUrl('order-service'), {
    BODY_LIMIT_BYTES: String(BODY_LIMIT_BYTES),
  });
  customer = await knownCustomer();
  deletedCustomer = await knownCustomer();
  const issuer = await testTokenIssuer();
  http = withToken(request(app.getHttpServer()), await issuer.token(customer));
  admin = withToken(request(app.getHttpServer()), await issuer.token(randomUUID(), ['admin']));
  await app
    .get(PrismaClient)
    .$transaction((tx) =>
      app
        .get(CustomerProfilesService)
        .applyUserDeleted(tx, { userId: deletedCustomer, occurredAt: new Date().toISOString() }, randomUUID()),
    );
}, 60_000);

afterAll(async () => {
  await app?.close();
  await Promise.all([db?.drop(), vhost?.drop()]);
});

// After every property the service must still answer as if nothing had happened.
afterEach(async () => {
  await http.get('/health/live').expect(200);
  await http.get('/health/ready').expect(200);
});

type Method = HttpMethod;
type Sent = HostileRequest;
const send = (sent: Sent): Promise<request.Response> => sendHostile(http, sent);
const overLimit = (body: unknown): boolean => isOverLimit(body, BODY_LIMIT_BYTES);

const validItem = fc.record({
  sku: fc
    .string({ unit: 'grapheme', minLength: 1, maxLength: 20 })
    .filter((sku) => placeOrderBody.shape.items.element.shape.sku.safeParse(sku).success),
  quantity: fc.integer({ min: 1, max: MAX_QUANTITY }),
  unitPriceCents: fc.integer({ min: 0, max: MAX_UNIT_PRICE_CENTS }),
});

type Expected = 201 | 400 | 403 | 413 | 422;

/** What POST /orders must answer for a body sent by `actor`, decided independently of the service. */
function expectedForOrder(body: unknown, actor: string): Expected {
  if (overLimit(body)) return 413;
  const parsed = placeOrderBody.safeParse(asSent(body));
  if (!parsed.success) return 400;
  if (parsed.data.userId !== undefined && parsed.data.userId !== actor) return 403;
  return actor === customer ? 201 : 422;
}

/** Sends `sent` as `actor` (the customer unless given) and checks the answer against `expectedForOrder`. */
async function checkOrderAnswer(sent: Sent, body: unknown, actor = customer): Promise<void> {
  const agent =
    actor === customer ? http : withToken(request(app.getHttpServer()), await (await testTokenIssuer()).token(actor));
  const answer = await sendHostile(agent, sent);
  expectAcceptable(sent, answer);
  const expected = expectedForOrder(body, actor);
  expect(answer.status).toBe(expected);
  if (expected === 400) expectFieldsAmong(answer, [...fieldsOf(body), 'userId', 'items']);
  if (expected === 422) expect(problemFields(answer)).toEqual(['userId']);
  if (expected === 201) {
    const placed = placeOrderBody.parse(asSent(body));
    const total = placed.items.reduce((sum, item) => sum + item.quantity * item.unitPriceCents, 0);
    expect(answer.body).toMatchObject({ userId: customer, status: 'PLACED', totalCents: total, items: placed.items });
  }
}

describe('POST /orders with hostile input', () => {
  it(
    'answers any JSON value as a body with 201, 422 or a 400 naming the fields, never a 5xx',
    async () => {
      await fc.assert(
        fc.asyncProperty(hostileJsonValue(3), async (body) => {
          const sent: Sent = {
            method: 'POST',
            path: '/orders',
            contentType: 'application/json',
            body: JSON.stringify(body),
          };
          await checkOrderAnswer(sent, body);
        }),
        { numRuns: RUNS },
      );
    },
    TEST_TIMEOUT_MS,
  );

  it(
    'names exactly the broken fields of an otherwise valid order, down to the item field',
    async () => {
      const item = { sku: 'SKU-1', quantity: 2, unitPriceCents: 150 };
      const body = fc.oneof(
        mutatedBody({ userId: customer, items: [item] }),
        fc.array(mutatedBody(item), { minLength: 1, maxLength: 4 }).map((items) => ({ userId: customer, items })),
        fc
          .constantFrom(deletedCustomer, randomUUID())
          .chain((userId) => fc.array(validItem, { minLength: 1, maxLength: 3 }).map((items) => ({ userId, items }))),
      );
      // Mostly sent as the customer; now and then as the deleted or an unknown user (422), or naming another (403).
      const actor = fc.constantFrom(customer, customer, customer, deletedCustomer, randomUUID());
      await fc.assert(
        fc.asyncProperty(body, actor, async (order, sender) => {
          await checkOrderAnswer({ method: 'POST', path: '/orders', body: order }, order, sender);
        }),
        { numRuns: RUNS },
      );
    },
    TEST_TIMEOUT_MS,
  );

  it(
    'places any valid order with an exact integer total, reads it back, and cancels it exactly once',
    async () => {
      await fc.assert(
        fc.asyncProperty(fc.array(validItem, { minLength: 1, maxLength: 8 }), async (items) => {
          const placed = await http.post('/orders').send({ userId: customer, items }).expect(201);
          const order = placed.body as { id: string; totalCents: number };
          expect(order.totalCents).toBe(items.reduce((sum, i) => sum + i.quantity * i.unitPriceCents, 0));
          expect((await http.get(`/orders/${order.id}`).expect(200)).body).toEqual(placed.body);
          await http.post(`/orders/${order.id}/cancel`).expect(200);
          const again = await http.post(`/orders/${order.id}/cancel`);
          expect(again.status).toBe(409);
          expectAcceptable({ method: 'POST', path: `/orders/${order.id}/cancel` }, again);
        }),
        { numRuns: 20 },
      );
    },
    TEST_TIMEOUT_MS,
  );

  it(
    'takes the largest order the bounds allow, and refuses one item more',
    async () => {
      const max = Array.from({ length: MAX_ITEMS }, (_, i) => ({
        sku: `S${i}`,
        quantity: MAX_QUANTITY,
        unitPriceCents: MAX_UNIT_PRICE_CENTS,
      }));
      const placed = await http.post('/orders').send({ userId: customer, items: max }).expect(201);
      expect(placed.body.totalCents).toBe(MAX_ITEMS * MAX_QUANTITY * MAX_UNIT_PRICE_CENTS);
      const tooMany = await http.post('/orders').send({ userId: customer, items: [...max, max[0]] });
      expect(tooMany.status).toBe(400);
      expect(problemFields(tooMany)).toEqual(['items']);
    },
    TEST_TIMEOUT_MS,
  );

  it(
    'answers bodies of any content type and encoding with a JSON 4xx, never a 5xx',
    async () => {
      const contentType = fc.constantFrom(
        undefined,
        'text/plain',
        'application/x-www-form-urlencoded',
        'multipart/form-data; boundary=xyz',
        'application/json; charset=utf-16',
        'application/json; charset=nonsense',
        'application/json',
        ';;;',
      );
      const encoding = fc.constantFrom(undefined, undefined, 'gzip', 'deflate', 'br', 'x-unknown');
      const payload = fc.oneof(
        fc.uint8Array({ maxLength: 2_000 }).map((bytes) => Buffer.from(bytes)),
        hostileString({ maxLength: 200 }).map((text) => Buffer.from(text, 'utf8')),
        fc.constant(
          Buffer.from(JSON.stringify({ userId: randomUUID(), items: [{ sku: 'A', quantity: 1, unitPriceCents: 1 }] })),
        ),
      );
      await fc.assert(
        fc.asyncProperty(
          fc.constantFrom('/orders', `/orders/${randomUUID()}/cancel`),
          contentType,
          encoding,
          payload,
          async (path, type, contentEncoding, body) => {
            const sent: Sent = { method: 'POST', path, contentType: type ?? '', contentEncoding, body };
            const answer = await send(sent);
            expectAcceptable(sent, answer);
          },
        ),
        { numRuns: RUNS },
      );
    },
    TEST_TIMEOUT_MS,
  );

  it(
    'refuses a body above the limit with 413 naming the limit, however it is sent',
    async () => {
      await fc.assert(
        fc.asyncProperty(
          fc.integer({ min: BODY_LIMIT_BYTES + 1, max: BODY_LIMIT_BYTES * 8 }),
          fc.constantFrom('plain', 'gzip'),
          async (size, how) => {
            const json = JSON.stringify({
              userId: customer,
              items: [{ sku: 'x'.repeat(size), quantity: 1, unitPriceCents: 1 }],
            });
            // A gzip bomb: small on the wire, over the limit once inflated.
            const sent: Sent = {
              method: 'POST',
              path: '/orders',
              contentType: 'application/json',
              ...(how === 'gzip' ? { contentEncoding: 'gzip', body: gzipSync(json) } : { body: json }),
            };
            const answer = await send(sent);
            expectAcceptable(sent, answer);
            expect(answer.status).toBe(413);
            expect((answer.body as { message: string }).message).toContain(String(BODY_LIMIT_BYTES));
          },
        ),
        { numRuns: 12 },
      );
    },
    TEST_TIMEOUT_MS,
  );

  it(
    'survives deeply nested JSON under the limit',
    async () => {
      await fc.assert(
        fc.asyncProperty(
          fc.integer({ min: 1, max: Math.floor((BODY_LIMIT_BYTES - 200) / 6) }),
          fc.constantFrom<'array' | 'object'>('array', 'object'),
          fc.constantFrom('whole', 'items', 'sku'),
          async (depth, kind, where) => {
            const nested = deeplyNestedJson(depth, kind);
            const json =
              where === 'whole'
                ? nested
                : where === 'items'
                  ? `{"userId":"${customer}","items":${nested}}`
                  : `{"userId":"${customer}","items":[{"sku":${nested},"quantity":1,"unitPriceCents":1}]}`;
            const sent: Sent = { method: 'POST', path: '/orders', contentType: 'application/json', body: json };
            const answer = await send(sent);
            expectAcceptable(sent, answer);
            expect(answer.status).toBe(400);
          },
        ),
        { numRuns: 20 },
      );
    },
    TEST_TIMEOUT_MS,
  );
});

describe('routes with an id, given hostile ids', () => {
  it(
    'answers any path segment with 400 naming the parameter (or the path), or 404',
    async () => {
      const route = fc.constantFrom(
        { method: 'GET' as const, path: (id: string) => `/orders/${id}`, param: 'id' },
        { method: 'POST' as const, path: (id: string) => `/orders/${id}/cancel`, param: 'id' },
        { method: 'GET' as const, path: (id: string) => `/customers/${id}`, param: 'userId' },
      );
      await fc.assert(
        fc.asyncProperty(hostilePathSegment(), route, async (segment, { method, path, param }) => {
          const sent: Sent = { method, path: path(segment) };
          const answer = await send(sent);
          expectAcceptable(sent, answer);
          let decoded: string | undefined;
          try {
            decoded = decodeURIComponent(segment);
          } catch {
            decoded = undefined;
          }
          if (decoded === undefined) {
            expect(answer.status).toBe(400);
            expect(problemFields(answer)).toEqual(['path']);
          } else if (UUID.test(decoded)) {
            // Not the customer's order (404, like a missing one), not the customer's profile (403).
            expect(answer.status).toBe(param === 'userId' ? 403 : 404);
          } else {
            expect(answer.status).toBe(400);
            expect(problemFields(answer)).toEqual([param]);
          }
        }),
        { numRuns: RUNS },
      );
    },
    TEST_TIMEOUT_MS,
  );
});

describe('GET /orders with hostile query strings', () => {
  it(
    'answers any userId, limit and cursor with a page or a 400 naming the parameter',
    async () => {
      for (let i = 0; i < 3; i += 1)
        await http
          .post('/orders')
          .send({ userId: customer, items: [{ sku: `Q${i}`, quantity: 1, unitPriceCents: 1 }] })
          .expect(201);
      const value = fc.oneof(
        hostileString({ maxLength: 40, longRuns: false }),
        fc.constantFrom('0', '1', '100', '101', '1e2', '1.5', '-0', '0x10', ' 5', '', 'Infinity', '9'.repeat(400)),
        fc.constantFrom(customer, deletedCustomer),
        fc.uuid().map((id) => Buffer.from(id).toString('base64url')),
        fc.uint8Array({ maxLength: 48 }).map((bytes) => Buffer.from(bytes).toString('base64url')),
      );
      const query = fc.array(
        fc.tuple(
          fc.oneof(fc.constantFrom('userId', 'limit', 'cursor'), hostileString({ maxLength: 10, longRuns: false })),
          value,
        ),
        { maxLength: 4 },
      );
      await fc.assert(
        fc.asyncProperty(query, async (pairs) => {
          const search = pairs.map(([key, val]) => `${percentEncodeAll(key)}=${percentEncodeAll(val)}`).join('&');
          const sent: Sent = { method: 'GET', path: `/orders?${search}` };
          // As an admin, so any userId is allowed and the query itself is what is under test.
          const answer = await sendHostile(admin, sent);
          expectAcceptable(sent, answer);
          expect([200, 400]).toContain(answer.status);
          if (answer.status === 400) {
            const keys = pairs.map(([key]) => Buffer.from(key, 'utf8').toString('utf8'));
            expectFieldsAmong(answer, ['query', 'userId', 'limit', 'cursor', ...keys]);
          } else {
            expect(Array.isArray((answer.body as { items: unknown[] }).items)).toBe(true);
          }
        }),
        { numRuns: RUNS },
      );
    },
    TEST_TIMEOUT_MS,
  );

  it(
    'pages through a customer’s orders with the cursors it hands out, and only those',
    async () => {
      const seen: string[] = [];
      let cursor: string | null = null;
      do {
        const page: request.Response = await http
          .get('/orders')
          .query({ userId: customer, limit: 7, ...(cursor ? { cursor } : {}) })
          .expect(200);
        const body = page.body as { items: Array<{ id: string }>; nextCursor: string | null };
        seen.push(...body.items.map((item) => item.id));
        cursor = body.nextCursor;
      } while (cursor);
      expect(new Set(seen).size).toBe(seen.length);
      expect(seen).toEqual([...seen].sort());
    },
    TEST_TIMEOUT_MS,
  );
});

describe('the Authorization header with hostile input', () => {
  it(
    'answers any Authorization header with 401, a Bearer challenge and a JSON body on every route, never a 5xx',
    async () => {
      const printable = fc.string({ unit: fc.integer({ min: 0x20, max: 0x7e }).map((c) => String.fromCharCode(c)) });
      const segment = fc.string({ unit: fc.constantFrom(...'ABCxyz019-_'.split('')), maxLength: 40 });
      const header = fc.oneof(
        printable,
        printable.map((text) => `Bearer ${text}`),
        fc.array(segment, { minLength: 1, maxLength: 5 }).map((parts) => `Bearer ${parts.join('.')}`),
        fc.constantFrom('Bearer', 'bearer ', 'Basic dXNlcjpwYXNz', 'Bearer eyJhbGciOiJub25lIn0.e30.'),
      );
      const route = fc.constantFrom(
        ['GET', '/orders'] as const,
        ['POST', '/orders'] as const,
        ['GET', `/orders/${randomUUID()}`] as const,
        ['POST', `/orders/${randomUUID()}/cancel`] as const,
        ['GET', `/customers/${customer}`] as const,
      );
      const raw = request(app.getHttpServer());
      await fc.assert(
        fc.asyncProperty(header, route, async (value, [method, path]) => {
          let req = raw[method === 'GET' ? 'get' : 'post'](path);
          if (value.trim() !== '') req = req.set('Authorization', value);
          const answer = await req;
          expectAcceptable({ method, path }, answer);
          expect(answer.status).toBe(401);
          expect(answer.headers['www-authenticate']).toMatch(/^Bearer( error="invalid_token")?$/);
        }),
        { numRuns: RUNS },
      );
    },
    TEST_TIMEOUT_MS,
  );
});

describe('every other route', () => {
  const routes = [
    '/orders',
    '/customers',
    '/health/live',
    '/health/ready',
    '/health/startup',
    '/docs',
    '/docs/openapi.json',
    '/docs/openapi.yaml',
    '/metrics',
  ];

  it(
    'answers any method, query and body on the known routes without a 5xx, and unknown routes with a JSON 404 naming the route',
    async () => {
      await fc.assert(
        fc.asyncProperty(
          fc.oneof(
            fc.constantFrom(...routes),
            hostilePathSegment().map((segment) => `/${segment}`),
            hostilePathSegment().map((segment) => `/orders/${randomUUID()}/${segment}`),
          ),
          fc.constantFrom<Method>('GET', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS', 'HEAD'),
          fc.option(hostileString({ maxLength: 30, longRuns: false }).map(percentEncodeAll), { nil: undefined }),
          fc.option(hostileJsonValue(2), { nil: undefined }),
          async (path, method, query, body) => {
            const sent: Sent = { method, path: query === undefined ? path : `${path}?q=${query}` };
            if (body !== undefined && method !== 'GET' && method !== 'HEAD')
              Object.assign(sent, { contentType: 'application/json', body: JSON.stringify(body) });
            const answer = await send(sent);
            expectAcceptable(sent, answer);
          },
        ),
        { numRuns: RUNS },
      );
    },
    TEST_TIMEOUT_MS,
  );
});
