import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import {
  createTestDatabase,
  createTestVhost,
  freePort,
  startServiceProcess,
  type TestDatabase,
  type TestVhost,
  waitUntilReady,
} from '@switchyard/testing';
import { fileURLToPath } from 'node:url';
import { SCHEMA_PATH } from '../src/app.module.js';
import { testTokenIssuer } from './order-service-app.js';

// Runs the built service (`dist/main.js`, built by `npm test` before jest): signals and exit codes are what Kubernetes sees.
const MAIN = fileURLToPath(new URL('../dist/main.js', import.meta.url));

describe('order-service as a process', () => {
  let db: TestDatabase;
  let vhost: TestVhost;

  beforeAll(async () => {
    [db, vhost] = await Promise.all([
      createTestDatabase('orders_process', SCHEMA_PATH),
      createTestVhost('orders_process'),
    ]);
  });

  afterAll(async () => {
    await db?.drop();
    await vhost?.drop();
  });

  it('stops with one line naming DATABASE_URL when it is not a Postgres URL', async () => {
    const service = startServiceProcess(MAIN, {
      DATABASE_URL: 'mysql://root:secret@db/orders',
      RABBITMQ_URL: vhost.identityUrl('order-service'),
      PORT: String(await freePort()),
    });
    expect(await service.exit).toEqual({ code: 1, signal: null });
    expect(service.output().trim()).toBe(
      'invalid configuration: DATABASE_URL must be a postgres:// or postgresql:// URL',
    );
  });

  it('listens on PORT and exits 0 within 10 s of SIGTERM, logging no error', async () => {
    const port = await freePort();
    const issuer = await testTokenIssuer();
    const service = startServiceProcess(MAIN, {
      DATABASE_URL: db.url,
      RABBITMQ_URL: vhost.identityUrl('order-service'),
      PORT: String(port),
      AUTH_JWKS_URL: issuer.jwksUrl,
    });
    await waitUntilReady(service, port);
    expect((await fetch(`http://127.0.0.1:${port}/health/startup`)).status).toBe(200);
    const userId = '0190a5e4-0000-7000-8000-000000000000';
    const unauthenticated = await fetch(`http://127.0.0.1:${port}/orders`);
    expect(unauthenticated.status).toBe(401);
    // A token for a user order-service has not heard of: verified over the JWKS, then refused by the domain.
    const unknownCustomer = await fetch(`http://127.0.0.1:${port}/orders`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...(await issuer.authorization(userId)) },
      body: JSON.stringify({ userId, items: [{ sku: 'A', quantity: 1, unitPriceCents: 1 }] }),
    });
    expect(unknownCustomer.status).toBe(422);

    const signalledAt = Date.now();
    service.child.kill('SIGTERM');
    expect(await service.exit).toEqual({ code: 0, signal: null });
    expect(Date.now() - signalledAt).toBeLessThan(10_000);
    const lines = service.logLines();
    expect(lines.filter((line) => Number(line.level) >= 50)).toEqual([]);
    expect(lines.every((line) => line.service === 'order-service')).toBe(true);
  }, 30_000);
});
