import { afterAll, beforeAll, expect, it } from '@jest/globals';
import { createTestDatabase, type TestDatabase } from '@switchyard/testing';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import { silentLogger } from '../observability/messaging-logger.js';
import { OutboxInboxRetention } from './outbox-inbox-retention.js';

const FIXTURE_SCHEMA = fileURLToPath(new URL('../../test/fixtures/schema.prisma', import.meta.url));
const HOUR_MS = 60 * 60 * 1000;

let db: TestDatabase;
let pool: pg.Pool;

beforeAll(async () => {
  db = await createTestDatabase('retention', FIXTURE_SCHEMA);
  pool = new pg.Pool({ connectionString: db.url, max: 2 });
});

afterAll(async () => {
  await pool?.end();
  await db?.drop();
});

async function count(sql: string): Promise<number> {
  const { rows } = await pool.query<{ n: string }>(sql);
  return Number(rows[0]!.n);
}

it('purges rows past retention in bounded chunks, one chunk per call, and never unsent or recent rows', async () => {
  // 12,000 sent a day ago (past a 1 h retention), 10 sent just now, 5 unsent from a day ago.
  await pool.query(`
    INSERT INTO outbox_events (id, event_type, event_version, payload, created_at, sent_at, next_attempt_at)
    SELECT gen_random_uuid(), 'user.deleted', 1, '{}', now() - interval '1 day',
           CASE WHEN i <= 12000 THEN now() - interval '1 day' WHEN i <= 12010 THEN now() ELSE NULL END, now()
      FROM generate_series(1, 12015) AS i`);
  // 7,000 handled ids a day ago, 10 recent ones.
  await pool.query(`
    INSERT INTO inbox_events (consumer, event_id, event_type, processed_at)
    SELECT 'q', gen_random_uuid(), 'user.deleted', CASE WHEN i <= 7000 THEN now() - interval '1 day' ELSE now() END
      FROM generate_series(1, 7010) AS i`);
  const retention = new OutboxInboxRetention({
    outboxRetentionMs: HOUR_MS,
    inboxRetentionMs: HOUR_MS,
    chunkRows: 5_000,
    logger: silentLogger,
  });

  // Each call deletes at most one chunk per table; a full chunk keeps the purge due for the next call.
  expect(await retention.purgeIfDue(pool)).toEqual({ outbox: 5_000, inbox: 5_000 });
  expect(await retention.purgeIfDue(pool)).toEqual({ outbox: 5_000, inbox: 2_000 });
  expect(await retention.purgeIfDue(pool)).toEqual({ outbox: 2_000, inbox: 0 });
  // Done: the next round waits for the purge interval.
  expect(await retention.purgeIfDue(pool)).toEqual({ outbox: 0, inbox: 0 });

  expect(await count('SELECT count(*) AS n FROM outbox_events WHERE sent_at IS NOT NULL')).toBe(10);
  expect(await count('SELECT count(*) AS n FROM outbox_events WHERE sent_at IS NULL')).toBe(5);
  expect(await count('SELECT count(*) AS n FROM inbox_events')).toBe(10);
});
