import 'reflect-metadata';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type { INestApplication } from '@nestjs/common';
import { MessagingRuntime } from '@switchyard/messaging';
import { createTestDatabase, createTestVhost, type TestDatabase, type TestVhost } from '@switchyard/testing';
import { randomUUID } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import { PasswordHashingSlots } from '../src/abuse-limits/index.js';
import { SCHEMA_PATH } from '../src/app.module.js';
import { startUserServiceApp } from './user-service-app.js';

// Abuse limits against the real service, Postgres and RabbitMQ: per-address and per-email rate limits on sign-up,
// a taken email refused before any hashing, and a flood of sign-ups that leaves readiness and the broker alone.

const PASSWORD = 'correct horse battery staple';

let db: TestDatabase;
let vhost: TestVhost;

beforeAll(async () => {
  [db, vhost] = await Promise.all([createTestDatabase('users_abuse', SCHEMA_PATH), createTestVhost('users_abuse')]);
});

afterAll(async () => {
  await Promise.all([db?.drop(), vhost?.drop()]);
});

/** The app listening on a real port (the flood needs real sockets), and a way to call it. */
async function listening(env: NodeJS.ProcessEnv) {
  const app = await startUserServiceApp(db.url, vhost.identityUrl('user-service'), env);
  const server = app.getHttpServer().listen(0, '127.0.0.1');
  await new Promise((resolve) => server.once('listening', resolve));
  const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const signUp = (email: string, headers: Record<string, string> = {}) =>
    fetch(`${base}/users`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...headers },
      body: JSON.stringify({ email, name: 'Flood', password: PASSWORD }),
      signal: AbortSignal.timeout(20_000),
    });
  return { app, base, signUp };
}

const uniqueEmail = () => `${randomUUID()}@example.com`;

describe('rate limits on POST /users', () => {
  let app: INestApplication;
  let signUp: Awaited<ReturnType<typeof listening>>['signUp'];
  let base: string;

  beforeAll(async () => {
    ({ app, signUp, base } = await listening({
      TRUST_PROXY: 'true',
      RATE_LIMIT_PER_ADDRESS: '3',
      RATE_LIMIT_PER_EMAIL: '2',
      RATE_LIMIT_WINDOW_SECONDS: '60',
    }));
  });

  afterAll(async () => {
    await app?.close();
  });

  it('answers 429 with Retry-After and a JSON body past the per-address limit, counting the first forwarded hop', async () => {
    const from = (address: string) => ({ 'x-forwarded-for': `${address}, 10.0.0.1` });
    for (let i = 0; i < 3; i += 1) expect((await signUp(uniqueEmail(), from('198.51.100.7'))).status).toBe(201);
    const refused = await signUp(uniqueEmail(), from('198.51.100.7'));
    expect(refused.status).toBe(429);
    const retryAfter = Number(refused.headers.get('retry-after'));
    expect(Number.isInteger(retryAfter) && retryAfter >= 1 && retryAfter <= 60).toBe(true);
    expect(refused.headers.get('content-type')).toMatch(/^application\/json/);
    expect(await refused.json()).toEqual({
      statusCode: 429,
      error: 'Too Many Requests',
      message: 'too many requests from this address or for this email, retry later',
    });
    // Another client (the same proxy hop behind it) has its own count.
    expect((await signUp(uniqueEmail(), from('198.51.100.8'))).status).toBe(201);
  });

  it('answers 429 past the per-email limit, whatever address the attempts come from', async () => {
    const email = uniqueEmail();
    expect((await signUp(email, { 'x-forwarded-for': '203.0.113.1' })).status).toBe(201);
    expect((await signUp(email.toUpperCase(), { 'x-forwarded-for': '203.0.113.2' })).status).toBe(409);
    const refused = await signUp(` ${email} `, { 'x-forwarded-for': '203.0.113.3' });
    expect(refused.status).toBe(429);
    expect(Number(refused.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
  });

  it('limits POST /auth/token on its own counters: per address, then per email', async () => {
    const login = (email: string, address: string) =>
      fetch(`${base}/auth/token`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'x-forwarded-for': address },
        body: JSON.stringify({ email, password: 'not-the-password' }),
        signal: AbortSignal.timeout(20_000),
      });
    // Sign-ups from this address do not count against its logins.
    for (let i = 0; i < 3; i += 1) expect((await login(uniqueEmail(), '198.51.100.40')).status).toBe(401);
    const perAddress = await login(uniqueEmail(), '198.51.100.40');
    expect(perAddress.status).toBe(429);
    expect(Number(perAddress.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
    const email = uniqueEmail();
    for (const address of ['198.51.100.41', '198.51.100.42']) expect((await login(email, address)).status).toBe(401);
    expect((await login(email.toUpperCase(), '198.51.100.43')).status).toBe(429);
  });

  it('refuses a taken email with 409 before hashing the password', async () => {
    const email = uniqueEmail();
    expect((await signUp(email, { 'x-forwarded-for': '203.0.113.20' })).status).toBe(201);
    const slots = app.get(PasswordHashingSlots);
    const before = slots.stats().started;
    const taken = await signUp(email, { 'x-forwarded-for': '203.0.113.21' });
    expect(taken.status).toBe(409);
    expect(slots.stats().started).toBe(before);
  });
});

describe('X-Forwarded-For without TRUST_PROXY', () => {
  let app: INestApplication;
  let signUp: Awaited<ReturnType<typeof listening>>['signUp'];

  beforeAll(async () => {
    ({ app, signUp } = await listening({ RATE_LIMIT_PER_ADDRESS: '2' }));
  });

  afterAll(async () => {
    await app?.close();
  });

  it('is ignored: a client cannot dodge its limit by naming other addresses', async () => {
    const statuses: number[] = [];
    for (let i = 0; i < 3; i += 1)
      statuses.push((await signUp(uniqueEmail(), { 'x-forwarded-for': `192.0.2.${i + 1}` })).status);
    expect(statuses).toEqual([201, 201, 429]);
  });
});

describe('a flood of sign-ups', () => {
  const CONCURRENCY = 2;
  const QUEUE_MAX = 8;
  let app: INestApplication;
  let base: string;
  let signUp: Awaited<ReturnType<typeof listening>>['signUp'];

  beforeAll(async () => {
    // Distinct addresses through the trusted header and distinct emails: the rate limits do not stop this flood,
    // only the hashing slots stand between it and the process.
    ({ app, base, signUp } = await listening({
      TRUST_PROXY: 'true',
      PASSWORD_HASH_CONCURRENCY: String(CONCURRENCY),
      PASSWORD_HASH_QUEUE_MAX: String(QUEUE_MAX),
    }));
  });

  afterAll(async () => {
    await app?.close();
  });

  it('keeps /health/ready fast and the broker connected, hashing at most N at once and refusing the overflow with 503', async () => {
    const slots = app.get(PasswordHashingSlots);
    const messaging = app.get(MessagingRuntime);
    let flooding = true;
    let maxRunning = 0;
    let maxWaiting = 0;
    let brokerDropped = false;
    const watch = setInterval(() => {
      const { running, waiting } = slots.stats();
      maxRunning = Math.max(maxRunning, running);
      maxWaiting = Math.max(maxWaiting, waiting);
      if (!messaging.connection.isReady || !messaging.consumerConnection.isReady) brokerDropped = true;
    }, 5);

    // A pod that has served some traffic: its code paths compiled and its database pool open. A cold process stalls
    // its first requests for seconds under any burst (measured: probes waited before reaching the controller while
    // checks took milliseconds), which is a start-up effect, not the hashing this test is about.
    for (let i = 0; i < 10; i += 1)
      await (await signUp(uniqueEmail(), { 'x-forwarded-for': '10.255.0.1' })).arrayBuffer();
    await Promise.all(
      Array.from({ length: 30 }, async () => (await fetch(`${base}/users/${randomUUID()}`)).arrayBuffer()),
    );
    const baseline = await probeReadiness(base, 20);
    const startedBefore = slots.stats().started;
    // 400 sign-ups, 64 in flight at any time.
    const outcomes: Array<{ status: number; retryAfter: string | null }> = [];
    let next = 0;
    const worker = async () => {
      while (next < 400) {
        const i = next++;
        const response = await signUp(uniqueEmail(), {
          'x-forwarded-for': `10.${i >> 16}.${(i >> 8) & 255}.${i & 255}`,
        });
        outcomes.push({ status: response.status, retryAfter: response.headers.get('retry-after') });
        await response.arrayBuffer();
      }
    };
    const flood = Promise.all(Array.from({ length: 64 }, worker)).finally(() => (flooding = false));

    // Readiness probed back to back while the flood runs.
    const probes: Probe[] = [];
    while (flooding) probes.push(...(await probeReadiness(base, 1)));
    await flood;
    clearInterval(watch);

    const created = outcomes.filter((outcome) => outcome.status === 201).length;
    const overloaded = outcomes.filter((outcome) => outcome.status === 503);
    const p99 = percentile(probes, 0.99);
    process.stdout.write(
      `flood: ${created} created, ${overloaded.length} refused with 503; /health/ready over ${probes.length} probes: ` +
        `p50 ${percentile(probes, 0.5).toFixed(1)} ms, p99 ${p99.toFixed(1)} ms ` +
        `(before the flood: p50 ${percentile(baseline, 0.5).toFixed(1)} ms, p99 ${percentile(baseline, 0.99).toFixed(1)} ms)\n`,
    );
    expect(outcomes).toHaveLength(400);
    expect(created + overloaded.length).toBe(400);
    expect(created).toBeGreaterThan(0);
    // The queue was full at times, and the overflow was told when to come back.
    expect(overloaded.length).toBeGreaterThan(0);
    expect(overloaded.every((outcome) => outcome.retryAfter === '1')).toBe(true);
    expect(maxRunning).toBeLessThanOrEqual(CONCURRENCY);
    expect(maxWaiting).toBeLessThanOrEqual(QUEUE_MAX);
    expect(slots.stats().started - startedBefore).toBe(created);

    expect(probes.length).toBeGreaterThan(5);
    expect(probes.every((probe) => probe.status === 200)).toBe(true);
    // Generous against a loaded, shared 2-core machine, and under the charts' 2 s probe timeout.
    expect(p99).toBeLessThan(1_000);
    expect(brokerDropped).toBe(false);
  }, 120_000);
});

interface Probe {
  status: number;
  ms: number;
}

/** `count` readiness probes one after the other, each timed, with a deadline like kubelet's. */
async function probeReadiness(base: string, count: number): Promise<Probe[]> {
  const probes: Probe[] = [];
  for (let i = 0; i < count; i += 1) {
    const startedAt = performance.now();
    const response = await fetch(`${base}/health/ready`, { signal: AbortSignal.timeout(10_000) });
    await response.arrayBuffer();
    probes.push({ status: response.status, ms: performance.now() - startedAt });
  }
  return probes;
}

function percentile(probes: Probe[], fraction: number): number {
  const sorted = probes.map((probe) => probe.ms).sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * fraction))]!;
}

describe('logins while every hashing slot is taken', () => {
  let app: INestApplication;
  let base: string;

  beforeAll(async () => {
    ({ app, base } = await listening({ PASSWORD_HASH_CONCURRENCY: '1', PASSWORD_HASH_QUEUE_MAX: '0' }));
  });

  afterAll(async () => {
    await app?.close();
  });

  it('answers an unknown email 503 while the slots are full, then 401 again: a refused dummy hash is not kept', async () => {
    const login = () =>
      fetch(`${base}/auth/token`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ email: uniqueEmail(), password: 'whatever-it-is' }),
        signal: AbortSignal.timeout(20_000),
      });
    let release!: () => void;
    const held = app.get(PasswordHashingSlots).run(() => new Promise<void>((resolve) => (release = resolve)));
    try {
      expect((await login()).status).toBe(503);
    } finally {
      release();
      await held;
    }
    // Otherwise every later unknown email would answer 503 while registered ones answer 401: an oracle.
    expect((await login()).status).toBe(401);
  });
});
