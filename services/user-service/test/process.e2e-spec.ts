import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import {
  createTestDatabase,
  createTestVhost,
  freePort,
  getToken,
  startServiceProcess,
  type TestDatabase,
  type TestVhost,
  waitFor,
  waitUntilReady,
  writeTestSigningKey,
} from '@switchyard/testing';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { SCHEMA_PATH } from '../src/app.module.js';

// These tests run the built service (`dist/main.js`, built by `npm test` before jest) as its own process,
// because signals, exit codes and stdout are what Kubernetes sees.
const MAIN = fileURLToPath(new URL('../dist/main.js', import.meta.url));
const keyFile = writeTestSigningKey();

describe('user-service as a process', () => {
  let db: TestDatabase;
  let vhost: TestVhost;

  beforeAll(async () => {
    [db, vhost] = await Promise.all([
      createTestDatabase('users_process', SCHEMA_PATH),
      createTestVhost('users_process'),
    ]);
  });

  afterAll(async () => {
    await db?.drop();
    await vhost?.drop();
  });

  it('stops with one line naming the variable when DATABASE_URL is missing', async () => {
    const service = startServiceProcess(MAIN, {
      RABBITMQ_URL: vhost.identityUrl('user-service'),
      PORT: String(await freePort()),
      AUTH_SIGNING_KEY_FILE: keyFile,
    });
    const { code } = await service.exit;
    expect(code).toBe(1);
    expect(service.output().trim()).toBe('invalid configuration: DATABASE_URL is required but not set');
  });

  it('stops with one line naming PORT when it is not a port', async () => {
    const service = startServiceProcess(MAIN, {
      DATABASE_URL: db.url,
      RABBITMQ_URL: vhost.identityUrl('user-service'),
      PORT: 'eighty',
      AUTH_SIGNING_KEY_FILE: keyFile,
    });
    const { code } = await service.exit;
    expect(code).toBe(1);
    expect(service.output().trim()).toBe('invalid configuration: PORT must be a port number');
  });

  it('stops with one line naming AUTH_SIGNING_KEY_FILE when it is missing, and naming the file when it holds no usable key', async () => {
    const base = { DATABASE_URL: db.url, RABBITMQ_URL: vhost.url, PORT: String(await freePort()) };
    const missing = startServiceProcess(MAIN, base);
    expect((await missing.exit).code).toBe(1);
    expect(missing.output().trim()).toBe('invalid configuration: AUTH_SIGNING_KEY_FILE is required but not set');

    const notAKey = join(mkdtempSync(join(tmpdir(), 'not-a-key-')), 'key.pem');
    writeFileSync(notAKey, 'hello');
    const bad = startServiceProcess(MAIN, { ...base, AUTH_SIGNING_KEY_FILE: notAKey });
    expect((await bad.exit).code).toBe(1);
    expect(bad.output().trim()).toBe(`${notAKey} is not a PEM private key (PKCS#8 or SEC1 "EC PRIVATE KEY")`);
  });

  it('serves, logs JSON with request ids and no password, and on SIGTERM finishes in-flight requests and exits 0 within 10 s', async () => {
    const port = await freePort();
    const password = 'never-log-this-passphrase';
    // The delay stands in for Kubernetes taking the pod out of its endpoints; it also makes sure the whole burst
    // below has reached the server before the listener closes, so every request in it is truly in flight.
    const service = startServiceProcess(MAIN, {
      DATABASE_URL: db.url,
      RABBITMQ_URL: vhost.identityUrl('user-service'),
      PORT: String(port),
      LOG_LEVEL: 'trace',
      SHUTDOWN_DELAY_MS: '1000',
      AUTH_SIGNING_KEY_FILE: keyFile,
    });
    await waitUntilReady(service, port);

    const created = await fetch(`http://127.0.0.1:${port}/users`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-request-id': 'test-request-1' },
      body: JSON.stringify({ email: 'process@example.com', name: 'Process', password }),
    });
    expect(created.status).toBe(201);
    expect(created.headers.get('x-request-id')).toBe('test-request-1');
    const badBody = await fetch(`http://127.0.0.1:${port}/users`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ email: 'bad', password }),
    });
    expect(badBody.status).toBe(400);
    // A login and an authenticated read: neither the token nor the password may reach the log.
    const token = await getToken(`http://127.0.0.1:${port}`, 'process@example.com', password);
    const me = (await created.json()) as { id: string };
    const read = await fetch(`http://127.0.0.1:${port}/users/${me.id}`, {
      headers: { authorization: `Bearer ${token}` },
    });
    expect(read.status).toBe(200);

    // A burst of writes (each hashes a password, so they take a while), then SIGTERM while they are in flight.
    const burst = Array.from({ length: 20 }, (_, i) =>
      fetch(`http://127.0.0.1:${port}/users`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ email: `burst${i}@example.com`, name: `Burst ${i}`, password }),
      }).then(
        (response) => response.status,
        (error: Error & { cause?: { code?: string } }) => error.cause?.code ?? error.message,
      ),
    );
    const signalledAt = Date.now();
    service.child.kill('SIGTERM');
    const readinessAfterSignal = await waitFor('readiness to turn 503', async () => {
      const response = await fetch(`http://127.0.0.1:${port}/health/ready`);
      return response.status === 503 ? response : undefined;
    });
    expect(readinessAfterSignal.headers.get('connection')).toBe('close');
    const outcomes = await Promise.all(burst);
    const { code, signal } = await service.exit;
    const took = Date.now() - signalledAt;

    expect({ code, signal }).toEqual({ code: 0, signal: null });
    expect(took).toBeLessThan(10_000);
    // Every request in flight when the signal came completed.
    expect(outcomes).toEqual(Array(20).fill(201));

    const output = service.output();
    expect(output).not.toContain(password);
    expect(output).not.toContain(token);
    expect(output).not.toContain('$argon2id$');
    const lines = service.logLines();
    expect(lines.length).toBeGreaterThan(3);
    expect(lines.every((line) => line.service === 'user-service')).toBe(true);
    expect(lines.filter((line) => Number(line.level) >= 50)).toEqual([]);
    const requestLine = lines.find((line) => (line.req as { id?: string } | undefined)?.id === 'test-request-1');
    expect(requestLine).toBeDefined();
    expect(lines.map((line) => line.msg)).toEqual(
      expect.arrayContaining(['shutting down: readiness is now 503', 'stopped']),
    );
  }, 30_000);
});
