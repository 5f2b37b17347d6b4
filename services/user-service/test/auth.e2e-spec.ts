import 'reflect-metadata';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type { INestApplication } from '@nestjs/common';
import { loadSigningKey } from '@switchyard/auth';
import {
  createTestDatabase,
  createTestVhost,
  signTestToken,
  tamperedTokens,
  type TestDatabase,
  type TestVhost,
  writeTestSigningKey,
} from '@switchyard/testing';
import { decodeJwt, decodeProtectedHeader } from 'jose';
import { randomUUID } from 'node:crypto';
import request from 'supertest';
import { SCHEMA_PATH } from '../src/app.module.js';
import { signUp } from './authorised-http.js';
import { startUserServiceApp } from './user-service-app.js';

/** Tokens and keys on user-service itself: issue, JWKS, rotation, and every way a token can be wrong. */

const keyFile = writeTestSigningKey();
// The key before the last rotation, in Helm's SEC1 format: published, never signing.
const previousKeyFile = writeTestSigningKey('sec1');
const ADMIN = 'Boss@Example.com';

let db: TestDatabase;
let vhost: TestVhost;
let app: INestApplication;
let http: ReturnType<typeof request>;
let user: { id: string; email: string };
const password = 'correct horse battery staple';

beforeAll(async () => {
  [db, vhost] = await Promise.all([createTestDatabase('users_auth', SCHEMA_PATH), createTestVhost('users_auth')]);
  app = await startUserServiceApp(db.url, vhost.identityUrl('user-service'), {
    AUTH_SIGNING_KEY_FILE: keyFile,
    AUTH_PREVIOUS_SIGNING_KEY_FILE: previousKeyFile,
    ADMIN_EMAILS: ` ops@example.com, ${ADMIN} `,
  });
  http = request(app.getHttpServer());
  ({ user } = await signUp<{ id: string; email: string }>(http, {
    email: `auth.${randomUUID()}@example.com`,
    name: 'Auth',
    password,
  }));
});

afterAll(async () => {
  await app?.close();
  await Promise.all([db?.drop(), vhost?.drop()]);
});

describe('POST /auth/token', () => {
  it('issues an ES256 JWT with a kid from the JWKS, sub, roles, iss, iat and exp 15 minutes on', async () => {
    const response = await http.post('/auth/token').send({ email: user.email.toUpperCase(), password }).expect(200);
    expect(response.headers['cache-control']).toBe('no-store');
    expect(response.body).toEqual({ access_token: expect.any(String), token_type: 'Bearer', expires_in: 900 });
    const token = response.body.access_token as string;
    const header = decodeProtectedHeader(token);
    const jwks = (await http.get('/.well-known/jwks.json').expect(200)).body as { keys: Array<{ kid: string }> };
    expect(header).toEqual({ alg: 'ES256', kid: jwks.keys[0]!.kid, typ: 'JWT' });
    const claims = decodeJwt(token);
    expect(claims).toEqual({
      sub: user.id,
      roles: ['user'],
      iss: 'user-service',
      iat: expect.any(Number),
      exp: expect.any(Number),
    });
    expect(claims.exp! - claims.iat!).toBe(900);
    expect(Math.abs(claims.iat! - Date.now() / 1000)).toBeLessThan(60);
    await http.get(`/users/${user.id}`).set('Authorization', `Bearer ${token}`).expect(200);
  });

  it('gives the admin role to an email listed in ADMIN_EMAILS, compared case-insensitively', async () => {
    const { token } = await signUp(http, { email: ADMIN.toLowerCase(), name: 'Boss', password });
    expect(decodeJwt(token).roles).toEqual(['admin']);
  });

  it('never lets an account move onto a listed address no account holds yet (that would make it an admin)', async () => {
    const { user: mover, token } = await signUp<{ id: string }>(http, {
      email: `mover.${randomUUID()}@example.com`,
      name: 'Mover',
      password,
    });
    const refused = await http
      .patch(`/users/${mover.id}`)
      .set('Authorization', `Bearer ${token}`)
      .send({ email: 'OPS@example.com' })
      .expect(403);
    expect(refused.body).toEqual({
      statusCode: 403,
      error: 'Forbidden',
      message: 'email is reserved for an administrator account',
      details: [{ field: 'email', message: 'is listed in ADMIN_EMAILS; no account may move onto it' }],
    });
    await http.post('/auth/token').send({ email: 'ops@example.com', password }).expect(401);
  });

  it('answers an unknown email and a wrong password with the same 401, challenge and JSON body', async () => {
    const unknown = await http.post('/auth/token').send({ email: `nobody.${randomUUID()}@example.com`, password });
    const wrong = await http.post('/auth/token').send({ email: user.email, password: `${password}!` });
    for (const response of [unknown, wrong]) {
      expect(response.status).toBe(401);
      expect(response.headers['www-authenticate']).toBe('Bearer');
      expect(response.headers['content-type']).toMatch(/^application\/json/);
    }
    expect(unknown.body).toEqual({ statusCode: 401, error: 'Unauthorized', message: 'email or password is wrong' });
    expect(wrong.body).toEqual(unknown.body);
  });

  it('answers a malformed body with 400 naming the fields', async () => {
    const response = await http.post('/auth/token').send({ email: 3, extra: true }).expect(400);
    expect(response.body.details.map((d: { field: string }) => d.field).sort()).toEqual(['email', 'extra', 'password']);
  });

  it('takes as long for an unknown email as for a wrong password (medians of interleaved samples)', async () => {
    const SAMPLES = 15;
    const timings = { unknown: [] as number[], wrong: [] as number[] };
    const time = async (body: object): Promise<number> => {
      const startedAt = process.hrtime.bigint();
      await http.post('/auth/token').send(body).expect(401);
      return Number(process.hrtime.bigint() - startedAt) / 1e6;
    };
    // One of each first: the dummy hash is made on first use.
    await time({ email: `warm.${randomUUID()}@example.com`, password });
    for (let i = 0; i < SAMPLES; i += 1) {
      timings.unknown.push(await time({ email: `nobody.${randomUUID()}@example.com`, password }));
      timings.wrong.push(await time({ email: user.email, password: `wrong-${i}` }));
    }
    const median = (values: number[]) => [...values].sort((a, b) => a - b)[values.length >> 1]!;
    const [unknown, wrong] = [median(timings.unknown), median(timings.wrong)];
    // Without the dummy verification an unknown email answers in a few ms, a wrong password after a full argon2id
    // verification (~20 ms or more): the bound is generous for a loaded machine and still catches that.
    expect(Math.abs(unknown - wrong)).toBeLessThan(Math.max(8, 0.4 * Math.max(unknown, wrong)));
    expect(Math.min(unknown, wrong)).toBeGreaterThan(5);
  }, 60_000);
});

describe('GET /.well-known/jwks.json', () => {
  it('publishes the current key first and the previous one, public parts only, to anyone', async () => {
    const response = await http.get('/.well-known/jwks.json').expect(200);
    const [current, previous] = [await loadSigningKey(keyFile), await loadSigningKey(previousKeyFile)];
    expect(response.body).toEqual({ keys: [current.publicJwk, previous.publicJwk] });
    for (const key of response.body.keys as Array<Record<string, unknown>>) expect(key).not.toHaveProperty('d');
  });

  it('accepts, during a rotation, a token the previous key signed until it expires', async () => {
    const token = await signTestToken(previousKeyFile, user.id);
    await http.get(`/users/${user.id}`).set('Authorization', `Bearer ${token}`).expect(200);
  });
});

describe('a request with a bad token', () => {
  it('is answered 401 with WWW-Authenticate and a JSON body, for every kind of tampering', async () => {
    const cases = await tamperedTokens(await loadSigningKey(keyFile), user.id);
    for (const [name, token] of Object.entries(cases)) {
      const req = http.get(`/users/${user.id}`);
      const response = await (token === undefined ? req : req.set('Authorization', `Bearer ${token}`));
      const seen = {
        name,
        status: response.status,
        challenge: response.headers['www-authenticate'],
        body: response.body as unknown,
      };
      expect(seen).toEqual({
        name,
        status: 401,
        challenge: 'Bearer error="invalid_token"',
        body: { statusCode: 401, error: 'Unauthorized', message: expect.any(String) },
      });
      expect(JSON.stringify(response.body)).not.toContain(user.email);
    }
  });

  it('is refused with a scheme other than Bearer, or a token with spaces in it', async () => {
    const token = await signTestToken(keyFile, user.id);
    for (const header of [`Basic ${token}`, `Bearer ${token} extra`, `Bearer  `, token]) {
      const response = await http.get(`/users/${user.id}`).set('Authorization', header);
      expect([response.status, response.headers['www-authenticate']]).toEqual([401, 'Bearer error="invalid_token"']);
    }
  });
});

describe('the OpenAPI document', () => {
  it('declares the bearer scheme for every operation, and no credentials on the public ones', async () => {
    type Operation = { security?: unknown };
    const document = (await http.get('/docs/openapi.json').expect(200)).body as {
      components: { securitySchemes: Record<string, unknown> };
      security: unknown;
      paths: Record<string, Record<string, Operation>>;
    };
    expect(document.components.securitySchemes.bearer).toMatchObject({ type: 'http', scheme: 'bearer' });
    expect(document.security).toEqual([{ bearer: [] }]);
    for (const [path, method] of [
      ['/users', 'post'],
      ['/auth/token', 'post'],
      ['/.well-known/jwks.json', 'get'],
      ['/health/ready', 'get'],
    ] as const) {
      expect({ path, security: document.paths[path]?.[method]?.security }).toEqual({ path, security: [{}] });
    }
    for (const [path, method] of [
      ['/users', 'get'],
      ['/users/{id}', 'get'],
      ['/users/{id}', 'delete'],
    ] as const) {
      expect({ path, security: document.paths[path]?.[method]?.security }).toEqual({ path, security: undefined });
    }
  });
});
