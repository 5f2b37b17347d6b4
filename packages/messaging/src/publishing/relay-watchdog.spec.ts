import { afterAll, afterEach, beforeAll, describe, expect, it } from '@jest/globals';
import { UserDeletedV1 } from '@switchyard/contracts';
import { createTestDatabase, pgTransactions, type TestDatabase, waitFor } from '@switchyard/testing';
import { randomUUID } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import { Registry } from 'prom-client';
import { registerRelayProgressMetrics } from '../observability/relay-progress-metrics.js';
import { addToOutbox } from './outbox.js';
import { OutboxRelay } from './outbox-relay.js';
import { relayLivenessCheck } from './relay-watchdog.js';

const FIXTURE_SCHEMA = fileURLToPath(new URL('../../test/fixtures/schema.prisma', import.meta.url));
/** The watchdog's limit in these tests; the relay's statement timeout (20 s) is well above it, so its batch hangs. */
const STUCK_AFTER_MS = 1_500;

let db: TestDatabase;
let tx: ReturnType<typeof pgTransactions>;
const relays: OutboxRelay[] = [];
const published: string[] = [];

beforeAll(async () => {
  db = await createTestDatabase('relay-watchdog', FIXTURE_SCHEMA);
  tx = pgTransactions(db.url);
});

afterEach(async () => {
  await Promise.all(relays.splice(0).map((relay) => relay.stop()));
  published.length = 0;
});

afterAll(async () => {
  await tx?.end();
  await db?.drop();
});

function startRelay(): OutboxRelay {
  const relay = new OutboxRelay({
    databaseUrl: db.url,
    databaseTimeouts: { statementTimeoutMs: 20_000 },
    pollIntervalMs: 100,
    // The broker is not what hangs here: publishing just records the row.
    publish: async (row) => {
      published.push(row.id);
    },
  });
  relays.push(relay);
  relay.start();
  return relay;
}

async function secondsSinceProgress(registry: Registry): Promise<number> {
  const metric = await registry.getSingleMetric('messaging_outbox_relay_seconds_since_progress')!.get();
  return metric.values[0]!.value;
}

async function liveness(check: ReturnType<typeof relayLivenessCheck>): Promise<'up' | string> {
  try {
    await check();
    return 'up';
  } catch (error) {
    return (error as Error).message;
  }
}

describe('relay progress watchdog', () => {
  it('keeps an idle relay with an empty outbox live', async () => {
    const relay = startRelay();
    const registry = new Registry();
    registerRelayProgressMetrics(registry, relay);
    await new Promise((resolve) => setTimeout(resolve, STUCK_AFTER_MS * 2));
    expect(await liveness(relayLivenessCheck(relay, STUCK_AFTER_MS))).toBe('up');
    expect(await secondsSinceProgress(registry)).toBeLessThan(1);
  });

  it('fails liveness and grows the metric while a batch hangs on a lock, and recovers once it is released', async () => {
    const id = await tx.run((t) =>
      addToOutbox(t, UserDeletedV1, { userId: randomUUID(), occurredAt: new Date().toISOString() }),
    );
    // Another session holds the table: the relay's claim waits on the lock (for up to its 20 s statement timeout).
    const locker = new pg.Client({ connectionString: db.url });
    await locker.connect();
    try {
      await locker.query('BEGIN');
      await locker.query('LOCK TABLE outbox_events IN ACCESS EXCLUSIVE MODE');
      const relay = startRelay();
      const registry = new Registry();
      registerRelayProgressMetrics(registry, relay);
      const check = relayLivenessCheck(relay, STUCK_AFTER_MS);

      await waitFor('liveness down', async () => (await liveness(check)) !== 'up');
      expect(await liveness(check)).toMatch(/^outbox relay has made no progress for \d+ s \(limit 1.5 s\)$/);
      const first = await secondsSinceProgress(registry);
      expect(first).toBeGreaterThan(STUCK_AFTER_MS / 1000);
      await new Promise((resolve) => setTimeout(resolve, 1_000));
      expect(await secondsSinceProgress(registry)).toBeGreaterThan(first + 0.5);
      expect(published).toEqual([]);

      await locker.query('ROLLBACK');
      await waitFor('liveness up again', async () => (await liveness(check)) === 'up');
      expect(await secondsSinceProgress(registry)).toBeLessThan(1);
      await waitFor('the held row published', () => published.length > 0);
      expect(published).toEqual([id]);
    } finally {
      await locker.end();
    }
  });
});
