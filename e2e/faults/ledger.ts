// Checks every committed write against its downstream effect, from the databases themselves (read directly, never
// through a fault proxy): the source tables say what was committed, the consumers' tables say what arrived.
import { setTimeout as sleep } from 'node:timers/promises';
import type { FaultPlatform } from './fault-lab.js';
import type { WorkloadTally } from './workload.js';

export interface LedgerResult {
  /** Rows committed in the source databases (users in user-service, orders in order-service). */
  committed: { users: number; orders: number };
  /** Events handled by each consumer (rows in its inbox). */
  delivered: { userCreated: number; orderPlaced: number };
  /** Committed writes with no downstream effect when the wait ran out; must be 0. */
  lost: number;
  /** Writes acknowledged with 201 that the source database does not hold; must be 0. */
  lostAcknowledged: number;
  /** Effects applied more than once (audit log rows beyond the first per key), plus outbox rows doubled at the source; must be 0. */
  duplicated: number;
  /** Some lost and duplicated ids, for the failure message. */
  examples: string[];
  /** From the end of the traffic until every effect was there (or the wait ran out). */
  caughtUpAfterMs: number;
}

interface Snapshot {
  users: string[];
  orders: string[];
  missingProfiles: string[];
  missingOrderStats: string[];
}

async function snapshot(platform: FaultPlatform): Promise<Snapshot> {
  const users = (await platform.query<{ id: string }>('users', 'SELECT id::text FROM users')).map((row) => row.id);
  const orders = (await platform.query<{ id: string }>('orders', 'SELECT id::text FROM orders')).map((row) => row.id);
  const profiles = new Set(
    (await platform.query<{ id: string }>('orders', 'SELECT user_id::text AS id FROM customer_profiles')).map(
      (row) => row.id,
    ),
  );
  const placed = new Set(
    (
      await platform.query<{ id: string }>(
        'users',
        'SELECT order_id::text AS id FROM user_orders WHERE placed_at IS NOT NULL',
      )
    ).map((row) => row.id),
  );
  return {
    users,
    orders,
    missingProfiles: users.filter((id) => !profiles.has(id)),
    missingOrderStats: orders.filter((id) => !placed.has(id)),
  };
}

/**
 * Waits (up to `timeoutMs`, since redeliveries and outbox retries back off) until every committed user has its
 * profile and every committed order its statistics row, then counts what is missing and what was doubled.
 */
export async function reconcile(
  platform: FaultPlatform,
  tally: WorkloadTally,
  trafficEndedAt: number,
  timeoutMs: number,
): Promise<LedgerResult> {
  const deadline = Date.now() + timeoutMs;
  let state = await snapshot(platform);
  while (state.missingProfiles.length + state.missingOrderStats.length > 0 && Date.now() < deadline) {
    await sleep(250);
    state = await snapshot(platform);
  }
  const caughtUpAfterMs = Date.now() - trafficEndedAt;

  const userIds = new Set(state.users);
  const orderIds = new Set(state.orders);
  const unknownAcknowledged = [
    ...tally.acknowledgedUsers.filter((id) => !userIds.has(id)),
    ...tally.acknowledgedOrders.filter((id) => !orderIds.has(id)),
  ];

  // A doubled effect: one key logged more than once by the audit trigger (an upsert re-applied is an UPDATE row).
  const doubledEffects = [
    ...(await platform.query<{ key: string; n: number }>(
      'users',
      'SELECT key::text, count(*)::int AS n FROM faults.effects GROUP BY key HAVING count(*) > 1',
    )),
    ...(await platform.query<{ key: string; n: number }>(
      'orders',
      'SELECT key::text, count(*)::int AS n FROM faults.effects GROUP BY key HAVING count(*) > 1',
    )),
  ];
  // A doubled event at the source: more than one outbox row for one write (a retried transaction that committed twice).
  const doubledAtSource = [
    ...(await platform.query<{ key: string; n: number }>(
      'users',
      `SELECT payload->>'userId' AS key, count(*)::int AS n FROM outbox_events WHERE event_type = 'user.created' GROUP BY 1 HAVING count(*) > 1`,
    )),
    ...(await platform.query<{ key: string; n: number }>(
      'orders',
      `SELECT payload->>'orderId' AS key, count(*)::int AS n FROM outbox_events WHERE event_type = 'order.placed' GROUP BY 1 HAVING count(*) > 1`,
    )),
  ];
  const duplicated = [...doubledEffects, ...doubledAtSource].reduce((sum, row) => sum + row.n - 1, 0);

  const [orderPlaced] = await platform.query<{ n: number }>('users', 'SELECT count(*)::int AS n FROM inbox_events');
  const [userCreated] = await platform.query<{ n: number }>('orders', 'SELECT count(*)::int AS n FROM inbox_events');
  const lost = state.missingProfiles.length + state.missingOrderStats.length;
  return {
    committed: { users: state.users.length, orders: state.orders.length },
    delivered: { userCreated: userCreated!.n, orderPlaced: orderPlaced!.n },
    lost,
    lostAcknowledged: unknownAcknowledged.length,
    duplicated,
    examples: [
      ...state.missingProfiles.slice(0, 3).map((id) => `no profile for user ${id}`),
      ...state.missingOrderStats.slice(0, 3).map((id) => `no stats row for order ${id}`),
      ...unknownAcknowledged.slice(0, 3).map((id) => `acknowledged but not committed: ${id}`),
      ...[...doubledEffects, ...doubledAtSource].slice(0, 3).map((row) => `applied ${row.n} times: ${row.key}`),
    ],
    caughtUpAfterMs,
  };
}
