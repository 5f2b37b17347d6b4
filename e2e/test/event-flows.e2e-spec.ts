import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { type SignedUpUser, waitFor } from '@switchyard/testing';
import pg from 'pg';
import { http, Platform } from './platform.js';

interface User {
  id: string;
  email: string;
  name: string;
  orderCount: number;
  lifetimeValueCents: number;
}
interface Customer {
  userId: string;
  email: string;
  name: string;
  deleted: boolean;
}
interface Order {
  id: string;
  status: string;
  totalCents: number;
  cancelReason: string | null;
}

let platform: Platform;

beforeAll(async () => {
  platform = await Platform.start('flows');
}, 60_000);

afterAll(async () => {
  await platform?.stop();
});

/** A signed-up user with a token; requests below are made as that user. */
async function createUser(n: number): Promise<SignedUpUser & { name: string }> {
  const name = `Flow ${n}`;
  return { ...(await platform.signUp({ email: `flow${n}.${Date.now()}@example.com`, name })), name };
}

function customerOf(user: SignedUpUser) {
  return http<Customer>(platform.orders.url, 'GET', `/customers/${user.id}`, undefined, user.token);
}

async function count(databaseUrl: string, sql: string, values: unknown[] = []): Promise<number> {
  const client = new pg.Client({ connectionString: databaseUrl });
  await client.connect();
  try {
    const { rows } = await client.query<{ n: string }>(sql, values);
    return Number(rows[0]!.n);
  } finally {
    await client.end();
  }
}

describe('user events keep order-service’s customer profiles', () => {
  it('creates the profile when a user signs up, and follows changes and deletion', async () => {
    const user = await createUser(1);

    const profile = await waitFor('the profile to appear', async () => {
      const response = await customerOf(user);
      return response.status === 200 ? response.body : undefined;
    });
    expect(profile).toMatchObject({ userId: user.id, email: user.email, name: user.name, deleted: false });

    expect((await http(platform.users.url, 'PATCH', `/users/${user.id}`, { name: 'Renamed' }, user.token)).status).toBe(
      200,
    );
    await waitFor('the rename to reach the profile', async () => (await customerOf(user)).body.name === 'Renamed');

    const placed = await http<Order>(
      platform.orders.url,
      'POST',
      '/orders',
      { userId: user.id, items: [{ sku: 'BOOK', quantity: 2, unitPriceCents: 1500 }] },
      user.token,
    );
    expect(placed.status).toBe(201);

    expect((await http(platform.users.url, 'DELETE', `/users/${user.id}`, undefined, user.token)).status).toBe(204);
    // The user's token stays valid until it expires (tokens are stateless), so it still reads what was its own.
    await waitFor('the profile to be marked deleted', async () => (await customerOf(user)).body.deleted === true);
    // A tombstone: the personal data is erased, the id stays for past orders.
    expect((await customerOf(user)).body).toMatchObject({ userId: user.id, email: null, name: null, deleted: true });
    const order = await waitFor('the placed order to be cancelled', async () => {
      const response = await http<Order>(
        platform.orders.url,
        'GET',
        `/orders/${placed.body.id}`,
        undefined,
        user.token,
      );
      return response.body.status === 'CANCELLED' ? response.body : undefined;
    });
    expect(order.cancelReason).toBe('customer_deleted');
    // …and the cancellation was announced, in the same transaction, like any other.
    expect(
      await count(
        platform.orderDb.url,
        `SELECT count(*) AS n FROM outbox_events WHERE event_type = 'order.cancelled' AND payload->>'orderId' = $1 AND payload->>'reason' = 'customer_deleted'`,
        [placed.body.id],
      ),
    ).toBe(1);
    const refused = await http<{ message: string }>(
      platform.orders.url,
      'POST',
      '/orders',
      { userId: user.id, items: [{ sku: 'X', quantity: 1, unitPriceCents: 1 }] },
      user.token,
    );
    expect(refused.status).toBe(422);
  }, 30_000);
});

describe('order events keep user-service’s order statistics', () => {
  it('counts placed orders and their value, and takes cancelled ones out', async () => {
    const user = await createUser(2);
    await waitFor('the profile to appear', async () => (await customerOf(user)).status === 200);
    const place = (items: unknown[]) =>
      http<Order>(platform.orders.url, 'POST', '/orders', { userId: user.id, items }, user.token);
    const first = await place([{ sku: 'A', quantity: 3, unitPriceCents: 1000 }]);
    const second = await place([{ sku: 'B', quantity: 1, unitPriceCents: 250 }]);
    expect([first.status, second.status]).toEqual([201, 201]);
    const statsOf = () => http<User>(platform.users.url, 'GET', `/users/${user.id}`, undefined, user.token);
    await waitFor('both orders in the stats', async () => {
      const { body } = await statsOf();
      return body.orderCount === 2 && body.lifetimeValueCents === 3250;
    });
    expect(
      (await http(platform.orders.url, 'POST', `/orders/${second.body.id}/cancel`, undefined, user.token)).status,
    ).toBe(200);
    const stats = await waitFor('the cancellation in the stats', async () => {
      const { body } = await statsOf();
      return body.orderCount === 1 ? body : undefined;
    });
    expect(stats.lifetimeValueCents).toBe(3000);
  }, 30_000);
});

describe('nothing lost, nothing doubled', () => {
  it('delivers every event committed before, during and after the broker drops all connections exactly once in effect', async () => {
    const created: string[] = [];
    for (let i = 0; i < 30; i++) {
      // Writes keep committing while the broker is unreachable: the outbox holds them until the relay reconnects.
      if (i === 10 || i === 20) await platform.vhost.closeAllConnections('e2e: broker connection loss');
      created.push((await createUser(100 + i)).id);
    }
    await waitFor(
      'every profile',
      async () =>
        (await count(
          platform.orderDb.url,
          'SELECT count(*) AS n FROM customer_profiles WHERE user_id = ANY($1::uuid[])',
          [created],
        )) === created.length,
      30_000,
    );
    // One inbox row per event, whatever was redelivered or re-published.
    expect(
      await count(platform.orderDb.url, `SELECT count(*) AS n FROM inbox_events WHERE event_type = 'user.created'`),
    ).toBe(
      await count(platform.userDb.url, `SELECT count(*) AS n FROM outbox_events WHERE event_type = 'user.created'`),
    );
    // The relay marks rows sent after the broker confirmed them, which may be after the consumer already handled them.
    await waitFor(
      'every outbox row marked sent',
      async () =>
        (await count(platform.userDb.url, 'SELECT count(*) AS n FROM outbox_events WHERE sent_at IS NULL')) === 0,
    );
    // The connections really were dropped (twice), and both services reconnected by themselves.
    for (const service of [platform.users, platform.orders]) {
      const messages = service.process.logLines().map((line) => line.msg);
      expect(messages.filter((msg) => msg === 'rabbitmq connection lost; reconnecting').length).toBeGreaterThanOrEqual(
        2,
      );
    }
    expect((await fetch(`${platform.users.url}/health/ready`)).status).toBe(200);
    expect((await fetch(`${platform.orders.url}/health/ready`)).status).toBe(200);
  }, 60_000);

  it('delivers what was committed while the consumer was killed, once it is back', async () => {
    await platform.restart('orders', 'SIGKILL');
    const user = await createUser(200);
    await waitFor('the profile after the restart', async () => (await customerOf(user)).status === 200, 20_000);
  }, 60_000);
});
