// The full path every Switchyard event takes, without HTTP: a writer commits an outbox row in a transaction →
// OutboxRelay (NOTIFY wake-up, FOR UPDATE SKIP LOCKED claim, pipelined publish with confirms, mark sent) →
// RabbitMQ quorum queue → SwitchyardServer → one transaction { inbox insert ; handler inserts a customer profile }
// → ack. A delivery counts once its inbox transaction has committed. Runs on a fresh order-service database.
//
// Variants (BENCH_PIPELINE_VARIANTS, comma-separated; default `prisma,pg`):
//   prisma  transactions through Prisma's interactive $transaction, as the services run them
//   pg      the same SQL through plain pg transactions (the hot-path alternative)
// Tracing is on when the process was started with the OpenTelemetry preload and an OTLP endpoint (the runner
// does that for the "traced" run); results then go to results/full-pipeline-traced.json.
import { UserCreatedV2 } from '@switchyard/contracts';
import { addToOutbox } from '@switchyard/messaging';
import { DEFAULT_PREFETCH } from '@switchyard/messaging/topology';
// Internal modules of the built package, by path rather than through a wider public API (npm run bench builds first).
import { RabbitMqConnection } from '../packages/messaging/dist/connection/rabbitmq-connection.js';
import { inboxHandlerRunner } from '../packages/messaging/dist/consumer/inbox.js';
import { SwitchyardServer } from '../packages/messaging/dist/consumer/switchyard-server.js';
import { decodeDelivery, outboxRowToWire } from '../packages/messaging/dist/publishing/event-codec.js';
import { EventPublisher } from '../packages/messaging/dist/publishing/event-publisher.js';
import { OutboxRelay } from '../packages/messaging/dist/publishing/outbox-relay.js';
import type { SqlTransaction, TransactionRunner } from '../packages/messaging/dist/sql-transaction.js';
import { pgTransactions } from '@switchyard/testing';
import { PrismaPg } from '@prisma/adapter-pg';
import pg from 'pg';
import { PrismaClient } from '../services/order-service/dist/generated/prisma/client.js';
import { type BenchEventData, benchEventData } from './lib/bench-event.js';
import { benchEnvironment } from './lib/bench-environment.js';
import { printScenarios, type ScenarioResult, writeResults } from './lib/bench-results.js';
import type { DeliveryTracker } from './lib/delivery-tracker.js';
import { InFlightWindow } from './lib/in-flight-window.js';
import { type BenchSubject, runLoad } from './lib/load-driver.js';

const EXCHANGE = 'switchyard.events';
/**
 * Concurrent business transactions writing to the outbox: concurrent HTTP requests in a real service. 32 is what
 * 2,000 requests/s at ~15 ms each keep in flight.
 */
const WRITERS = 32;
/** The services' default database pool (DATABASE_POOL_MAX), for the consumer side. */
const CONSUMER_POOL = Number(process.env.BENCH_CONSUMER_POOL ?? 25);
/** The transport's default prefetch; `BENCH_PREFETCH` explores others (with `BENCH_CONSUMER_POOL` to match). */
const PREFETCH = Number(process.env.BENCH_PREFETCH ?? DEFAULT_PREFETCH);

type TxKind = 'prisma' | 'pg';

interface Database {
  run: TransactionRunner;
  end(): Promise<void>;
}

function database(kind: TxKind, url: string, max: number): Database {
  if (kind === 'pg') {
    const transactions = pgTransactions(url, max);
    return { run: (work) => transactions.run(work), end: () => transactions.end() };
  }
  const prisma = new PrismaClient({ adapter: new PrismaPg({ connectionString: url, max }) });
  return { run: (work) => prisma.$transaction((tx) => work(tx)), end: () => prisma.$disconnect() };
}

async function pipelineSubject(
  url: string,
  databaseUrl: string,
  kind: TxKind,
  tracker: DeliveryTracker,
): Promise<BenchSubject> {
  // Two pools, as two services would have: the producer's (writers) and the consumer's.
  const producerDb = database(kind, databaseUrl, WRITERS);
  const consumerDb = database(kind, databaseUrl, CONSUMER_POOL);
  // Two connections, as MessagingRuntime wires a service: one publishes, the other only consumes (and acks).
  const connection = new RabbitMqConnection({ url, connectionName: 'bench' });
  const consumerConnection = new RabbitMqConnection({ url, connectionName: 'bench-consumer' });
  await Promise.all([connection.start(), consumerConnection.start()]);
  const publisher = new EventPublisher({ connection, exchanges: [EXCHANGE] });
  await publisher.start();
  const relay = new OutboxRelay({
    databaseUrl,
    canPublish: () => publisher.isReady,
    publish: async (row) => {
      tracker.stage('claimed', row.id);
      const wire = outboxRowToWire(row, 'bench');
      await publisher.publish(EXCHANGE, wire.routingKey, wire.content, {
        ...wire.properties,
        headers: { ...wire.properties.headers },
      });
      tracker.stage('confirmed', row.id);
    },
  });
  const inbox = inboxHandlerRunner(consumerDb.run);
  const server = new SwitchyardServer({
    connection: consumerConnection,
    publishConnection: connection,
    service: 'bench',
    queue: 'bench.pipeline',
    prefetch: PREFETCH,
    decode: decodeDelivery,
    // Counted after the commit: a delivery is done when its inbox row and its effect are durable.
    runHandler: async (delivery, invoke) => {
      tracker.stage('received', delivery.eventId);
      const outcome = await inbox(delivery, invoke);
      if (outcome === 'processed') tracker.delivered(delivery.eventId);
      return outcome;
    },
  });
  server.addHandler(
    'user.created',
    async (data: BenchEventData, ctx: { tx: SqlTransaction }) => {
      await ctx.tx.$executeRawUnsafe(
        `INSERT INTO customer_profiles (user_id, email, name, email_changed_at, name_changed_at, updated_at)
         VALUES ($1::uuid, $2, $3, $4::timestamptz, $4::timestamptz, now())`,
        data.userId,
        data.email,
        data.name,
        data.occurredAt,
      );
    },
    true,
  );
  await new Promise<void>(
    (resolve, reject) =>
      void server.listen((error?: unknown) =>
        error ? reject(error instanceof Error ? error : new Error(String(error))) : resolve(),
      ),
  );
  relay.start();
  const writers = new InFlightWindow(WRITERS);
  return {
    send: (id) =>
      writers.admit(async () => {
        tracker.stage('writing', id);
        await producerDb.run((tx) => addToOutbox(tx, UserCreatedV2, benchEventData(id), { eventId: id }));
        tracker.stage('committed', id);
      }),
    flush: () => writers.flush(),
    close: async () => {
      await server.close();
      await relay.stop();
      await publisher.close();
      await Promise.all([connection.close(), consumerConnection.close()]);
      await Promise.all([producerDb.end(), consumerDb.end()]);
    },
  };
}

/** Exactly-once, checked in the database too: one inbox row and one profile per delivered event, nothing left unsent. */
async function databaseCheck(
  databaseUrl: string,
): Promise<{ outboxRows: number; unsent: number; inboxRows: number; profiles: number }> {
  const client = new pg.Client({ connectionString: databaseUrl });
  await client.connect();
  try {
    const { rows } = await client.query<{ outbox: string; unsent: string; inbox: string; profiles: string }>(
      `SELECT (SELECT count(*) FROM outbox_events) AS outbox, (SELECT count(*) FROM outbox_events WHERE sent_at IS NULL) AS unsent,
              (SELECT count(*) FROM inbox_events) AS inbox, (SELECT count(*) FROM customer_profiles) AS profiles`,
    );
    const r = rows[0]!;
    return {
      outboxRows: Number(r.outbox),
      unsent: Number(r.unsent),
      inboxRows: Number(r.inbox),
      profiles: Number(r.profiles),
    };
  } finally {
    await client.end();
  }
}

const traced = Boolean(process.env.OTEL_EXPORTER_OTLP_ENDPOINT);
const variants = (process.env.BENCH_PIPELINE_VARIANTS ?? 'prisma,pg').split(',').filter(Boolean);
const scenarios: Array<ScenarioResult & { databaseCheck: Awaited<ReturnType<typeof databaseCheck>> }> = [];
let machine;
for (const variant of variants) {
  const kind = variant as TxKind;
  if (kind !== 'prisma' && kind !== 'pg') throw new Error(`unknown pipeline variant ${variant}: use prisma or pg`);
  // A fresh database per variant: each starts from empty tables, like the others.
  const env = await benchEnvironment(`bench_pipeline_${kind}`, true);
  machine ??= env.machine;
  try {
    const databaseUrl = env.database!.url;
    const phases = await runLoad((tracker) => pipelineSubject(env.vhost.url, databaseUrl, kind, tracker));
    scenarios.push({
      key: `pipeline-${kind}${traced ? '-traced' : ''}`,
      title: `full pipeline, ${kind === 'prisma' ? 'Prisma' : 'plain pg'} transactions${traced ? ', traced' : ''}`,
      settings: {
        writers: WRITERS,
        consumerPool: CONSUMER_POOL,
        prefetch: PREFETCH,
        relayBatch: 100,
        transactions: kind,
        tracing: traced,
      },
      phases,
      databaseCheck: await databaseCheck(databaseUrl),
    });
  } finally {
    await env.dispose();
  }
}
printScenarios(`full pipeline: outbox → relay → transport → inbox${traced ? ' (traced)' : ''}`, scenarios);
for (const s of scenarios) console.log(`${s.key}: database check ${JSON.stringify(s.databaseCheck)}`);
const name = traced ? 'full-pipeline-traced' : 'full-pipeline';
console.log(
  `results written to ${writeResults(name, { bench: name, machine: machine!, tracing: traced, results: scenarios })}`,
);
