import 'reflect-metadata';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type { INestApplication } from '@nestjs/common';
import { createTestDatabase, createTestVhost, type TestDatabase, type TestVhost } from '@switchyard/testing';
import pg from 'pg';
import request from 'supertest';
import { SCHEMA_PATH } from '../src/app.module.js';
import { authorisedHttp, signUp, TEST_ADMIN_EMAIL, userIdInPath } from './authorised-http.js';
import { startUserServiceApp } from './user-service-app.js';

let db: TestDatabase;
let vhost: TestVhost;
let app: INestApplication;
let http: ReturnType<typeof request>;
/** Each user's own token: requests on `/users/<id>` act as that user, every other request as the admin. */
const tokens = new Map<string, string>();
let adminToken: string;

beforeAll(async () => {
  [db, vhost] = await Promise.all([createTestDatabase('users', SCHEMA_PATH), createTestVhost('users')]);
  app = await startUserServiceApp(db.url, vhost.identityUrl('user-service'), { ADMIN_EMAILS: TEST_ADMIN_EMAIL });
  http = authorisedHttp(app.getHttpServer(), (path) => tokens.get(userIdInPath(path) ?? '') ?? adminToken);
  ({ token: adminToken } = await signUp(http, newUser({ email: TEST_ADMIN_EMAIL })));
});

afterAll(async () => {
  await app?.close();
  await db?.drop();
  await vhost?.drop();
});

let sequence = 0;
function newUser(overrides: Record<string, unknown> = {}) {
  sequence += 1;
  return {
    email: `ada${sequence}.${Date.now()}@example.com`,
    name: `Ada ${sequence}`,
    password: 'correct horse battery staple',
    ...overrides,
  };
}

type CreatedUser = { id: string; email: string; name: string; createdAt: string; updatedAt: string };

/** Signs a user up and keeps its token, so later requests on its id act as it. */
async function createUser(overrides: Record<string, unknown> = {}) {
  const { user, token } = await signUp<CreatedUser>(http, newUser(overrides));
  tokens.set(user.id, token);
  return user;
}

async function storedPasswordHash(id: string): Promise<string> {
  const client = new pg.Client({ connectionString: db.url });
  await client.connect();
  try {
    const result = await client.query<{ password_hash: string }>('SELECT password_hash FROM users WHERE id = $1', [id]);
    return result.rows[0]!.password_hash;
  } finally {
    await client.end();
  }
}

describe('POST /users', () => {
  it('creates a user and answers with exactly its public fields', async () => {
    const body = newUser({ email: '  Grace.Hopper@Example.COM ' });
    const response = await http.post('/users').send(body).expect(201);
    expect(Object.keys(response.body).sort()).toEqual([
      'createdAt',
      'email',
      'id',
      'lifetimeValueCents',
      'locale',
      'marketingOptIn',
      'name',
      'orderCount',
      'updatedAt',
    ]);
    expect(response.body).toMatchObject({
      email: 'grace.hopper@example.com',
      name: body.name,
      marketingOptIn: false,
      locale: 'en',
      orderCount: 0,
      lifetimeValueCents: 0,
    });
    expect(response.body.id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-/);
    expect(new Date(response.body.createdAt).toISOString()).toBe(response.body.createdAt);
  });

  it('stores the password only as an argon2id hash that verifies', async () => {
    const password = 'a long and secret passphrase';
    const user = await createUser({ password });
    const hash = await storedPasswordHash(user.id);
    expect(hash).toMatch(/^\$argon2id\$v=19\$m=19456,t=2,p=1\$/);
    expect(hash).not.toContain(password);
    const { verify } = await import('@node-rs/argon2');
    await expect(verify(hash, password)).resolves.toBe(true);
    await expect(verify(hash, 'not the password')).resolves.toBe(false);
  });

  it('rejects a duplicate email, compared case-insensitively, with 409', async () => {
    const user = await createUser();
    const response = await http
      .post('/users')
      .send(newUser({ email: user.email.toUpperCase() }))
      .expect(409);
    expect(response.body).toEqual({
      statusCode: 409,
      error: 'Conflict',
      message: 'email is already registered',
      details: [{ field: 'email', message: 'is already registered' }],
    });
    // The answer must not confirm which address is registered (it may reach logs or a shared screen).
    expect(JSON.stringify(response.body).toLowerCase()).not.toContain(user.email.toLowerCase());
  });

  it('names every missing or wrongly typed field', async () => {
    const response = await http.post('/users').send({ email: 42, password: 'short' }).expect(400);
    expect(response.body.statusCode).toBe(400);
    expect(response.body.error).toBe('Bad Request');
    const fields = response.body.details.map((d: { field: string }) => d.field).sort();
    expect(fields).toEqual(['email', 'name', 'password']);
    expect(response.body.message).toMatch(/email/);
  });

  it('names each unknown field', async () => {
    const response = await http
      .post('/users')
      .send({ ...newUser(), isAdmin: true, role: 'root' })
      .expect(400);
    expect(response.body.details).toEqual([
      { field: 'isAdmin', message: 'is not an allowed field' },
      { field: 'role', message: 'is not an allowed field' },
    ]);
  });

  it('rejects an invalid email and an empty name', async () => {
    const response = await http
      .post('/users')
      .send(newUser({ email: 'not-an-email', name: '   ' }))
      .expect(400);
    expect(response.body.details).toEqual([
      { field: 'email', message: 'must be an email address' },
      { field: 'name', message: 'must not be empty' },
    ]);
  });

  it('never echoes the password in an error', async () => {
    const password = 'ThisIsTheSecret-123';
    const response = await http.post('/users').send({ email: 'nope', name: 'x', password, extra: 1 }).expect(400);
    expect(JSON.stringify(response.body)).not.toContain(password);
    const conflict = await createUser({ password });
    const again = await http.post('/users').send({ email: conflict.email, name: 'x', password }).expect(409);
    expect(JSON.stringify(again.body)).not.toContain(password);
  });

  it('answers malformed JSON with 400', async () => {
    const response = await http
      .post('/users')
      .set('content-type', 'application/json')
      .send('{"email": "a@b.c",')
      .expect(400);
    expect(response.body).toEqual({
      statusCode: 400,
      error: 'Bad Request',
      message: 'request body is not valid JSON',
      details: [{ field: 'body', message: 'malformed JSON' }],
    });
  });

  it('answers a body that is not an object with 400 naming the body', async () => {
    const response = await http.post('/users').send([1, 2, 3]).expect(400);
    expect(response.body.details).toEqual([expect.objectContaining({ field: 'body' })]);
  });

  it('answers an oversized body with 413', async () => {
    const response = await http
      .post('/users')
      .send(newUser({ name: 'x'.repeat(200 * 1024) }))
      .expect(413);
    expect(response.body).toEqual({
      statusCode: 413,
      error: 'Payload Too Large',
      message: 'request body is larger than the limit of 102400 bytes',
    });
  });
});

describe('events published through the outbox', () => {
  async function outbox(): Promise<
    Array<{ id: string; event_type: string; event_version: number; payload: Record<string, unknown> }>
  > {
    const client = new pg.Client({ connectionString: db.url });
    await client.connect();
    try {
      return (await client.query('SELECT id, event_type, event_version, payload FROM outbox_events ORDER BY sequence'))
        .rows;
    } finally {
      await client.end();
    }
  }

  it('writes user.created v2 in the same transaction as the user, without the password or its hash', async () => {
    const before = (await outbox()).length;
    const user = await createUser({ marketingOptIn: true, locale: 'de-CH' });
    const rows = await outbox();
    expect(rows).toHaveLength(before + 1);
    const row = rows.at(-1)!;
    expect(row).toMatchObject({ event_type: 'user.created', event_version: 2 });
    expect(row.payload).toEqual({
      userId: user.id,
      email: user.email,
      name: user.name,
      marketingOptIn: true,
      locale: 'de-CH',
      occurredAt: user.createdAt,
    });
  });

  it('publishes nothing when the write is rolled back (duplicate email)', async () => {
    const user = await createUser();
    const before = await outbox();
    await http
      .post('/users')
      .send(newUser({ email: user.email }))
      .expect(409);
    expect(await outbox()).toEqual(before);
  });

  it('publishes user.updated with only the changed fields, and nothing for a change to the same value', async () => {
    const user = await createUser();
    await http.patch(`/users/${user.id}`).send({ name: 'Changed', email: user.email }).expect(200);
    const rows = await outbox();
    expect(rows.at(-1)).toMatchObject({
      event_type: 'user.updated',
      payload: { userId: user.id, changes: { name: 'Changed' } },
    });
    await http.patch(`/users/${user.id}`).send({ name: 'Changed' }).expect(200);
    expect(await outbox()).toHaveLength(rows.length);
  });

  it('publishes user.deleted with the delete', async () => {
    const user = await createUser();
    await http.delete(`/users/${user.id}`).expect(204);
    expect((await outbox()).at(-1)).toMatchObject({ event_type: 'user.deleted', payload: { userId: user.id } });
  });
});

describe('GET /users/:id', () => {
  it('returns the user', async () => {
    const user = await createUser();
    const response = await http.get(`/users/${user.id}`).expect(200);
    expect(response.body).toEqual(user);
  });

  it('answers an unknown id with 404', async () => {
    const response = await http.get('/users/0190a5e4-0000-7000-8000-000000000000').expect(404);
    expect(response.body).toEqual({
      statusCode: 404,
      error: 'Not Found',
      message: 'user 0190a5e4-0000-7000-8000-000000000000 not found',
    });
  });

  it('answers a malformed id with 400 naming the parameter', async () => {
    const response = await http.get('/users/not-a-uuid').expect(400);
    expect(response.body.details).toEqual([{ field: 'id', message: 'must be a UUID' }]);
  });
});

describe('GET /users', () => {
  it('pages through every user exactly once, in creation order', async () => {
    const created: string[] = [];
    for (let i = 0; i < 5; i++) created.push((await createUser()).id);
    const seen: string[] = [];
    let cursor: string | null = null;
    let pages = 0;
    do {
      const response: request.Response = await http
        .get('/users')
        .query(cursor ? { limit: 2, cursor } : { limit: 2 })
        .expect(200);
      expect(response.body.items.length).toBeLessThanOrEqual(2);
      seen.push(...response.body.items.map((u: { id: string }) => u.id));
      cursor = response.body.nextCursor;
      pages += 1;
    } while (cursor && pages < 100);
    expect(new Set(seen).size).toBe(seen.length);
    expect(seen.filter((id) => created.includes(id))).toEqual(created);
    expect([...seen].sort()).toEqual(seen);
  });

  it('returns nextCursor null on the last page', async () => {
    const response = await http.get('/users').query({ limit: 100 }).expect(200);
    expect(response.body.nextCursor).toBeNull();
    expect(response.body.items.length).toBeGreaterThan(0);
  });

  it('rejects a bad limit, a forged cursor and unknown parameters, naming each', async () => {
    expect((await http.get('/users?limit=0').expect(400)).body.details).toEqual([
      { field: 'limit', message: 'must be at least 1' },
    ]);
    expect((await http.get('/users?limit=abc').expect(400)).body.details[0].field).toBe('limit');
    expect((await http.get('/users?limit=101').expect(400)).body.details).toEqual([
      { field: 'limit', message: 'must be at most 100' },
    ]);
    expect((await http.get('/users?cursor=garbage').expect(400)).body.details).toEqual([
      { field: 'cursor', message: 'is not a cursor returned by this endpoint' },
    ]);
    expect((await http.get('/users?sort=name').expect(400)).body.details).toEqual([
      { field: 'sort', message: 'is not an allowed field' },
    ]);
  });
});

describe('PATCH /users/:id', () => {
  it('changes the name and email and moves updatedAt', async () => {
    const user = await createUser();
    const response = await http
      .patch(`/users/${user.id}`)
      .send({ name: 'Ada Lovelace', email: 'ADA.L@example.com' })
      .expect(200);
    expect(response.body).toMatchObject({
      id: user.id,
      name: 'Ada Lovelace',
      email: 'ada.l@example.com',
      createdAt: user.createdAt,
    });
    expect(new Date(response.body.updatedAt).getTime()).toBeGreaterThan(new Date(user.updatedAt).getTime());
    expect((await http.get(`/users/${user.id}`).expect(200)).body).toEqual(response.body);
  });

  it('answers an email taken by another user with 409', async () => {
    const [first, second] = [await createUser(), await createUser()];
    const response = await http.patch(`/users/${second.id}`).send({ email: first.email }).expect(409);
    expect(response.body.details).toEqual([{ field: 'email', message: 'is already registered' }]);
    expect(JSON.stringify(response.body)).not.toContain(first.email);
  });

  it('refuses the password and other fields, and an empty change', async () => {
    const user = await createUser();
    expect((await http.patch(`/users/${user.id}`).send({ password: 'newpassword1' }).expect(400)).body.details).toEqual(
      [
        { field: 'password', message: 'is not an allowed field' },
        { field: 'body', message: 'must contain email or name' },
      ],
    );
    expect((await http.patch(`/users/${user.id}`).send({}).expect(400)).body.details).toEqual([
      { field: 'body', message: 'must contain email or name' },
    ]);
    expect((await http.patch(`/users/${user.id}`).send({ name: 7 }).expect(400)).body.details).toEqual([
      { field: 'name', message: 'must be a string' },
    ]);
  });

  it('answers an id that is not the caller’s own with 403, whether or not it exists (admins included)', async () => {
    await http.patch('/users/0190a5e4-0000-7000-8000-000000000001').send({ name: 'x' }).expect(403);
  });
});

describe('DELETE /users/:id', () => {
  it('deletes the user once', async () => {
    const user = await createUser();
    await http.delete(`/users/${user.id}`).expect(204, '');
    await http.get(`/users/${user.id}`).expect(404);
    await http.delete(`/users/${user.id}`).expect(404);
  });

  it('answers a malformed id with 400', async () => {
    await http.delete('/users/123').expect(400);
  });
});

describe('GET /docs', () => {
  it('serves an OpenAPI document describing the user routes', async () => {
    const response = await http.get('/docs/openapi.json').expect(200);
    expect(response.body.openapi).toMatch(/^3\./);
    expect(Object.keys(response.body.paths)).toEqual(
      expect.arrayContaining(['/users', '/users/{id}', '/health/ready']),
    );
    const createBody = response.body.paths['/users'].post.requestBody.content['application/json'].schema;
    expect(createBody.required).toEqual(['email', 'name', 'password']);
    await http.get('/docs').expect(200).expect('content-type', /html/);
  });
});
