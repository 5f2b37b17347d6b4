// Physical baseline: plain amqplib, persistent messages on a durable quorum queue, publisher confirms, manual
// acks. Three ways to wait for confirms, as a team would write them by hand:
//   wait    publish one message, wait for its confirm, publish the next
//   batch   publish up to BATCH messages, then waitForConfirms()
//   window  keep up to WINDOW unconfirmed messages in flight (each confirm frees a slot)
// Each: closed-loop peak, then paced runs at 25/50/90% of it (lib/load-driver.ts). Writes results/raw-amqplib.json.
// Run through `npm run bench` (builds first), or alone: `node bench/raw-amqplib.bench.ts` after a build.
import amqp, { type ConfirmChannel } from 'amqplib';
import { benchEventData } from './lib/bench-event.js';
import { benchEnvironment } from './lib/bench-environment.js';
import { printScenarios, type ScenarioResult, writeResults } from './lib/bench-results.js';
import type { DeliveryTracker } from './lib/delivery-tracker.js';
import { InFlightWindow } from './lib/in-flight-window.js';
import { type BenchSubject, runLoad } from './lib/load-driver.js';

/** Same exchange, routing key, queue type and prefetch as our transport uses, so only the code differs. */
const EXCHANGE = 'switchyard.events';
const ROUTING_KEY = 'user.created';
export const PREFETCH = 20;
const BATCH = 100;
export const WINDOW = 256;
/**
 * TCP_NODELAY on the client socket. amqplib leaves Nagle's algorithm on by default, which holds a small frame
 * (a lone publish, an ack) until the previous segment is acknowledged: with delayed ACKs that is up to 40 ms per
 * round trip. The baseline turns it off, as the fastest hand-written client would; `BENCH_RAW_NODELAY=0` shows the default.
 */
const NO_DELAY = process.env.BENCH_RAW_NODELAY !== '0';

type Mode = 'wait' | 'batch' | 'window';

function publishWithConfirm(channel: ConfirmChannel, id: string): Promise<void> {
  return new Promise((resolve, reject) => {
    channel.publish(
      EXCHANGE,
      ROUTING_KEY,
      Buffer.from(JSON.stringify(benchEventData(id))),
      { persistent: true, messageId: id, contentType: 'application/json' },
      (error) => (error ? reject(error instanceof Error ? error : new Error(String(error))) : resolve()),
    );
  });
}

async function rawSubject(url: string, queue: string, mode: Mode, tracker: DeliveryTracker): Promise<BenchSubject> {
  const connection = await amqp.connect(url, { noDelay: NO_DELAY });
  const publish = await connection.createConfirmChannel();
  const consume = await connection.createChannel();
  await consume.assertExchange(EXCHANGE, 'topic', { durable: true });
  await consume.assertQueue(queue, { durable: true, arguments: { 'x-queue-type': 'quorum' } });
  await consume.bindQueue(queue, EXCHANGE, ROUTING_KEY);
  await consume.prefetch(PREFETCH);
  await consume.consume(queue, (message) => {
    if (!message) return;
    tracker.delivered(String(message.properties.messageId));
    consume.ack(message);
  });
  // Channels first: closing the connection outright can drop acks still on their way into the quorum queue,
  // and the next phase would then receive those messages again.
  const close = async (): Promise<void> => {
    await consume.close();
    await publish.close();
    await connection.close();
  };

  if (mode === 'wait') {
    return { send: (id) => publishWithConfirm(publish, id), flush: async () => undefined, close };
  }
  if (mode === 'batch') {
    let batch: string[] = [];
    const publishBatch = async (): Promise<void> => {
      if (batch.length === 0) return;
      const ids = batch;
      batch = [];
      for (const id of ids) {
        publish.publish(EXCHANGE, ROUTING_KEY, Buffer.from(JSON.stringify(benchEventData(id))), {
          persistent: true,
          messageId: id,
          contentType: 'application/json',
        });
      }
      await publish.waitForConfirms();
    };
    return {
      send: async (id) => {
        batch.push(id);
        if (batch.length >= BATCH) await publishBatch();
      },
      idle: publishBatch,
      flush: publishBatch,
      close,
    };
  }
  const window = new InFlightWindow(WINDOW);
  return { send: (id) => window.admit(() => publishWithConfirm(publish, id)), flush: () => window.flush(), close };
}

const env = await benchEnvironment('bench_raw', false);
try {
  const scenarios: ScenarioResult[] = [];
  for (const mode of (process.env.BENCH_RAW_MODES?.split(',') ?? ['wait', 'batch', 'window']) as Mode[]) {
    const settings = {
      queueType: 'quorum',
      persistent: true,
      confirms: true,
      prefetch: PREFETCH,
      noDelay: NO_DELAY,
      ...(mode === 'batch' ? { batch: BATCH } : {}),
      ...(mode === 'window' ? { window: WINDOW } : {}),
    };
    const phases = await runLoad((tracker) => rawSubject(env.vhost.url, `bench.raw-${mode}`, mode, tracker));
    scenarios.push({ key: `raw-${mode}`, title: `raw amqplib, confirms: ${mode}`, settings, phases });
  }
  printScenarios('raw amqplib: persistent publish with confirms → consume and ack', scenarios);
  console.log(
    `results written to ${writeResults('raw-amqplib', { bench: 'raw-amqplib', machine: env.machine, tracing: false, results: scenarios })}`,
  );
} finally {
  await env.dispose();
}
