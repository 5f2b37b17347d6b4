import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type { PostgresTimeouts } from '@switchyard/service-kit';
import { createMetricsRegistry } from '@switchyard/telemetry';
import { createTestDatabase, type TestDatabase, waitFor } from '@switchyard/testing';
import { execFileSync } from 'node:child_process';
import type { Socket } from 'node:net';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import { OutboxMetrics } from './observability/outbox-metrics.js';
import { OutboxRelay } from './publishing/outbox-relay.js';

// Every Postgres connection messaging opens (the relay's pool, its LISTEN client, the outbox metrics' pool) carries
// the timeouts of `postgresConnectionOptions`: checked on the real server, through the connections themselves.

const FIXTURE_SCHEMA = fileURLToPath(new URL('../test/fixtures/schema.prisma', import.meta.url));
/** Short, distinctive values: `SHOW` must report exactly these, and the waits stay short. */
const TIMEOUTS: PostgresTimeouts = {
  statementTimeoutMs: 700,
  idleInTransactionTimeoutMs: 900,
  keepAliveDelayMs: 3_000,
};

/** A connection of one of messaging's pools, and how to give it back. */
interface Connection {
  client: pg.ClientBase;
  release(): void;
}

let db: TestDatabase;
let admin: pg.Client;
let relay: OutboxRelay;
let metrics: OutboxMetrics;

beforeAll(async () => {
  db = await createTestDatabase('messaging_db_timeouts', FIXTURE_SCHEMA);
  admin = new pg.Client({ connectionString: db.url });
  await admin.connect();
  relay = new OutboxRelay({
    databaseUrl: db.url,
    databaseTimeouts: TIMEOUTS,
    publish: async () => undefined,
  });
  relay.start();
  metrics = new OutboxMetrics({
    databaseUrl: db.url,
    databaseTimeouts: TIMEOUTS,
    registry: createMetricsRegistry({ service: 'test', defaultMetrics: false }),
    intervalMs: 60_000,
  });
}, 60_000);

afterAll(async () => {
  await relay?.stop();
  await metrics?.stop();
  await admin?.end();
  await db?.drop();
});

// Private members, reached on purpose: the point is that the very connections the components use carry the settings.
const kinds: Array<[string, string, () => Promise<Connection>]> = [
  [
    "the relay's pool",
    'outbox-relay',
    async () => {
      const client = await relay['pool'].connect();
      // Checked out, it is ours to listen on: the server ending the session emits 'error'.
      client.on('error', () => undefined);
      return { client, release: () => client.release(true) };
    },
  ],
  [
    "the relay's LISTEN client",
    'outbox-listener',
    async () => {
      const client = await waitFor('the relay to listen', () => relay['listener']['client'] ?? false);
      // Ending it is the listener's job: it reconnects after a drop.
      return { client, release: () => undefined };
    },
  ],
  [
    "the outbox metrics' pool",
    'outbox-metrics',
    async () => {
      const client = await metrics['pool'].connect();
      // Checked out, it is ours to listen on: the server ending the session emits 'error'.
      client.on('error', () => undefined);
      return { client, release: () => client.release(true) };
    },
  ],
];

async function show(client: pg.ClientBase, setting: string): Promise<string> {
  const { rows } = await client.query<Record<string, string>>(`SHOW ${setting}`);
  return Object.values(rows[0]!)[0]!;
}

/** The kernel's view of the connection's socket: `ss` prints `timer:(keepalive,…)` when keepalive is on. */
function socketTimer(client: pg.ClientBase): string {
  const socket = (client as unknown as { connection: { stream: Socket } }).connection.stream;
  return execFileSync('ss', ['-tnoH', 'state', 'established', `sport = :${socket.localPort}`], { encoding: 'utf8' });
}

describe.each(kinds)('%s', (_label, applicationName, connect) => {
  it('reports the configured statement and idle-in-transaction timeouts, and has TCP keepalive on', async () => {
    const { client, release } = await connect();
    try {
      expect({
        statementTimeout: await show(client, 'statement_timeout'),
        idleInTransaction: await show(client, 'idle_in_transaction_session_timeout'),
        applicationName: await show(client, 'application_name'),
      }).toEqual({ statementTimeout: '700ms', idleInTransaction: '900ms', applicationName });
      expect(socketTimer(client)).toContain('timer:(keepalive');
    } finally {
      release();
    }
  });

  it('fails a query longer than the statement timeout with SQLSTATE 57014 instead of hanging', async () => {
    const { client, release } = await connect();
    const started = performance.now();
    try {
      await expect(client.query('SELECT pg_sleep(10)')).rejects.toMatchObject({
        code: '57014',
        message: 'canceling statement due to statement timeout',
      });
      expect(performance.now() - started).toBeLessThan(5_000);
    } finally {
      release();
    }
  });

  it('has its session ended by the server when it idles inside a transaction', async () => {
    const { client, release } = await connect();
    try {
      await client.query('BEGIN');
      const { rows } = await client.query<{ pid: number }>('SELECT pg_backend_pid() AS pid');
      const pid = rows[0]!.pid;
      await waitFor(
        'the server to end the idle-in-transaction session',
        async () => (await admin.query('SELECT 1 FROM pg_stat_activity WHERE pid = $1', [pid])).rowCount === 0,
        10_000,
      );
      await expect(client.query('SELECT 1')).rejects.toThrow();
    } finally {
      release();
    }
  });
});

describe('OutboxRelay', () => {
  it('fails a batch whose claim waits on a lock past the statement timeout, with a clear error, instead of hanging', async () => {
    const locker = new pg.Client({ connectionString: db.url });
    await locker.connect();
    try {
      await locker.query('BEGIN');
      await locker.query('LOCK TABLE outbox_events IN ACCESS EXCLUSIVE MODE');
      await expect(relay.drain()).rejects.toMatchObject({ code: '57014' });
    } finally {
      await locker.query('ROLLBACK');
      await locker.end();
    }
    await expect(relay.drain()).resolves.toBe(0);
  });
});
