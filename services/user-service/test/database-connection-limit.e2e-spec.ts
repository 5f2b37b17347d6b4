import 'reflect-metadata';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type { INestApplication } from '@nestjs/common';
import {
  createTestDatabase,
  createTestVhost,
  type TestDatabase,
  TEST_POSTGRES_URL,
  type TestVhost,
  signTestToken,
  waitFor,
  writeTestSigningKey,
} from '@switchyard/testing';
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import request from 'supertest';
import { SCHEMA_PATH } from '../src/app.module.js';
import { startUserServiceApp } from './user-service-app.js';

// Postgres refuses a connection beyond a role's CONNECTION LIMIT (or max_connections) with SQLSTATE 53300, "too many
// connections": the service must answer 503 with Retry-After (a client may retry shortly), never 500.

let db: TestDatabase;
let vhost: TestVhost;
let admin: pg.Client;
/** The service's own role, as in production (not a superuser: superusers are exempt from connection limits). */
const role = `switchyard_test_limit_${randomBytes(4).toString('hex')}`;
let roleUrl: string;

beforeAll(async () => {
  [db, vhost] = await Promise.all([
    createTestDatabase('users_conn_limit', SCHEMA_PATH),
    createTestVhost('users_conn_limit'),
  ]);
  admin = new pg.Client({ connectionString: db.ownerUrl });
  await admin.connect();
  const quoted = pg.escapeIdentifier(role);
  await admin.query(`CREATE ROLE ${quoted} LOGIN CONNECTION LIMIT 1`);
  await admin.query(`GRANT ALL ON SCHEMA public TO ${quoted}`);
  await admin.query(`GRANT ALL ON ALL TABLES IN SCHEMA public TO ${quoted}`);
  await admin.query(`GRANT ALL ON ALL SEQUENCES IN SCHEMA public TO ${quoted}`);
  const url = new URL(db.url);
  url.username = role;
  roleUrl = url.toString();
}, 60_000);

afterAll(async () => {
  await admin?.end();
  await db?.drop();
  // The role outlives the database it had grants in; it is dropped from the maintenance database.
  const server = new pg.Client({ connectionString: TEST_POSTGRES_URL });
  await server.connect();
  try {
    await server.query(`DROP ROLE IF EXISTS ${pg.escapeIdentifier(role)}`);
  } finally {
    await server.end();
  }
  await vhost?.drop();
});

describe('a database whose connection limit is exhausted', () => {
  let app: INestApplication;

  afterAll(async () => {
    await app?.close();
  });

  it('answers 503 with Retry-After and the JSON error body, never 500, and serves again once connections free up', async () => {
    // The role's only connection slot is taken before the service opens any of its own.
    const hog = new pg.Client({ connectionString: roleUrl });
    await hog.connect();
    let hogOpen = true;
    try {
      // A token signed with the service's key (no login: that needs the database), for a read of one's own account.
      const keyFile = writeTestSigningKey();
      app = await startUserServiceApp(roleUrl, vhost.identityUrl('user-service'), { AUTH_SIGNING_KEY_FILE: keyFile });
      const http = request(app.getHttpServer());
      const userId = crypto.randomUUID();
      const token = await signTestToken(keyFile, userId);
      const body = { email: `limit.${Date.now()}@example.com`, name: 'Ada', password: 'correct horse battery staple' };
      const read = await http.get(`/users/${userId}`).set('Authorization', `Bearer ${token}`);
      for (const response of [await http.post('/users').send(body), read]) {
        expect({
          status: response.status,
          body: response.body as unknown,
          retryAfter: response.headers['retry-after'],
        }).toEqual({
          status: 503,
          body: { statusCode: 503, error: 'Service Unavailable', message: 'database unavailable, retry later' },
          retryAfter: '5',
        });
      }

      await hog.end();
      hogOpen = false;
      await admin.query(`ALTER ROLE ${pg.escapeIdentifier(role)} CONNECTION LIMIT -1`);
      await waitFor(
        'the service to serve again',
        async () => (await http.post('/users').send(body)).status === 201,
        15_000,
      );
    } finally {
      if (hogOpen) await hog.end();
    }
  }, 60_000);
});
