// Messaging benchmark: events/s and delivery latency for three ways of moving the same event through RabbitMQ.
//
//   baseline   raw amqplib: publish with confirms (pipelined) → consume with manual acks
//   transport  our EventPublisher → SwitchyardServer (decode, validate, upcast, ack); no database
//   pipeline   outbox insert in a Postgres transaction → relay (NOTIFY, confirms) → SwitchyardServer with the
//              inbox: every handler runs in a transaction that records the event and writes one row
//
// Same event (user.created v2, ~190 bytes of JSON), same count, same broker, same run. Latency is consume time minus
// the time the event was created (publish call for the first two, before the outbox transaction for the pipeline).
// Run: `npm run bench` (builds first). Needs the local Postgres and RabbitMQ, like the tests.
// Writes bench/results/messaging-pipeline.json. This is a measurement, not a test: nothing here passes or fails.
import { eventCatalog, toWireMessage, UserCreatedV2 } from '@switchyard/contracts';
import {
  addToOutbox,
  decodeDelivery,
  EventPublisher,
  inboxHandlerRunner,
  OutboxRelay,
  outboxRowToWire,
  RabbitMqConnection,
  runHandlerDirectly,
  SwitchyardServer,
  type SqlTransaction,
  type TransactionRunner,
} from '@switchyard/messaging';
import { createTestDatabase, createTestVhost, pgTransactions } from '@switchyard/testing';
import amqp from 'amqplib';
import { randomUUID } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const EVENTS = Number(process.env.BENCH_EVENTS ?? 3000);
/** Concurrent business transactions writing to the outbox in the pipeline scenario (like concurrent HTTP requests). */
const WRITERS = 8;
const EXCHANGE = 'switchyard.events';
const FIXTURE_SCHEMA = fileURLToPath(new URL('../packages/messaging/test/fixtures/schema.prisma', import.meta.url));

interface Result {
  scenario: string;
  events: number;
  seconds: number;
  eventsPerSecond: number;
  p50Ms: number;
  p99Ms: number;
  maxMs: number;
}

function sampleEvent() {
  const userId = randomUUID();
  return { userId, email: `${userId.slice(0, 8)}@example.com`, name: 'Benchmark User', marketingOptIn: false, locale: 'en', occurredAt: new Date().toISOString() };
}

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? NaN;
}

function summarise(scenario: string, startedAt: number, finishedAt: number, latencies: number[]): Result {
  const sorted = [...latencies].sort((a, b) => a - b);
  const seconds = (finishedAt - startedAt) / 1000;
  return {
    scenario,
    events: latencies.length,
    seconds: Number(seconds.toFixed(3)),
    eventsPerSecond: Math.round(latencies.length / seconds),
    p50Ms: Number(percentile(sorted, 50).toFixed(1)),
    p99Ms: Number(percentile(sorted, 99).toFixed(1)),
    maxMs: Number((sorted.at(-1) ?? NaN).toFixed(1)),
  };
}

function done(count: () => number, total: number): Promise<void> {
  return new Promise((resolve) => {
    const timer = setInterval(() => {
      if (count() >= total) {
        clearInterval(timer);
        resolve();
      }
    }, 5);
  });
}

/** Raw amqplib, as a team would write it by hand: the floor our layers are measured against. */
async function baseline(url: string): Promise<Result> {
  const connection = await amqp.connect(url);
  const publish = await connection.createConfirmChannel();
  const consume = await connection.createChannel();
  await publish.assertExchange(EXCHANGE, 'topic', { durable: true });
  const queue = 'bench.baseline';
  await consume.assertQueue(queue, { durable: true, arguments: { 'x-queue-type': 'quorum' } });
  await consume.bindQueue(queue, EXCHANGE, 'user.created');
  await consume.prefetch(20);
  const latencies: number[] = [];
  let finishedAt = 0;
  await consume.consume(queue, (message) => {
    if (!message) return;
    latencies.push(Date.now() - Number(message.properties.headers?.['x-sent-at']));
    consume.ack(message);
    finishedAt = Date.now();
  });
  const startedAt = Date.now();
  const confirms: Array<Promise<void>> = [];
  for (let i = 0; i < EVENTS; i++) {
    const content = Buffer.from(JSON.stringify(sampleEvent()));
    confirms.push(
      new Promise((resolve, reject) => {
        const ok = publish.publish(EXCHANGE, 'user.created', content, { persistent: true, messageId: randomUUID(), headers: { 'x-sent-at': Date.now() } }, (error) =>
          error ? reject(error) : resolve(),
        );
        void ok;
      }),
    );
  }
  await Promise.all(confirms);
  await done(() => latencies.length, EVENTS);
  await connection.close();
  return summarise('baseline: raw amqplib confirm → consume+ack', startedAt, finishedAt, latencies);
}

/** Our publisher and transport, without a database: the cost of envelopes, validation and the consumer machinery. */
async function transport(url: string): Promise<Result> {
  const connection = new RabbitMqConnection({ url });
  await connection.start();
  const publisher = new EventPublisher({ connection, exchanges: [EXCHANGE] });
  await publisher.start();
  const latencies: number[] = [];
  let finishedAt = 0;
  const server = new SwitchyardServer({ connection, service: 'bench', queue: 'bench.transport', decode: decodeDelivery, runHandler: runHandlerDirectly });
  server.addHandler(
    'user.created',
    async (data: { occurredAt: string }) => {
      latencies.push(Date.now() - Date.parse(data.occurredAt));
      finishedAt = Date.now();
    },
    true,
  );
  await new Promise<void>((resolve) => void server.listen(() => resolve()));
  const startedAt = Date.now();
  const confirms: Array<Promise<void>> = [];
  for (let i = 0; i < EVENTS; i++) {
    const wire = toWireMessage({ eventId: randomUUID(), contract: UserCreatedV2, data: sampleEvent(), source: 'bench' });
    confirms.push(publisher.publish(EXCHANGE, wire.routingKey, wire.content, { ...wire.properties, headers: { ...wire.properties.headers } }));
  }
  await Promise.all(confirms);
  await done(() => latencies.length, EVENTS);
  await server.close();
  await publisher.close();
  await connection.close();
  return summarise('transport: EventPublisher → SwitchyardServer', startedAt, finishedAt, latencies);
}

/** The full path every Switchyard event takes: outbox → relay → transport → inbox + handler write, in one run. */
async function pipeline(url: string, databaseUrl: string): Promise<Result> {
  const transactions = pgTransactions(databaseUrl, WRITERS + 12);
  const run: TransactionRunner = (work) => transactions.run(work);
  const connection = new RabbitMqConnection({ url });
  await connection.start();
  const publisher = new EventPublisher({ connection, exchanges: [EXCHANGE] });
  await publisher.start();
  const relay = new OutboxRelay({
    databaseUrl,
    canPublish: () => publisher.isReady,
    publish: (row) => {
      const wire = outboxRowToWire(row, 'bench');
      return publisher.publish(EXCHANGE, wire.routingKey, wire.content, { ...wire.properties, headers: { ...wire.properties.headers } });
    },
  });
  const latencies: number[] = [];
  let finishedAt = 0;
  const server = new SwitchyardServer({ connection, service: 'bench', queue: 'bench.pipeline', decode: decodeDelivery, runHandler: inboxHandlerRunner(run) });
  server.addHandler(
    'user.created',
    async (data: { userId: string; occurredAt: string }, ctx: { tx: SqlTransaction; eventId: string }) => {
      await ctx.tx.$executeRawUnsafe('INSERT INTO effects (event_id, label) VALUES ($1::uuid, $2)', ctx.eventId, data.userId);
      latencies.push(Date.now() - Date.parse(data.occurredAt));
      finishedAt = Date.now();
    },
    true,
  );
  await new Promise<void>((resolve) => void server.listen(() => resolve()));
  relay.start();
  const startedAt = Date.now();
  let next = 0;
  await Promise.all(
    Array.from({ length: WRITERS }, async () => {
      while (next < EVENTS) {
        next += 1;
        await run((tx) => addToOutbox(tx, eventCatalog.latest('user.created'), sampleEvent()));
      }
    }),
  );
  await done(() => latencies.length, EVENTS);
  await server.close();
  await relay.stop();
  await publisher.close();
  await connection.close();
  await transactions.end();
  return summarise('pipeline: outbox → relay → transport → inbox', startedAt, finishedAt, latencies);
}

const [vhost, db] = await Promise.all([createTestVhost('bench'), createTestDatabase('bench', FIXTURE_SCHEMA)]);
try {
  const results = [await baseline(vhost.url), await transport(vhost.url), await pipeline(vhost.url, db.url)];
  const base = results[0]!;
  console.log(`\nmessaging benchmark: ${EVENTS} events per scenario, node ${process.version}\n`);
  console.table(
    results.map((r) => ({
      scenario: r.scenario,
      'events/s': r.eventsPerSecond,
      'vs baseline': `${((r.eventsPerSecond / base.eventsPerSecond) * 100).toFixed(0)}%`,
      'p50 ms': r.p50Ms,
      'p99 ms': r.p99Ms,
      'max ms': r.maxMs,
    })),
  );
  // BENCH_OUTPUT lets tracing-overhead.bench.ts run this twice without overwriting the committed results.
  const out = process.env.BENCH_OUTPUT ?? fileURLToPath(new URL('./results/messaging-pipeline.json', import.meta.url));
  mkdirSync(fileURLToPath(new URL('./results/', import.meta.url)), { recursive: true });
  writeFileSync(out, `${JSON.stringify({ measuredAt: new Date().toISOString(), node: process.version, events: EVENTS, results }, null, 2)}\n`);
  console.log(`results written to ${out}`);
} finally {
  await Promise.all([vhost.drop(), db.drop()]);
}
