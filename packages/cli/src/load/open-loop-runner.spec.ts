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

/** Answers sign-ups and orders with a fresh id after `delayMs()`. */
async function platformAnswering(delayMs: () => number): Promise<string> {
  server = createServer((request, response) => {
    request.resume();
    request.on('end', () =>
      setTimeout(() => {
        response.writeHead(request.url?.startsWith('/customers/') ? 200 : 201, { 'content-type': 'application/json' });
        response.end(JSON.stringify({ id: randomUUID() }));
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
  expect(total.p50Ms).toBeLessThan(100);
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
