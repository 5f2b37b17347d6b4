import { afterAll, beforeAll, expect, it } from '@jest/globals';
import { type LoadReport, loadCommand } from '@switchyard/cli';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { Platform } from './platform.js';

let platform: Platform;
let dir: string;

beforeAll(async () => {
  [platform, dir] = await Promise.all([Platform.start('load'), mkdtemp(join(tmpdir(), 'switchyard-load-'))]);
}, 60_000);

afterAll(async () => {
  await platform?.stop();
  await rm(dir, { recursive: true, force: true });
});

it('`switchyard load` drives the real platform open-loop and reports what it did', async () => {
  const out: string[] = [];
  const err: string[] = [];
  const jsonFile = join(dir, 'result.json');
  const code = await loadCommand(
    [
      ...['--users-url', platform.users.url, '--orders-url', platform.orders.url],
      ...['--rate', '40', '--count', '120', '--mix', 'signup=1,login=1,order=4,cancel=1', '--seed-users', '3'],
      ...['--json', jsonFile],
    ],
    { stdout: (text) => out.push(text), stderr: (text) => err.push(text), env: {} },
  );
  expect(code).toBe(0);

  const report = JSON.parse(await readFile(jsonFile, 'utf8')) as LoadReport;
  expect(report).toMatchObject({ tool: 'switchyard load', sent: 120, requested: { ratePerSecond: 40, count: 120 } });
  // Every operation settled and succeeded: nothing for a customer order-service does not know, nothing cancelled twice,
  // no 401 or 403 (each user acts with its own token).
  expect(report.total).toMatchObject({ count: 120, ok: 120, errors: {} });
  // Logins are their own operation, with their own latency.
  expect(report.operations.login?.count).toBeGreaterThan(0);
  expect(report.operations.login?.p50Ms).toBeGreaterThan(0);
  expect(report.operations.order?.count).toBeGreaterThan(40);
  expect(report.operations.cancel?.count).toBeGreaterThan(0);
  expect(report.total.p99Ms).toBeGreaterThan(0);
  // The final table names each operation, and progress went to stderr.
  expect(out.join('\n')).toMatch(/^operation\s+count\s+ok\s+errors/m);
  expect(out.join('\n')).toMatch(/^login\s+\d+/m);
  expect(out.join('\n')).toMatch(/^total\s+120\s+120\s+0/m);
  expect(err.some((line) => line.includes('seeding 3 customers'))).toBe(true);

  // The effects are real: the orders it reports placed are in order-service's database.
  const db = new pg.Client({ connectionString: platform.orderDb.url });
  await db.connect();
  try {
    const { rows } = await db.query<{ n: string }>('SELECT count(*) AS n FROM orders');
    expect(Number(rows[0]!.n)).toBe(report.operations.order!.ok);
  } finally {
    await db.end();
  }
}, 90_000);

it('names the service that does not answer and exits 1', async () => {
  const err: string[] = [];
  const code = await loadCommand(['--users-url', 'http://127.0.0.1:1', '--count', '1'], {
    stdout: () => undefined,
    stderr: (text) => err.push(text),
    env: {},
  });
  expect(code).toBe(1);
  expect(err.join('\n')).toMatch(/user-service at http:\/\/127\.0\.0\.1:1 does not answer .*npm start/);
});
