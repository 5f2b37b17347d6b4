// Peer baseline: NestJS's built-in RabbitMQ transport, configured durably: ClientRMQ.emit() (persistent messages,
// publisher confirms through amqp-connection-manager's confirm channel) → durable quorum queue → ServerRMQ with
// noAck false, the handler acking manually, the same prefetch as our transport. Emits are pipelined in the same
// window as the raw baseline. Handlers are registered on the transport directly (as our transport's bench does),
// so Nest's application layer is left out of both. Writes results/nest-rmq.json.
import { Logger } from '@nestjs/common';
import { ClientRMQ, type RmqContext, type RmqOptions, ServerRMQ } from '@nestjs/microservices';
import { lastValueFrom } from 'rxjs';
import { type BenchEventData, benchEventData } from './lib/bench-event.js';
import { benchEnvironment } from './lib/bench-environment.js';
import { printScenarios, type ScenarioResult, writeResults } from './lib/bench-results.js';
import type { DeliveryTracker } from './lib/delivery-tracker.js';
import { InFlightWindow } from './lib/in-flight-window.js';
import { type BenchSubject, runLoad } from './lib/load-driver.js';

const PREFETCH = 20;
const WINDOW = 256;
const PATTERN = 'user.created';

async function nestSubject(url: string, queue: string, tracker: DeliveryTracker): Promise<BenchSubject> {
  const options: RmqOptions['options'] = {
    urls: [url],
    queue,
    queueOptions: { durable: true, arguments: { 'x-queue-type': 'quorum' } },
    persistent: true,
    noAck: false,
    prefetchCount: PREFETCH,
    // The same TCP_NODELAY our transport and the raw baseline use: a comparison of transports, not of socket settings.
    socketOptions: { connectionOptions: { noDelay: true } },
  };
  const server = new ServerRMQ(options);
  server.addHandler(
    PATTERN,
    async (data: BenchEventData, context: RmqContext) => {
      tracker.delivered(data.userId);
      (context.getChannelRef() as { ack(message: unknown): void }).ack(context.getMessage());
    },
    true,
  );
  await new Promise<void>(
    (resolve, reject) =>
      void server.listen((error?: unknown) =>
        error ? reject(error instanceof Error ? error : new Error(String(error))) : resolve(),
      ),
  );
  // The client consumes only direct reply-to (for send(), unused here), which RabbitMQ allows in no-ack mode only.
  const client = new ClientRMQ({
    urls: options.urls,
    queue,
    queueOptions: options.queueOptions,
    persistent: true,
    socketOptions: options.socketOptions,
  });
  await client.connect();
  const window = new InFlightWindow(WINDOW);
  return {
    // emit() resolves once amqp-connection-manager has the broker's confirm.
    send: (id) =>
      window.admit(() => lastValueFrom(client.emit(PATTERN, benchEventData(id)), { defaultValue: undefined })),
    flush: () => window.flush(),
    close: async () => {
      await client.close();
      await server.close();
    },
  };
}

// Nest's connect/disconnect log lines would interleave with the table; errors still print.
Logger.overrideLogger(['error']);
const env = await benchEnvironment('bench_nest', false);
try {
  const phases = await runLoad((tracker) => nestSubject(env.vhost.url, 'bench.nest-rmq', tracker));
  const scenarios: ScenarioResult[] = [
    {
      key: 'nest-rmq',
      title: "NestJS's built-in Transport.RMQ (ClientRMQ.emit → @EventPattern)",
      settings: {
        queueType: 'quorum',
        persistent: true,
        confirms: true,
        noAck: false,
        prefetch: PREFETCH,
        window: WINDOW,
      },
      phases,
    },
  ];
  printScenarios("NestJS's built-in RMQ transport", scenarios);
  console.log(
    `results written to ${writeResults('nest-rmq', { bench: 'nest-rmq', machine: env.machine, tracing: false, results: scenarios })}`,
  );
} finally {
  await env.dispose();
}
