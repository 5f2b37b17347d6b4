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
  nastyFragment,
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
} from '@switchyard/testing';
import fc from 'fast-check';
import { randomUUID } from 'node:crypto';
import { gzipSync } from 'node:zlib';
import request from 'supertest';
import { SCHEMA_PATH } from '../src/app.module.js';
import { tokenRequestBody } from '../src/auth/token.schemas.js';
import { createUserBody, updateUserBody } from '../src/users/user.schemas.js';
import { authorisedHttp, signUp, TEST_ADMIN_EMAIL, userIdInPath } from './authorised-http.js';
import { startUserServiceApp } from './user-service-app.js';

/**
 * Hostile HTTP input, property-based: random bodies, types, sizes, unicode, paths and query strings on every
 * endpoint. Whatever arrives: never a 5xx, every 4xx a JSON body naming the problem, the app keeps serving,
 * and valid input still succeeds. Seeds are random; fast-check prints the seed and path of a failure to replay it.
 */

/** Small enough that oversized bodies are cheap to send, large enough for every valid request. */
const BODY_LIMIT_BYTES = 16 * 1024;
/** Runs per property: enough to cover the generators' shapes, small enough for a loaded 2-core machine. */
const RUNS = 60;
/** Per test: a property makes dozens of requests, slow on a loaded machine; a hang still ends the run. */
const TEST_TIMEOUT_MS = 120_000;
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

let db: TestDatabase;
let vhost: TestVhost;
let app: INestApplication;
let http: ReturnType<typeof request>;
const tokens = new Map<string, string>();
let adminToken: string;

beforeAll(async () => {
  [db, vhost] = await Promise.all([createTestDatabase('users_hostile', SCHEMA_PATH), createTestVhost('users_hostile')]);
  app = await startUserServiceApp(db.url, vhost.identityUrl('user-service'), {
    BODY_LIMIT_BYTES: String(BODY_LIMIT_BYTES),
    ADMIN_EMAILS: TEST_ADMIN_EMAIL,
  });
  // Hostile input is sent with a valid token, so it reaches validation: a user's own on `/users/<its id>`, the
  // admin's elsewhere (tokens themselves are attacked in auth.e2e-spec.ts).
  http = authorisedHttp(app.getHttpServer(), (path) => tokens.get(userIdInPath(path) ?? '') ?? adminToken);
  ({ token: adminToken } = await signUp(http, { ...validUser(), email: TEST_ADMIN_EMAIL }));
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

let sequence = 0;
function validUser(): { email: string; name: string; password: string } {
  sequence += 1;
  return {
    email: `hostile${sequence}.${randomUUID()}@example.com`,
    name: `Hostile ${sequence}`,
    password: 'correct horse battery staple',
  };
}

async function createUser(): Promise<{ id: string; email: string }> {
  const { user, token } = await signUp<{ id: string; email: string }>(http, validUser());
  tokens.set(user.id, token);
  return user;
}

describe('POST /users with hostile input', () => {
  it(
    'answers any JSON value as a body with 201, 409 or a 400 naming the fields, never a 5xx',
    async () => {
      await fc.assert(
        fc.asyncProperty(hostileJsonValue(3), async (body) => {
          const sent: Sent = {
            method: 'POST',
            path: '/users',
            body: body === null ? 'null' : (body as object),
            contentType: 'application/json',
          };
          if (typeof body !== 'object' || body === null) sent.body = JSON.stringify(body);
          const answer = await send(sent);
          expectAcceptable(sent, answer);
          const valid = createUserBody.safeParse(asSent(body)).success;
          expect(overLimit(body) ? [413] : valid ? [201, 409] : [400]).toContain(answer.status);
        }),
        { numRuns: RUNS },
      );
    },
    TEST_TIMEOUT_MS,
  );

  it(
    'names exactly the broken or unknown fields of an otherwise valid body',
    async () => {
      await fc.assert(
        fc.asyncProperty(
          fc.constant(null).chain(() => mutatedBody(validUser())),
          async (body) => {
            const sent: Sent = { method: 'POST', path: '/users', body };
            const answer = await send(sent);
            expectAcceptable(sent, answer);
            const parsed = createUserBody.safeParse(asSent(body));
            if (overLimit(body)) {
              expect(answer.status).toBe(413);
            } else if (parsed.success) {
              expect([201, 409]).toContain(answer.status);
              if (answer.status === 201)
                expect(answer.body).toMatchObject({ email: parsed.data.email, name: parsed.data.name });
            } else {
              expect(answer.status).toBe(400);
              expectFieldsAmong(answer, [...fieldsOf(body), 'email', 'name', 'password']);
            }
            expect(JSON.stringify(answer.body)).not.toContain('"password":');
          },
        ),
        { numRuns: RUNS },
      );
    },
    TEST_TIMEOUT_MS,
  );

  it(
    'creates users with any valid unicode name and reads back exactly what it stored',
    async () => {
      const name = fc
        .oneof(
          fc.string({ unit: 'grapheme', minLength: 1, maxLength: 30 }),
          fc.array(nastyFragment(), { minLength: 1, maxLength: 4 }).map((parts) => `n${parts.join('')}`),
        )
        .filter((candidate) => createUserBody.shape.name.safeParse(candidate).success);
      const password = fc
        .string({ unit: 'grapheme', minLength: 8, maxLength: 30 })
        .filter((candidate) => createUserBody.shape.password.safeParse(candidate).success);
      await fc.assert(
        fc.asyncProperty(
          name,
          password,
          fc.boolean(),
          fc.constantFrom('en', 'en-GB', 'zh-Hant-TW', 'ar'),
          async (userName, userPassword, marketingOptIn, locale) => {
            const body = { ...validUser(), name: userName, password: userPassword, marketingOptIn, locale };
            const created = await http.post('/users').send(body).expect(201);
            const expected = createUserBody.parse(body);
            expect(created.body).toMatchObject({ name: expected.name, marketingOptIn, locale });
            const read = await http.get(`/users/${created.body.id as string}`).expect(200);
            expect(read.body).toEqual(created.body);
          },
        ),
        { numRuns: 25 },
      );
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
        'application/xml',
        'application/json; charset=utf-16',
        'application/json; charset=latin1',
        'application/json; charset=nonsense',
        'application/merge-patch+json',
        'application/json',
        '*/*',
        ';;;',
      );
      const encoding = fc.constantFrom(undefined, undefined, 'gzip', 'deflate', 'br', 'identity', 'x-unknown');
      const payload = fc.oneof(
        fc.uint8Array({ maxLength: 2_000 }).map((bytes) => Buffer.from(bytes)),
        hostileString({ maxLength: 200 }).map((text) => Buffer.from(text, 'utf8')),
        fc.constant(Buffer.from(JSON.stringify(validUser()))),
      );
      await fc.assert(
        fc.asyncProperty(
          fc.constantFrom<Method>('POST', 'PATCH'),
          contentType,
          encoding,
          payload,
          async (method, type, contentEncoding, body) => {
            const path = method === 'POST' ? '/users' : `/users/${randomUUID()}`;
            const sent: Sent = { method, path, contentType: type ?? '', contentEncoding, body };
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
          fc.constantFrom<Method>('POST', 'PATCH'),
          async (size, how, method) => {
            const json = JSON.stringify({ ...validUser(), name: 'x'.repeat(size) });
            const path = method === 'POST' ? '/users' : `/users/${randomUUID()}`;
            // A gzip bomb: small on the wire, over the limit once inflated.
            const sent: Sent =
              how === 'gzip'
                ? { method, path, contentType: 'application/json', contentEncoding: 'gzip', body: gzipSync(json) }
                : { method, path, contentType: 'application/json', body: json };
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
          fc.constantFrom('whole', 'name', 'unknown'),
          async (depth, kind, where) => {
            const nested = deeplyNestedJson(depth, kind);
            const user = validUser();
            const json =
              where === 'whole'
                ? nested
                : where === 'name'
                  ? `{"email":"${user.email}","password":"${user.password}","name":${nested}}`
                  : `{"email":"${user.email}","password":"${user.password}","name":"n","deep":${nested}}`;
            const sent: Sent = { method: 'POST', path: '/users', contentType: 'application/json', body: json };
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
    'answers any path segment with 400 naming `id`, or for a UUID not the caller’s 404 to read and 403 to change',
    async () => {
      await fc.assert(
        fc.asyncProperty(
          hostilePathSegment(),
          fc.constantFrom<Method>('GET', 'PATCH', 'DELETE'),
          async (segment, method) => {
            const sent: Sent = {
              method,
              path: `/users/${segment}`,
              ...(method === 'PATCH' ? { body: { name: 'Renamed' } } : {}),
            };
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
              // The caller is the admin: it may read any user (this one does not exist), but change only itself.
              expect(answer.status).toBe(method === 'GET' ? 404 : 403);
            } else {
              expect(answer.status).toBe(400);
              expect(problemFields(answer)).toEqual(['id']);
            }
          },
        ),
        { numRuns: RUNS },
      );
    },
    TEST_TIMEOUT_MS,
  );

  it(
    'answers hostile PATCH bodies for a real user with 200, 409 or a 400 naming the fields',
    async () => {
      const user = await createUser();
      await fc.assert(
        fc.asyncProperty(
          fc.oneof(hostileJsonValue(2), mutatedBody({ email: `x.${randomUUID()}@example.com`, name: 'Patched' })),
          async (body) => {
            const sent: Sent = {
              method: 'PATCH',
              path: `/users/${user.id}`,
              contentType: 'application/json',
              body: typeof body === 'object' && body !== null ? body : JSON.stringify(body),
            };
            const answer = await send(sent);
            expectAcceptable(sent, answer);
            const parsed = updateUserBody.safeParse(asSent(body));
            if (overLimit(body)) {
              expect(answer.status).toBe(413);
            } else if (parsed.success) {
              expect([200, 409]).toContain(answer.status);
              if (answer.status === 200 && parsed.data.name !== undefined)
                expect((answer.body as { name: string }).name).toBe(parsed.data.name);
            } else {
              expect(answer.status).toBe(400);
              expectFieldsAmong(answer, [...fieldsOf(body), 'email', 'name']);
            }
          },
        ),
        { numRuns: RUNS },
      );
      await http.get(`/users/${user.id}`).expect(200);
    },
    TEST_TIMEOUT_MS,
  );
});

describe('GET /users with hostile query strings', () => {
  it(
    'answers any limit and cursor with a page or a 400 naming the parameter',
    async () => {
      for (let i = 0; i < 3; i += 1) await createUser();
      const value = fc.oneof(
        hostileString({ maxLength: 40, longRuns: false }),
        fc.integer({ min: -1_000, max: 1_000 }).map(String),
        fc.constantFrom('0', '1', '100', '101', '1e2', '1.5', '-0', '0x10', ' 5', '', 'Infinity', '9'.repeat(400)),
        fc.uuid().map((id) => Buffer.from(id).toString('base64url')),
        fc.uint8Array({ maxLength: 48 }).map((bytes) => Buffer.from(bytes).toString('base64url')),
      );
      const query = fc.array(
        fc.tuple(
          fc.oneof(fc.constantFrom('limit', 'cursor'), hostileString({ maxLength: 10, longRuns: false })),
          value,
        ),
        { maxLength: 4 },
      );
      await fc.assert(
        fc.asyncProperty(query, async (pairs) => {
          const search = pairs.map(([key, val]) => `${percentEncodeAll(key)}=${percentEncodeAll(val)}`).join('&');
          const sent: Sent = { method: 'GET', path: `/users?${search}` };
          const answer = await send(sent);
          expectAcceptable(sent, answer);
          expect([200, 400]).toContain(answer.status);
          if (answer.status === 400) {
            const keys = pairs.map(([key]) => Buffer.from(key, 'utf8').toString('utf8'));
            expectFieldsAmong(answer, ['query', 'limit', 'cursor', ...keys]);
          } else {
            const page = answer.body as { items: unknown[]; nextCursor: string | null };
            expect(Array.isArray(page.items)).toBe(true);
          }
        }),
        { numRuns: RUNS },
      );
    },
    TEST_TIMEOUT_MS,
  );

  it(
    'answers a raw, malformed query string without a 5xx',
    async () => {
      await fc.assert(
        fc.asyncProperty(
          fc.string({
            unit: fc.constantFrom('%', '&', '=', '[', ']', 'a', '1', '+', ';', 'limit', 'cursor', '%ff', '%zz', '%00'),
            maxLength: 30,
          }),
          async (raw) => {
            const sent: Sent = { method: 'GET', path: `/users?${raw}` };
            const answer = await send(sent);
            expectAcceptable(sent, answer);
            expect([200, 400]).toContain(answer.status);
          },
        ),
        { numRuns: RUNS },
      );
    },
    TEST_TIMEOUT_MS,
  );
});

describe('POST /auth/token and the Authorization header with hostile input', () => {
  it(
    'answers any JSON body on POST /auth/token with 401 or a 400 naming the fields, never a 5xx or a token',
    async () => {
      await fc.assert(
        fc.asyncProperty(
          fc.oneof(hostileJsonValue(3), mutatedBody({ email: validUser().email, password: 'correct horse battery' })),
          async (body) => {
            const sent: Sent = {
              method: 'POST',
              path: '/auth/token',
              contentType: 'application/json',
              body: typeof body === 'object' && body !== null ? body : JSON.stringify(body),
            };
            const answer = await send(sent);
            expectAcceptable(sent, answer);
            const valid = tokenRequestBody.safeParse(asSent(body)).success;
            // No generated email is registered: a well-formed body is a failed login.
            expect(answer.status).toBe(overLimit(body) ? 413 : valid ? 401 : 400);
            if (answer.status === 400) expectFieldsAmong(answer, [...fieldsOf(body), 'email', 'password']);
            expect(JSON.stringify(answer.body)).not.toContain('access_token');
          },
        ),
        { numRuns: RUNS },
      );
    },
    TEST_TIMEOUT_MS,
  );

  it(
    'answers any Authorization header with 401, a Bearer challenge and a JSON body, never a 5xx',
    async () => {
      const user = await createUser();
      const printable = fc.string({ unit: fc.integer({ min: 0x20, max: 0x7e }).map((c) => String.fromCharCode(c)) });
      const segment = fc.string({
        unit: fc.constantFrom(...'ABCxyz019-_'.split('')),
        maxLength: 40,
      });
      const header = fc.oneof(
        printable,
        printable.map((text) => `Bearer ${text}`),
        fc.array(segment, { minLength: 1, maxLength: 5 }).map((parts) => `Bearer ${parts.join('.')}`),
        fc.constantFrom('Bearer', 'bearer ', 'Basic dXNlcjpwYXNz', 'Bearer eyJhbGciOiJub25lIn0.e30.'),
      );
      const raw = request(app.getHttpServer());
      await fc.assert(
        fc.asyncProperty(header, fc.constantFrom<Method>('GET', 'PATCH', 'DELETE'), async (value, method) => {
          const path = `/users/${user.id}`;
          let req = raw[method.toLowerCase() as 'get'](path);
          if (value.trim() !== '') req = req.set('Authorization', value);
          const answer = await req;
          expectAcceptable({ method, path }, answer);
          expect(answer.status).toBe(401);
          expect(answer.headers['www-authenticate']).toMatch(/^Bearer( error="invalid_token")?$/);
        }),
        { numRuns: RUNS },
      );
      await http.get(`/users/${user.id}`).expect(200);
    },
    TEST_TIMEOUT_MS,
  );
});

describe('every other route', () => {
  const routes = [
    '/users',
    '/auth/token',
    '/.well-known/jwks.json',
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
            hostilePathSegment().map((segment) => `/health/${segment}`),
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
            if (answer.status === 404 && method !== 'HEAD' && !path.startsWith('/users')) {
              expect((answer.body as { message: string }).message).toMatch(/^Cannot [A-Z]+ \//);
            }
          },
        ),
        { numRuns: RUNS },
      );
    },
    TEST_TIMEOUT_MS,
  );
});

describe('requests Node rejects before the app sees them', () => {
  /** Sends raw bytes on a fresh connection to the app's listener and returns what came back. */
  async function sendRaw(bytes: string): Promise<{ status: number; contentType: string | undefined; body: unknown }> {
    const server = app.getHttpServer() as import('node:http').Server;
    if (!server.listening) await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const { port } = server.address() as import('node:net').AddressInfo;
    const socket = (await import('node:net')).connect(port, '127.0.0.1');
    const chunks: Buffer[] = [];
    socket.on('data', (chunk: Buffer) => chunks.push(chunk));
    socket.end(bytes);
    await new Promise((resolve, reject) => socket.on('close', resolve).on('error', reject));
    const [head = '', body = ''] = Buffer.concat(chunks).toString('utf8').split('\r\n\r\n');
    return {
      status: Number(/^HTTP\/1\.1 (\d{3})/.exec(head)?.[1]),
      contentType: /\r\ncontent-type: ([^\r\n]+)/i.exec(head)?.[1],
      body: JSON.parse(body) as unknown,
    };
  }

  it('answers oversized headers with a JSON 431 naming the headers', async () => {
    const answer = await sendRaw(`GET /users HTTP/1.1\r\nHost: x\r\nX-Padding: ${'a'.repeat(20_000)}\r\n\r\n`);
    expect(answer).toEqual({
      status: 431,
      contentType: 'application/json; charset=utf-8',
      body: expect.objectContaining({ statusCode: 431, details: [{ field: 'headers', message: 'are too large' }] }),
    });
  });

  it('answers a malformed request line with a JSON 400 naming the request', async () => {
    const answer = await sendRaw('NOT HTTP AT ALL\r\n\r\n');
    expect(answer).toEqual({
      status: 400,
      contentType: 'application/json; charset=utf-8',
      body: expect.objectContaining({ statusCode: 400, details: [expect.objectContaining({ field: 'request' })] }),
    });
  });
});
