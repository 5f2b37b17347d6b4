import { afterEach, expect, it } from '@jest/globals';
import { randomUUID } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { parseLoadOptions } from './load-options.js';
import { OpenLoopRunner } from './open-loop-runner.js';
import { PlatformClient } from './platform-client.js';

// The runner's scheduling is tested against a small HTTP server whose response time the test controls (the real
// services cannot be told to stall on cue); e2e/test/load-generator.e2e-spec.ts runs it against the real platform.
let server: Server | undefined;

/** Closes the server and its kept-alive connections (a plain close() waits for clients to hang up). */
async function closeServer(): Promise<void> {
  const closing = server;
  server = undefined;
  if (!closing) return;
  const closed = new Promise((resolve) => closing.close(resolve));
  closing.closeAllConnections();
  await closed;
}

afterEach(closeServer);

/**
 * A stand-in for both services that checks tokens as they do: `POST /auth/token` issues `<user id>.<issued at>`
 * valid for `tokenTtlSeconds`; orders, cancellations, deletions and customer checks need the token of the user they
 * are for (401 otherwise). Every answer comes after `delayMs()`.
 */
async function platformAnswering(delayMs: () => number, tokenTtlSeconds = 900): Promise<string> {
  const users = new Map<string, string>(); // email → id
  const orderOwners = new Map<string, string>(); // order id → user id
  const tokenOf = (header: string | undefined): string | undefined => {
    const [userId, issuedAt] = header?.replace(/^Bearer /, '').split('.') ?? [];
    return Date.now() - Number(issuedAt) < tokenTtlSeconds * 1000 ? userId : undefined;
  };
  server = createServer((request, response) => {
    let text = '';
    request.on('data', (chunk: Buffer) => (text += chunk.toString()));
    request.on('end', () =>
      setTimeout(() => {
        const body = (text ? JSON.parse(text) : {}) as Record<string, string>;
        const caller = tokenOf(request.headers.authorization);
        const path = request.url ?? '';
        const answer = (status: number, json?: unknown) => {
          response.writeHead(status, { 'content-type': 'application/json' });
          response.end(json === undefined ? undefined : JSON.stringify(json));
        };
        if (path === '/users') {
          const id = randomUUID();
          users.set(body.email!, id);
          return answer(201, { id });
        }
        if (path === '/auth/token') {
          const id = users.get(body.email!);
          if (!id) return answer(401, { message: 'email or password is wrong' });
          return answer(200, {
            access_token: `${id}.${Date.now()}`,
            token_type: 'Bearer',
            expires_in: tokenTtlSeconds,
          });
        }
        const owner = path.startsWith('/orders/')
          ? orderOwners.get(path.split('/')[2]!)
          : path === '/orders'
            ? body.userId
            : path.split('/')[2];
        if (caller === undefined || caller !== owner) return answer(401, { message: 'invalid token' });
        if (path === '/orders') {
          const id = randomUUID();
          orderOwners.set(id, caller);
          return answer(201, { id });
        }
        return answer(request.method === 'DELETE' ? 204 : 200, request.method === 'DELETE' ? undefined : {});
      }, delayMs()),
    );
  });
  await new Promise<void>((resolve) => server!.listen(0, '127.0.0.1', resolve));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

function runner(url: string, argv: string[]): OpenLoopRunner {
  const options = parseLoadOptions(['--users-url', url, '--orders-url', url, '--quiet', ...argv]);
  return new OpenLoopRunner(options, new PlatformClient(options.usersUrl, options.ordersUrl));
}

it('keeps sending on schedule while the platform stalls, and counts the stall in the latency of what was due', async () => {
  const started = performance.now();
  // Every response is held until 300 ms into the run, then answered at once.
  const url = await platformAnswering(() => Math.max(0, 300 - (performance.now() - started)));
  const result = await runner(url, ['--rate', '100', '--count', '60', '--mix', 'signup=1', '--seed-users', '0']).run();
  const total = result.recorder.total();

  expect(total).toMatchObject({ count: 60, ok: 60, errors: {} });
  // A closed loop would have sent one request and waited; an open loop sent on: ~0.6 s for 60 at 100/s.
  expect(result.elapsedMs).toBeLessThan(1_500);
  // The first request, due at 0, waited ~300 ms: the stall shows in the tail, not hidden.
  expect(total.maxMs).toBeGreaterThanOrEqual(250);
  // Those due after it were not charged with it: the median sits well below the tail. Measured against the tail,
  // not as an absolute bound, because on a busy machine every request is also late by the same scheduling delay.
  expect(total.maxMs - total.p50Ms).toBeGreaterThanOrEqual(200);
});

it('counts the wait for a free slot as latency when the platform cannot keep up', async () => {
  // 20 ms per request with one in flight: 50/s of capacity against 100/s requested.
  const url = await platformAnswering(() => 20);
  const result = await runner(url, [
    '--rate',
    '100',
    '--count',
    '50',
    '--max-in-flight',
    '1',
    '--mix',
    'order=1',
    '--seed-users',
    '1',
  ]);
  const load = result;
  await load.seed();
  const outcome = await load.run();
  const total = outcome.recorder.total();
  expect(total).toMatchObject({ count: 50, ok: 50 });
  // The 50th was due at 490 ms but could not start before ~1 s: about half a second of queueing, reported.
  expect(total.maxMs).toBeGreaterThanOrEqual(400);
  expect(outcome.recorder.summaryOf('order')?.count).toBe(50);
});

it('logs each user in and acts as that user with its own token; a login is an operation with its own latency', async () => {
  const url = await platformAnswering(() => 2);
  const load = runner(url, [
    ...['--rate', '400', '--count', '400', '--seed-users', '4'],
    ...['--mix', 'signup=1,login=1,order=4,cancel=1,delete=0.2'],
  ]);
  await load.seed();
  const { recorder } = await load.run();
  // No 401: every order, cancellation and deletion carried the token of the user it was for.
  expect(recorder.total()).toMatchObject({ count: 400, ok: 400, errors: {} });
  for (const operation of ['signup', 'login', 'order', 'cancel', 'delete'] as const) {
    expect(recorder.summaryOf(operation)?.count).toBeGreaterThan(0);
  }
  expect(recorder.summaryOf('login')!.p50Ms).toBeGreaterThan(0);
});

it('renews a token before it expires, so a run longer than the token lifetime sends none expired', async () => {
  // Tokens live 1 s here; the run lasts 3 s and has no logins in its mix: renewals come in by themselves.
  const url = await platformAnswering(() => 1, 1);
  const load = runner(url, ['--rate', '100', '--count', '300', '--seed-users', '3', '--mix', 'order=1']);
  await load.seed();
  const { recorder } = await load.run();
  expect(recorder.total()).toMatchObject({ count: 300, ok: 300, errors: {} });
  expect(recorder.summaryOf('login')?.count).toBeGreaterThanOrEqual(3);
});

it('records a refused request by its status and a dead platform by its network error', async () => {
  server = createServer((request, response) => {
    request.resume();
    response.writeHead(409, { 'content-type': 'application/json' });
    response.end('{"message":"conflict"}');
  });
  await new Promise<void>((resolve) => server!.listen(0, '127.0.0.1', resolve));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const refused = await runner(url, ['--rate', '200', '--count', '5', '--mix', 'signup=1', '--seed-users', '0']).run();
  expect(refused.recorder.total()).toMatchObject({ count: 5, ok: 0, errors: { '409': 5 } });

  // A port that was just free and that no client ever connected to (a reused keep-alive socket would fail otherwise).
  const probe = createServer();
  await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve));
  const closedUrl = `http://127.0.0.1:${(probe.address() as AddressInfo).port}`;
  await new Promise((resolve) => probe.close(resolve));
  const dead = await runner(closedUrl, ['--rate', '200', '--count', '3', '--seed-users', '0']).run();
  expect(dead.recorder.total()).toMatchObject({ count: 3, ok: 0, errors: { ECONNREFUSED: 3 } });
});
