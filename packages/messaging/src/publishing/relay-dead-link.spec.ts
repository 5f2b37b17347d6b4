import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { postgresConnectionOptions } from '@switchyard/service-kit';
import { createTestDatabase, type FaultProxy, startFaultProxy, type TestDatabase } from '@switchyard/testing';
import { randomUUID } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import { OutboxRelay } from './outbox-relay.js';

// The relay's database link going silently dead in the middle of a batch (a blackhole: no answer, no reset). The
// batch must fail after ONE client-side query timeout: a ROLLBACK sent on the dead connection would queue behind the
// unanswered query and hang the relay loop for another full query timeout.

const FIXTURE_SCHEMA = fileURLToPath(new URL('../../test/fixtures/schema.prisma', import.meta.url));
/** Short statement timeout, so the client's query timeout (it plus a margin) keeps the test short. */
const STATEMENT_TIMEOUT_MS = 500;
const QUERY_TIMEOUT_MS = postgresConnectionOptions(
  'postgresql://unused',
  { applicationName: 'unused' },
  { statementTimeoutMs: STATEMENT_TIMEOUT_MS },
).query_timeout;

let db: TestDatabase;
let admin: pg.Client;
let proxy: FaultProxy;

beforeAll(async () => {
  db = await createTestDatabase('messaging_relay_dead_link', FIXTURE_SCHEMA);
  admin = new pg.Client({ connectionString: db.url });
  await admin.connect();
  const { port } = new URL(db.url);
  proxy = await startFaultProxy('relay ⇄ postgres', { port: Number(port || 5432) });
}, 60_000);

afterAll(async () => {
  await proxy?.close();
  await admin?.end();
  await db?.drop();
});

describe('OutboxRelay on a database link that goes dark mid-batch', () => {
  it('fails the batch after one query timeout, not two, and publishes the row once the link is back', async () => {
    const url = new URL(db.url);
    url.port = String(proxy.port);
    let published = 0;
    const relay = new OutboxRelay({
      databaseUrl: url.toString(),
      // The server's idle-in-transaction timeout stays long: only the client's own timeouts can end the wait.
      databaseTimeouts: { statementTimeoutMs: STATEMENT_TIMEOUT_MS, idleInTransactionTimeoutMs: 60_000 },
      publish: async () => {
        published++;
        // Confirmed by the broker, then the link goes dark before the rows are marked sent.
        if (published === 1) proxy.blackhole();
      },
    });
    try {
      const id = randomUUID();
      await admin.query(
        `INSERT INTO outbox_events (id, event_type, event_version, payload) VALUES ($1, 'user.deleted', 1, '{}')`,
        [id],
      );
      const started = performance.now();
      await expect(relay.drain()).rejects.toThrow(/Query read timeout/);
      const failedAfterMs = performance.now() - started;
      expect(failedAfterMs).toBeGreaterThanOrEqual(QUERY_TIMEOUT_MS - 50);
      // A second query timeout would put it past 2 × QUERY_TIMEOUT_MS.
      expect(failedAfterMs).toBeLessThan(QUERY_TIMEOUT_MS * 1.5);

      // The link comes back (the proxy resets the connection that lost bytes): the row is still unsent, and goes.
      proxy.passThrough();
      await expect(relay.drain()).resolves.toBe(1);
      const { rows } = await admin.query<{ sent: boolean }>(
        'SELECT sent_at IS NOT NULL AS sent FROM outbox_events WHERE id = $1',
        [id],
      );
      expect(rows).toEqual([{ sent: true }]);
    } finally {
      proxy.passThrough();
      await relay['pool'].end();
    }
  }, 30_000);
});
