import 'reflect-metadata';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type { INestApplication } from '@nestjs/common';
import { createTestDatabase, createTestVhost, type TestDatabase, type TestVhost } from '@switchyard/testing';
import request from 'supertest';
import { SCHEMA_PATH } from '../src/app.module.js';
import { startOrderServiceApp } from './order-service-app.js';

describe('order-service health probes', () => {
  let db: TestDatabase;
  let vhost: TestVhost;
  let app: INestApplication;
  let unreachable: INestApplication;

  beforeAll(async () => {
    [db, vhost] = await Promise.all([
      createTestDatabase('orders_health', SCHEMA_PATH),
      createTestVhost('orders_health'),
    ]);
    app = await startOrderServiceApp(db.url, vhost.identityUrl('order-service'));
    unreachable = await startOrderServiceApp(
      'postgresql://postgres@127.0.0.1:1/switchyard_orders',
      vhost.identityUrl('order-service'),
    );
  });

  afterAll(async () => {
    await app?.close();
    await unreachable?.close();
    await db?.drop();
    await vhost?.drop();
  });

  it('reports live, ready and started on a migrated database', async () => {
    const http = request(app.getHttpServer());
    // Liveness covers the outbox relay's watchdog (relay-watchdog.spec.ts makes it fail on a hung batch).
    expect((await http.get('/health/live').expect(200)).body.info['outbox-relay'].status).toBe('up');
    expect((await http.get('/health/ready').expect(200)).body.info.database.status).toBe('up');
    expect((await http.get('/health/startup').expect(200)).body.info.migrations.status).toBe('up');
  });

  it('reports not ready, and not started, when the database cannot be reached', async () => {
    const http = request(unreachable.getHttpServer());
    await http.get('/health/live').expect(200);
    expect((await http.get('/health/ready').expect(503)).body.error.database.status).toBe('down');
    expect((await http.get('/health/startup').expect(503)).body.error.migrations.status).toBe('down');
  });
});
