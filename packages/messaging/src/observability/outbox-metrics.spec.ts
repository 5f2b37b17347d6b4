import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { UserDeletedV1 } from '@switchyard/contracts';
import { createMetricsRegistry } from '@switchyard/telemetry';
import { createTestDatabase, pgTransactions, type TestDatabase } from '@switchyard/testing';
import { randomUUID } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { addToOutbox } from '../publishing/outbox.js';
import { OutboxMetrics } from './outbox-metrics.js';

const FIXTURE_SCHEMA = fileURLToPath(new URL('../../test/fixtures/schema.prisma', import.meta.url));

let db: TestDatabase;
let tx: ReturnType<typeof pgTransactions>;

beforeAll(async () => {
  db = await createTestDatabase('outbox_metrics', FIXTURE_SCHEMA);
  tx = pgTransactions(db.url);
});

afterAll(async () => {
  await tx?.end();
  await db?.drop();
});

async function gauge(registry: ReturnType<typeof createMetricsRegistry>, name: string): Promise<number | undefined> {
  return (await registry.getSingleMetric(name)!.get()).values[0]?.value;
}

describe('OutboxMetrics', () => {
  it('reports unsent rows and the age of the oldest, 0 when none waits', async () => {
    const registry = createMetricsRegistry({ service: 'test', defaultMetrics: false });
    const metrics = new OutboxMetrics({ databaseUrl: db.url, registry, intervalMs: 60_000 });
    try {
      await metrics.sample();
      expect(await gauge(registry, 'messaging_outbox_pending')).toBe(0);
      expect(await gauge(registry, 'messaging_outbox_oldest_age_seconds')).toBe(0);

      await tx.run(async (t) => {
        await addToOutbox(t, UserDeletedV1, { userId: randomUUID(), occurredAt: new Date().toISOString() });
        await addToOutbox(t, UserDeletedV1, { userId: randomUUID(), occurredAt: new Date().toISOString() });
      });
      await tx.query(
        `UPDATE outbox_events SET created_at = now() - interval '90 seconds' WHERE id = (SELECT id FROM outbox_events LIMIT 1)`,
      );
      await metrics.sample();
      expect(await gauge(registry, 'messaging_outbox_pending')).toBe(2);
      const age = await gauge(registry, 'messaging_outbox_oldest_age_seconds');
      expect(age).toBeGreaterThanOrEqual(90);
      expect(age).toBeLessThan(120);
    } finally {
      await metrics.stop();
    }
  });

  it('does not throw when the database is unreachable', async () => {
    const registry = createMetricsRegistry({ service: 'test', defaultMetrics: false });
    const metrics = new OutboxMetrics({ databaseUrl: 'postgresql://postgres@127.0.0.1:1/none', registry });
    await expect(metrics.sample()).resolves.toBeUndefined();
    await metrics.stop();
  });
});
