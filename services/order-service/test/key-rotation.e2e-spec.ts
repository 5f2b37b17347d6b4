import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type { INestApplication } from '@nestjs/common';
import {
  createTestDatabase,
  createTestVhost,
  freePort,
  getToken,
  type ServiceProcess,
  signUpAndGetToken,
  startServiceProcess,
  type TestDatabase,
  type TestVhost,
  waitUntilReady,
  writeTestSigningKey,
} from '@switchyard/testing';
import { decodeProtectedHeader } from 'jose';
import { fileURLToPath } from 'node:url';
import request from 'supertest';
import { SCHEMA_PATH } from '../src/app.module.js';
import { startOrderServiceApp } from './order-service-app.js';

/**
 * The rotation procedure of the README, with the real user-service (its built `dist/main.js`, as its own process):
 * user-service restarts with a new signing key and the old one as the previous key; a token the old key signed
 * still works at order-service, and the new key's tokens work at once (an unknown kid makes order-service fetch the
 * JWKS again).
 */

const USER_SERVICE_MAIN = fileURLToPath(new URL('../../user-service/dist/main.js', import.meta.url));
const USER_SERVICE_SCHEMA = fileURLToPath(new URL('../../user-service/prisma/schema.prisma', import.meta.url));

let userDb: TestDatabase;
let orderDb: TestDatabase;
let vhost: TestVhost;
let orders: INestApplication;
let userService: ServiceProcess | undefined;

async function startUserService(port: number, env: NodeJS.ProcessEnv): Promise<void> {
  userService = startServiceProcess(USER_SERVICE_MAIN, {
    DATABASE_URL: userDb.url,
    RABBITMQ_URL: vhost.identityUrl('user-service'),
    PORT: String(port),
    LOG_LEVEL: 'warn',
    ...env,
  });
  await waitUntilReady(userService, port);
}

async function stopUserService(): Promise<void> {
  userService?.child.kill('SIGTERM');
  await userService?.exit;
  userService = undefined;
}

beforeAll(async () => {
  [userDb, orderDb, vhost] = await Promise.all([
    createTestDatabase('rotation_users', USER_SERVICE_SCHEMA),
    createTestDatabase('rotation_orders', SCHEMA_PATH),
    createTestVhost('rotation'),
  ]);
}, 60_000);

afterAll(async () => {
  await stopUserService();
  await orders?.close();
  await Promise.all([userDb?.drop(), orderDb?.drop(), vhost?.drop()]);
});

describe('rotating user-service’s signing key', () => {
  it('keeps tokens of the previous key valid at order-service and accepts the new key’s at once', async () => {
    const port = await freePort();
    const base = `http://127.0.0.1:${port}`;
    const [oldKey, newKey] = [writeTestSigningKey(), writeTestSigningKey('sec1')];
    await startUserService(port, { AUTH_SIGNING_KEY_FILE: oldKey });
    orders = await startOrderServiceApp(orderDb.url, vhost.identityUrl('order-service'), {
      AUTH_JWKS_URL: `${base}/.well-known/jwks.json`,
      // Only so that the new kid is fetched at once here; the default (30 s) delays it at most that long.
      AUTH_JWKS_COOLDOWN_MS: '0',
    });
    const http = request(orders.getHttpServer());

    const user = await signUpAndGetToken(base);
    await http.get('/orders').set(user.headers).expect(200);

    // Step 1 of the procedure: the new key signs, the old one is published as the previous key.
    await stopUserService();
    await startUserService(port, { AUTH_SIGNING_KEY_FILE: newKey, AUTH_PREVIOUS_SIGNING_KEY_FILE: oldKey });
    const newToken = await getToken(base, user.email, user.password);
    expect(decodeProtectedHeader(newToken).kid).not.toBe(decodeProtectedHeader(user.token).kid);

    await http.get('/orders').set(user.headers).expect(200);
    await http.get('/orders').set('Authorization', `Bearer ${newToken}`).expect(200);
    const jwks = (await (await fetch(`${base}/.well-known/jwks.json`)).json()) as { keys: Array<{ kid: string }> };
    expect(jwks.keys.map((key) => key.kid)).toEqual([
      decodeProtectedHeader(newToken).kid,
      decodeProtectedHeader(user.token).kid,
    ]);

    // Step 2, once the token lifetime has passed: the previous key leaves the JWKS; the new key's tokens keep working.
    await stopUserService();
    await startUserService(port, { AUTH_SIGNING_KEY_FILE: newKey });
    await http.get('/orders').set('Authorization', `Bearer ${newToken}`).expect(200);
    const other = await signUpAndGetToken(base);
    await http.get('/orders').set(other.headers).expect(200);
  }, 90_000);
});
