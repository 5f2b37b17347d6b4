// The SQL on the messaging hot path, three ways, to choose on evidence: Prisma's query builder, Prisma raw
// queries ($queryRaw/$executeRaw inside an interactive $transaction, what the services do today) and plain pg.
// Runs on a fresh order-service database (the real outbox_events and inbox_events tables).
//   outbox insert  one transaction per event (a business write's outbox row), 32 concurrent writers; also the
//                  same insert with a NOTIFY in every transaction, the shape addToOutbox had before it rate-limited its wake-ups
//   inbox insert   one transaction per event (the consumer's inbox row), 20 concurrent (the default prefetch)
//   outbox claim   claim 100 unsent rows and mark them sent in one transaction, one relay, from a pre-filled outbox
//                  (a backlog, as after an outage); last with a partial index in claim order
// Writes results/sql-hot-path.json.
import { UserCreatedV2 } from '@switchyard/contracts';
import { addToOutbox } from '@switchyard/messaging';
import { DEFAULT_PREFETCH } from '@switchyard/messaging/topology';
// Internal modules of the built package, by path rather than through a wider public API (npm run bench builds first).
import { recordInInbox } from '../packages/messaging/dist/consumer/inbox.js';
import { payloadHash } from '../packages/messaging/dist/consumer/payload-hash.js';
import { OUTBOX_NOTIFY_CHANNEL } from '../packages/messaging/dist/publishing/outbox.js';
import { OUTBOX_CLAIM_SQL } from '../packages/messaging/dist/publishing/outbox-claim.js';
import { DEFAULT_RELAY_BATCH_SIZE } from '../packages/messaging/dist/publishing/outbox-relay.js';
import { pgTransactions } from '@switchyard/testing';
import { PrismaPg } from '@prisma/adapter-pg';
import { randomUUID } from 'node:crypto';
import pg from 'pg';
import { PrismaClient } from '../services/order-service/dist/generated/prisma/client.js';
import { benchEventData, PAYLOAD_BYTES } from './lib/bench-event.js';
import { benchEnvironment } from './lib/bench-environment.js';
import { writeResults } from './lib/bench-results.js';
import { measureOperation, type OperationRate } from './lib/operation-rate.js';

const SCALE = Number(process.env.BENCH_SCALE ?? 1);
const SECONDS = Math.max(1, 3 * SCALE);
const WRITERS = 32;
/** Rows put in the outbox before each claim variant; more than one variant can claim in its time. */
const PREFILL_ROWS = Math.round(60_000 * Math.max(SCALE, 0.1));
/** The relay's own claim, so this measures what runs in production. */
const CLAIM_SQL = OUTBOX_CLAIM_SQL;
const MARK_SENT_SQL = 'UPDATE outbox_events SET sent_at = now() WHERE id = ANY($1::uuid[])';
const INSERT_OUTBOX_SQL = `INSERT INTO outbox_events (id, event_type, event_version, payload) VALUES ($1::uuid, 'user.created', 2, $2::jsonb)`;

const env = await benchEnvironment('bench_sql', true);
const url = env.database!.url;
const prisma = new PrismaClient({ adapter: new PrismaPg({ connectionString: url, max: WRITERS }) });
const pgTx = pgTransactions(url, WRITERS);
/** The relay's own pool shape: it reads the claimed rows back, which the transaction helper's counts-only tx cannot. */
const relayPool = new pg.Pool({ connectionString: url, max: 2 });
const results: OperationRate[] = [];
const record = (r: OperationRate): void => {
  results.push(r);
  console.log(
    `${r.operation.padEnd(14)} ${r.variant.padEnd(34)} ${String(r.perSecond).padStart(7)}/s  p50 ${r.latency.p50Ms} ms  p99 ${r.latency.p99Ms} ms  errors ${r.errors}`,
  );
};

async function prefill(rows: number): Promise<void> {
  await pgTx.query(
    `INSERT INTO outbox_events (id, event_type, event_version, payload)
     SELECT gen_random_uuid(), 'user.created', 2, $1::jsonb FROM generate_series(1, $2)`,
    [JSON.stringify(benchEventData()), rows],
  );
}

try {
  console.log(`\nmessaging SQL hot path: ${SECONDS} s per variant, ${PAYLOAD_BYTES}-byte payloads\n`);
  const payload = () => benchEventData();

  // Outbox insert: the producer's side of every event.
  record(
    await measureOperation('outbox insert', 'prisma ORM (outboxEvent.create)', WRITERS, SECONDS, async () => {
      await prisma.$transaction((tx) =>
        tx.outboxEvent.create({
          data: { id: randomUUID(), eventType: 'user.created', eventVersion: 2, payload: payload() },
        }),
      );
      return 1;
    }),
  );
  record(
    await measureOperation('outbox insert', 'prisma $executeRaw (addToOutbox)', WRITERS, SECONDS, async () => {
      await prisma.$transaction((tx) => addToOutbox(tx, UserCreatedV2, payload()));
      return 1;
    }),
  );
  record(
    await measureOperation('outbox insert', 'pg (addToOutbox)', WRITERS, SECONDS, async () => {
      await pgTx.run((tx) => addToOutbox(tx, UserCreatedV2, payload()));
      return 1;
    }),
  );
  record(
    await measureOperation('outbox insert', 'pg, NOTIFY in every transaction', WRITERS, SECONDS, async () => {
      await pgTx.run(async (tx) => {
        await tx.$executeRawUnsafe(INSERT_OUTBOX_SQL, randomUUID(), JSON.stringify(payload()));
        await tx.$executeRawUnsafe(`SELECT pg_notify($1, '')`, OUTBOX_NOTIFY_CHANNEL);
      });
      return 1;
    }),
  );

  // Inbox insert: the consumer's side, without the handler's own write.
  const hash = payloadHash('user.created', benchEventData());
  const delivery = () => ({ queue: 'bench.inbox', eventId: randomUUID(), type: 'user.created', payloadHash: hash });
  record(
    await measureOperation(
      'inbox insert',
      'prisma ORM (createMany skipDuplicates)',
      DEFAULT_PREFETCH,
      SECONDS,
      async () => {
        const d = delivery();
        await prisma.$transaction((tx) =>
          tx.inboxEvent.createMany({
            data: [{ consumer: d.queue, eventId: d.eventId, eventType: d.type }],
            skipDuplicates: true,
          }),
        );
        return 1;
      },
    ),
  );
  record(
    await measureOperation(
      'inbox insert',
      'prisma $executeRaw (recordInInbox)',
      DEFAULT_PREFETCH,
      SECONDS,
      async () => {
        await prisma.$transaction((tx) => recordInInbox(tx, delivery()));
        return 1;
      },
    ),
  );
  record(
    await measureOperation('inbox insert', 'pg (recordInInbox)', DEFAULT_PREFETCH, SECONDS, async () => {
      await pgTx.run((tx) => recordInInbox(tx, delivery()));
      return 1;
    }),
  );

  // Outbox claim: the relay's side. Each variant starts from the same fresh, vacuumed backlog of unsent rows.
  const freshBacklog = async (): Promise<void> => {
    await pgTx.query('DELETE FROM outbox_events');
    await prefill(PREFILL_ROWS);
    // As the owner: the runtime role the bench writes as may not VACUUM or ANALYZE (it would only warn and skip).
    const owner = pgTransactions(env.database!.ownerUrl, 1);
    await owner.query('VACUUM ANALYZE outbox_events').finally(() => owner.end());
  };
  const claimWithPg = async (): Promise<number> => {
    const client = await relayPool.connect();
    try {
      await client.query('BEGIN');
      const { rows } = await client.query<{ id: string }>(CLAIM_SQL, [DEFAULT_RELAY_BATCH_SIZE, []]);
      if (rows.length > 0) await client.query(MARK_SENT_SQL, [rows.map((r) => r.id)]);
      await client.query('COMMIT');
      return rows.length;
    } catch (error) {
      await client.query('ROLLBACK').catch(() => undefined);
      throw error;
    } finally {
      client.release();
    }
  };
  await freshBacklog();
  record(
    await measureOperation('outbox claim', 'prisma ORM (findMany + updateMany, no lock)', 1, SECONDS, async () => {
      return prisma.$transaction(async (tx) => {
        const rows = await tx.outboxEvent.findMany({
          where: { sentAt: null, nextAttemptAt: { lte: new Date() } },
          orderBy: [{ sentAt: 'asc' }, { sequence: 'asc' }],
          take: DEFAULT_RELAY_BATCH_SIZE,
        });
        if (rows.length > 0)
          await tx.outboxEvent.updateMany({
            where: { id: { in: rows.map((r) => r.id) } },
            data: { sentAt: new Date() },
          });
        return rows.length;
      });
    }),
  );
  await freshBacklog();
  record(
    await measureOperation('outbox claim', 'prisma $queryRaw (SKIP LOCKED)', 1, SECONDS, async () => {
      return prisma.$transaction(async (tx) => {
        const rows = await tx.$queryRawUnsafe<Array<{ id: string }>>(CLAIM_SQL, DEFAULT_RELAY_BATCH_SIZE, []);
        if (rows.length > 0)
          await tx.$executeRawUnsafe(
            MARK_SENT_SQL,
            rows.map((r) => r.id),
          );
        return rows.length;
      });
    }),
  );
  await freshBacklog();
  record(await measureOperation('outbox claim', 'pg (as OutboxRelay)', 1, SECONDS, claimWithPg));
  // The claim orders by sequence, which the (sent_at, next_attempt_at) index does not give: with a backlog every
  // claim sorts every unsent row. A partial index in claim order makes it read only the rows it takes.
  await pgTx.query('CREATE INDEX bench_outbox_unsent ON outbox_events (sequence) WHERE sent_at IS NULL');
  await freshBacklog();
  record(
    await measureOperation(
      'outbox claim',
      'pg, partial index (sequence) WHERE sent_at IS NULL',
      1,
      SECONDS,
      claimWithPg,
    ),
  );
  console.log(
    `results written to ${writeResults('sql-hot-path', { bench: 'sql-hot-path', machine: env.machine, tracing: false, results })}`,
  );
} finally {
  await prisma.$disconnect();
  await pgTx.end();
  await relayPool.end();
  await env.dispose();
}
