import 'reflect-metadata';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type { INestApplication } from '@nestjs/common';
import {
  createTestDatabase,
  createTestVhost,
  freePort,
  startTestTokenIssuer,
  tamperedTokens,
  type TestDatabase,
  type TestTokenIssuer,
  type TestVhost,
} from '@switchyard/testing';
import { randomUUID } from 'node:crypto';
import request from 'supertest';
import { SCHEMA_PATH } from '../src/app.module.js';
import { startOrderServiceApp, testTokenIssuer } from './order-service-app.js';

/** order-service verifies user-service's tokens over the JWKS: tampering, re-fetch on an unknown kid, a JWKS outage. */

let db: TestDatabase;
let vhost: TestVhost;
const apps: INestApplication[] = [];

async function app(env: NodeJS.ProcessEnv = {}): Promise<ReturnType<typeof request>> {
  const started = await startOrderServiceApp(db.url, vhost.identityUrl('order-service'), env);
  apps.push(started);
  return request(started.getHttpServer());
}

beforeAll(async () => {
  [db, vhost] = await Promise.all([createTestDatabase('orders_auth', SCHEMA_PATH), createTestVhost('orders_auth')]);
});

afterAll(async () => {
  for (const started of apps) await started.close();
  await Promise.all([db?.drop(), vhost?.drop()]);
});

describe('a request with a bad token', () => {
  it('is answered 401 with WWW-Authenticate and a JSON body on every route, for every kind of tampering', async () => {
    const http = await app();
    const userId = randomUUID();
    const cases = await tamperedTokens((await testTokenIssuer()).current, userId);
    const routes = [
      ['get', `/customers/${userId}`],
      ['get', '/orders'],
      ['get', `/orders/${randomUUID()}`],
      ['post', '/orders'],
      ['post', `/orders/${randomUUID()}/cancel`],
    ] as const;
    for (const [name, token] of Object.entries(cases)) {
      for (const [method, path] of routes) {
        const req = http[method](path);
        const response = await (token === undefined ? req : req.set('Authorization', `Bearer ${token}`));
        expect({
          name,
          path,
          status: response.status,
          challenge: response.headers['www-authenticate'],
          body: response.body as unknown,
        }).toEqual({
          name,
          path,
          status: 401,
          challenge: 'Bearer error="invalid_token"',
          body: { statusCode: 401, error: 'Unauthorized', message: expect.any(String) },
        });
      }
    }
  });
});

describe('keys fetched from the JWKS', () => {
  let issuer: TestTokenIssuer;

  beforeAll(async () => {
    issuer = await startTestTokenIssuer();
  });

  afterAll(async () => {
    await issuer?.close();
  });

  it('are cached, fetched again for an unknown kid (a rotation), and keep the previous key’s tokens valid', async () => {
    const http = await app({ AUTH_JWKS_URL: issuer.jwksUrl, AUTH_JWKS_COOLDOWN_MS: '0' });
    const userId = randomUUID();
    const before = issuer.fetches;
    const oldToken = await issuer.token(userId);
    for (let i = 0; i < 3; i += 1) await http.get('/orders').set('Authorization', `Bearer ${oldToken}`).expect(200);
    expect(issuer.fetches).toBe(before + 1);

    await issuer.rotate();
    const newToken = await issuer.token(userId);
    await http.get('/orders').set('Authorization', `Bearer ${newToken}`).expect(200);
    expect(issuer.fetches).toBe(before + 2);
    await http.get('/orders').set('Authorization', `Bearer ${oldToken}`).expect(200);
    expect(issuer.fetches).toBe(before + 2);
  });

  it('are not fetched again within the cooldown: an unknown kid then gets 401', async () => {
    const http = await app({ AUTH_JWKS_URL: issuer.jwksUrl, AUTH_JWKS_COOLDOWN_MS: '60000' });
    const userId = randomUUID();
    await http
      .get('/orders')
      .set('Authorization', `Bearer ${await issuer.token(userId)}`)
      .expect(200);
    const before = issuer.fetches;
    await issuer.rotate();
    const unknownKid = await issuer.token(userId);
    for (let i = 0; i < 5; i += 1) {
      const response = await http.get('/orders').set('Authorization', `Bearer ${unknownKid}`).expect(401);
      expect(response.headers['www-authenticate']).toBe('Bearer error="invalid_token"');
    }
    expect(issuer.fetches).toBe(before);
  });
});

describe('a JWKS that cannot be reached', () => {
  it('turns a request with a token into 503 with Retry-After, and one without a token still into 401', async () => {
    const http = await app({
      AUTH_JWKS_URL: `http://127.0.0.1:${await freePort()}/.well-known/jwks.json`,
      AUTH_JWKS_TIMEOUT_MS: '500',
    });
    const token = await (await testTokenIssuer()).token(randomUUID());
    const response = await http.get('/orders').set('Authorization', `Bearer ${token}`).expect(503);
    expect(response.headers['retry-after']).toBe('5');
    expect(response.body).toEqual({
      statusCode: 503,
      error: 'Service Unavailable',
      message: 'token signing keys unavailable, retry later',
    });
    await http.get('/orders').expect(401);
    await http.get('/health/live').expect(200);
  });
});
