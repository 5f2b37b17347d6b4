// The relay-database-blackhole scenario (issue 14, item 2): each service's outbox relay has its database link go
// silently dead in the middle of a batch, for SETTINGS.blackholeMs, then come back. Everything committed before the
// link came back must be published and applied within DRAINED_WITHIN_MS.
//
// Why only the relay's link (MESSAGING_RELAY_DATABASE_URL through a proxy of its own) and not the service's whole
// database link: with the whole link dark, the HTTP writes fail too, so no backlog builds up and the test mostly
// measures the Prisma pool. With the relay's link alone, writes keep committing for the whole outage: the relay has
// a 30 s backlog to publish on top of the batch it was caught in, whose rows stay locked (FOR UPDATE) by a
// transaction the server still holds open. That is the case the timeouts exist for.
import { expect } from '@jest/globals';
import type { FaultProxy } from '@switchyard/testing';
import { setTimeout as sleep } from 'node:timers/promises';
import type { FaultPlatform, RunningService, ServiceName } from './fault-lab.js';
import { SETTINGS, waitUntil } from './scenario-driver.js';

/** Everything committed before the relays' links came back is published and applied within this (issue 14). */
export const DRAINED_WITHIN_MS = 60_000;
/**
 * Latency on the relays' links before the blackhole: a batch is then five round trips of it, so writes outpace the
 * relay (there is a backlog) and the relay spends nearly all its time inside a claim transaction.
 */
const BACKLOG_LATENCY_MS = 250;
const BACKLOG_BUILD_MS = 3_000;
const CATCH_TIMEOUT_MS = 15_000;

/** The relay's transactions open right now, as the server sees them (the relay's pool is `outbox-relay`). */
const RELAY_TRANSACTIONS = `SELECT count(*)::int AS n FROM pg_stat_activity
  WHERE datname = current_database() AND application_name = 'outbox-relay' AND xact_start IS NOT NULL`;
/**
 * The relay's claim transactions past their claim: the `SELECT … FOR UPDATE` ran (its lock on the table is held)
 * and the server waits for the relay's next statement (it is publishing, or marking rows sent).
 */
const RELAY_CLAIMS_IN_FLIGHT = `SELECT count(*)::int AS n FROM pg_stat_activity a JOIN pg_locks l ON l.pid = a.pid
  WHERE a.datname = current_database() AND a.application_name = 'outbox-relay' AND a.state = 'idle in transaction'
    AND l.relation = 'outbox_events'::regclass AND l.mode = 'RowShareLock'`;
/** Unsent outbox rows someone holds locked: all unsent ones minus those a SKIP LOCKED claim could take now. */
const LOCKED_OUTBOX_ROWS = `SELECT ((SELECT count(*) FROM outbox_events WHERE sent_at IS NULL)
  - (SELECT count(*) FROM (SELECT 1 FROM outbox_events WHERE sent_at IS NULL FOR UPDATE SKIP LOCKED) AS free))::int AS n`;
const UNSENT = 'SELECT count(*)::int AS n FROM outbox_events WHERE sent_at IS NULL';
/** Log lines of a relay batch that failed on the database (see OutboxRelay). */
const RELAY_BATCH_FAILED = /outbox relay: (batch failed|database connection lost mid-batch)/;

/** What had to be drained when the links came back: unsent outbox rows and the writes whose effects were missing. */
interface Pending {
  outbox: Record<ServiceName, string[]>;
  users: string[];
  orders: string[];
}

export async function blackholeRelaysMidBatch(platform: FaultPlatform): Promise<void> {
  const services = Object.values(platform.services);
  for (const service of services) relayLink(service).latency(BACKLOG_LATENCY_MS);
  await sleep(BACKLOG_BUILD_MS);
  // Each link goes dark the moment its relay is seen (from a direct connection) holding a claimed batch.
  await Promise.all(
    services.map(async (service) => {
      await waitUntil(
        `${service.name}'s relay inside a batch`,
        async () => (await count(platform, service.name, RELAY_CLAIMS_IN_FLIGHT)) > 0,
        CATCH_TIMEOUT_MS,
        5,
      );
      relayLink(service).blackhole();
    }),
  );
  const blackholedAt = Date.now();
  await sleep(1_000);
  // A second in, the server still holds each relay's transaction open, with its claimed rows locked: the blackhole
  // caught the relays inside a batch, not between two.
  for (const service of services) {
    platform.evidence[`${service.name}RelayTransactionsOpen`] = await count(platform, service.name, RELAY_TRANSACTIONS);
    platform.evidence[`${service.name}OutboxRowsLocked`] = await count(platform, service.name, LOCKED_OUTBOX_ROWS);
  }
  await sleep(Math.max(0, SETTINGS.blackholeMs - (Date.now() - blackholedAt)));
  for (const service of services) {
    platform.evidence[`${service.name}OutboxUnsentAtRestore`] = await count(platform, service.name, UNSENT);
  }
  platform.evidence.bytesDropped = services.reduce((sum, service) => sum + relayLink(service).stats().bytesDropped, 0);
  const pending = await pendingWork(platform);
  for (const service of services) relayLink(service).passThrough();
  const restoredAt = Date.now();
  await waitUntil(
    'everything committed before the relays got their links back published and applied',
    async () => drained(platform, pending),
    DRAINED_WITHIN_MS,
  );
  platform.evidence.drainedAfterRestoreMs = Date.now() - restoredAt;
  platform.evidence.relayBatchFailuresLogged = services.reduce(
    (sum, service) =>
      sum +
      service.process
        .output()
        .split('\n')
        .filter((line) => RELAY_BATCH_FAILED.test(line)).length,
    0,
  );
  for (const service of services) {
    expect(platform.evidence[`${service.name}RelayTransactionsOpen`]).toBeGreaterThan(0);
  }
  // order-service publishes most (three orders per user): its relay was caught holding a claimed batch.
  expect(platform.evidence.ordersOutboxRowsLocked).toBeGreaterThan(0);
  expect(platform.evidence.ordersOutboxUnsentAtRestore).toBeGreaterThan(0);
  expect(platform.evidence.relayBatchFailuresLogged).toBeGreaterThan(0);
}

function relayLink(service: RunningService): FaultProxy {
  if (!service.relayDatabaseLink) throw new Error(`${service.name} has no relay link: start with separateRelayLink`);
  return service.relayDatabaseLink;
}

async function count(platform: FaultPlatform, service: ServiceName, sql: string): Promise<number> {
  const [row] = await platform.query<{ n: number }>(service, sql);
  return row!.n;
}

async function pendingWork(platform: FaultPlatform): Promise<Pending> {
  const ids = async (service: ServiceName, sql: string): Promise<string[]> =>
    (await platform.query<{ id: string }>(service, sql)).map((row) => row.id);
  return {
    outbox: {
      users: await ids('users', 'SELECT id::text FROM outbox_events WHERE sent_at IS NULL'),
      orders: await ids('orders', 'SELECT id::text FROM outbox_events WHERE sent_at IS NULL'),
    },
    users: await ids('users', 'SELECT id::text FROM users'),
    orders: await ids('orders', 'SELECT id::text FROM orders'),
  };
}

/** Every outbox row unsent at the restore is sent, and every write committed by then has its downstream effect. */
async function drained(platform: FaultPlatform, pending: Pending): Promise<boolean> {
  const missing = async (service: ServiceName, sql: string, ids: string[]): Promise<number> => {
    const [row] = await platform.query<{ n: number }>(service, sql, [ids]);
    return row!.n;
  };
  const counts = await Promise.all([
    missing(
      'users',
      'SELECT count(*)::int AS n FROM outbox_events WHERE sent_at IS NULL AND id = ANY($1::uuid[])',
      pending.outbox.users,
    ),
    missing(
      'orders',
      'SELECT count(*)::int AS n FROM outbox_events WHERE sent_at IS NULL AND id = ANY($1::uuid[])',
      pending.outbox.orders,
    ),
    // user.created → a customer profile in order-service; order.placed → a statistics row in user-service.
    missing(
      'orders',
      'SELECT count(*)::int AS n FROM unnest($1::uuid[]) AS u(id) WHERE NOT EXISTS (SELECT 1 FROM customer_profiles p WHERE p.user_id = u.id)',
      pending.users,
    ),
    missing(
      'users',
      'SELECT count(*)::int AS n FROM unnest($1::uuid[]) AS o(id) WHERE NOT EXISTS (SELECT 1 FROM user_orders s WHERE s.order_id = o.id AND s.placed_at IS NOT NULL)',
      pending.orders,
    ),
  ]);
  return counts.every((n) => n === 0);
}
