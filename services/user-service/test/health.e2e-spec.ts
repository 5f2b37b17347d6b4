import 'reflect-metadata';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type { INestApplication } from '@nestjs/common';
import { dropDatabase, ensureDatabase, withDatabaseName } from '@switchyard/db-migrate';
import { LifecycleState } from '@switchyard/service-kit';
import {
  createTestDatabase,
  createTestVhost,
  signTestToken,
  TEST_POSTGRES_URL,
  type TestDatabase,
  type TestVhost,
  writeTestSigningKey,
} from '@switchyard/testing';
import request from 'supertest';
import { SCHEMA_PATH } from '../src/app.module.js';
import { startUserServiceApp } from './user-service-app.js';

let vhost: TestVhost;
/** Unlocks the health details (messages) in these tests; without it callers see statuses only. */
const DETAIL_TOKEN = 'health-detail-token-for-tests';
const withDetails = { Authorization: `Bearer ${DETAIL_TOKEN}` };

beforeAll(async () => {
  vhost = await createTestVhost('users_health');
});

afterAll(async () => {
  await vhost?.drop();
});

describe('health probes on a migrated, reachable database and broker', () => {
  let db: TestDatabase;
  let app: INestApplication;

  beforeAll(async () => {
    db = await createTestDatabase('users_health', SCHEMA_PATH);
    app = await startUserServiceApp(db.url, vhost.identityUrl('user-service'), { HEALTH_DETAIL_TOKEN: DETAIL_TOKEN });
  });

  afterAll(async () => {
    await app?.close();
    await db?.drop();
  });

  it('reports live, ready and started with 200 and JSON details', async () => {
    const http = request(app.getHttpServer());
    expect((await http.get('/health/live').expect(200)).body).toMatchObject({
      status: 'ok',
      info: { process: { status: 'up' } },
    });
    expect((await http.get('/health/ready').expect(200)).body).toMatchObject({
      status: 'ok',
      info: { lifecycle: { status: 'up' }, database: { status: 'up' }, broker: { status: 'up' } },
    });
    expect((await http.get('/health/startup').expect(200)).body).toMatchObject({
      status: 'ok',
      info: { lifecycle: { status: 'up' }, migrations: { status: 'up' } },
    });
  });

  it('turns readiness to 503 as soon as shutdown begins, while liveness stays 200', async () => {
    app.get(LifecycleState).beginShutdown();
    const http = request(app.getHttpServer());
    const response = await http.get('/health/ready').set(withDetails).expect(503);
    expect(response.body).toMatchObject({
      status: 'error',
      error: { lifecycle: { status: 'down', message: 'shutting down' } },
    });
    await http.get('/health/live').expect(200);
  });
});

describe('health probes before migrations are applied', () => {
  const url = withDatabaseName(TEST_POSTGRES_URL, `switchyard_test_unmigrated_${Date.now().toString(36)}`);
  let app: INestApplication;

  beforeAll(async () => {
    await ensureDatabase(url);
    app = await startUserServiceApp(url, vhost.identityUrl('user-service'), { HEALTH_DETAIL_TOKEN: DETAIL_TOKEN });
  });

  afterAll(async () => {
    await app?.close();
    await dropDatabase(url);
  });

  it('keeps startup at 503 naming the pending migration, while readiness only needs the database', async () => {
    const http = request(app.getHttpServer());
    const response = await http.get('/health/startup').set(withDetails).expect(503);
    expect(response.body.status).toBe('error');
    expect(response.body.error.migrations.status).toBe('down');
    expect(response.body.error.migrations.message).toMatch(/^pending migrations: \d{14}_init/);
    await http.get('/health/ready').expect(200);
  });
});

describe('health probes with the database unreachable', () => {
  const keyFile = writeTestSigningKey();
  let app: INestApplication;

  beforeAll(async () => {
    // Nothing listens on port 1: connections are refused at once.
    app = await startUserServiceApp(
      'postgresql://postgres@127.0.0.1:1/switchyard_users',
      vhost.identityUrl('user-service'),
      { HEALTH_DETAIL_TOKEN: DETAIL_TOKEN, AUTH_SIGNING_KEY_FILE: keyFile },
    );
  });

  afterAll(async () => {
    await app?.close();
  });

  it('answers readiness with 503 naming the database, and liveness with 200', async () => {
    const http = request(app.getHttpServer());
    const response = await http.get('/health/ready').expect(503);
    expect(response.body.error.database.status).toBe('down');
    expect(response.body.info.lifecycle.status).toBe('up');
    await http.get('/health/live').expect(200);
  });

  it('shows an unauthenticated caller statuses only, and the raw database error only with the detail token', async () => {
    const http = request(app.getHttpServer());
    for (const authorization of [undefined, 'Bearer wrong-token-of-some-length', `Basic ${DETAIL_TOKEN}`]) {
      const anonymous = await (
        authorization ? http.get('/health/ready').set({ Authorization: authorization }) : http.get('/health/ready')
      ).expect(503);
      expect(anonymous.body.error).toEqual({ database: { status: 'down' } });
      for (const section of ['info', 'error', 'details'] as const) {
        for (const indicator of Object.values(anonymous.body[section] as Record<string, object>)) {
          expect(Object.keys(indicator)).toEqual(['status']);
        }
      }
      expect(JSON.stringify(anonymous.body)).not.toMatch(/127\.0\.0\.1|ECONNREFUSED|switchyard_users/);
    }
    const detailed = await http.get('/health/ready').set(withDetails).expect(503);
    expect(typeof detailed.body.error.database.message).toBe('string');
  });

  it('answers an API call with a 503 and Retry-After that reveals nothing about the database', async () => {
    // A valid token (signed with the service's key: no login without a database) for the caller's own account.
    const userId = '0190a5e4-0000-7000-8000-000000000000';
    const response = await request(app.getHttpServer())
      .get(`/users/${userId}`)
      .set('Authorization', `Bearer ${await signTestToken(keyFile, userId)}`)
      .expect(503);
    expect(response.body).toEqual({
      statusCode: 503,
      error: 'Service Unavailable',
      message: 'database unavailable, retry later',
    });
    expect(response.headers['retry-after']).toBe('5');
  });
});
