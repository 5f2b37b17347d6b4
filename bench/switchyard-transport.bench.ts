// Our transport without the outbox: EventPublisher (persistent, mandatory, confirms, pipelined window) →
// RabbitMQ quorum queue → SwitchyardServer (decode, validate, upcast, run the handler, ack). No database.
// Run twice: as the library connects today, and with TCP_NODELAY forced on its socket (lib/amqp-socket-options.ts),
// the change this benchmark argues for. Writes results/switchyard-transport.json.
import { UserCreatedV2, toWireMessage } from '@switchyard/contracts';
import { DEFAULT_PREFETCH } from '@switchyard/messaging/topology';
// Internal modules of the built package, by path rather than through a wider public API (npm run bench builds first).
import { RabbitMqConnection } from '../packages/messaging/dist/connection/rabbitmq-connection.js';
import { runHandlerDirectly } from '../packages/messaging/dist/consumer/event-context.js';
import { SwitchyardServer } from '../packages/messaging/dist/consumer/switchyard-server.js';
import { decodeDelivery } from '../packages/messaging/dist/publishing/event-codec.js';
import { EventPublisher } from '../packages/messaging/dist/publishing/event-publisher.js';
import { type BenchEventData, benchEventData } from './lib/bench-event.js';
import { benchEnvironment } from './lib/bench-environment.js';
import { printScenarios, type ScenarioResult, writeResults } from './lib/bench-results.js';
import type { DeliveryTracker } from './lib/delivery-tracker.js';
import { InFlightWindow } from './lib/in-flight-window.js';
import { type BenchSubject, runLoad } from './lib/load-driver.js';

const EXCHANGE = 'switchyard.events';
/** Same window as the raw amqplib baseline's pipelined mode. */
const WINDOW = 256;

async function transportSubject(url: string, queue: string, tracker: DeliveryTracker): Promise<BenchSubject> {
  // Two connections, as MessagingRuntime wires a service: one publishes, the other only consumes (and acks).
  const connection = new RabbitMqConnection({ url, connectionName: 'bench' });
  const consumerConnection = new RabbitMqConnection({ url, connectionName: 'bench-consumer' });
  await Promise.all([connection.start(), consumerConnection.start()]);
  const publisher = new EventPublisher({ connection, exchanges: [EXCHANGE] });
  await publisher.start();
  const server = new SwitchyardServer({
    connection: consumerConnection,
    publishConnection: connection,
    service: 'bench',
    queue,
    decode: decodeDelivery,
    runHandler: runHandlerDirectly,
  });
  server.addHandler('user.created', async (data: BenchEventData) => tracker.delivered(data.userId), true);
  await new Promise<void>(
    (resolve, reject) =>
      void server.listen((error?: unknown) =>
        error ? reject(error instanceof Error ? error : new Error(String(error))) : resolve(),
      ),
  );
  const window = new InFlightWindow(WINDOW);
  return {
    send: (id) =>
      window.admit(() => {
        const wire = toWireMessage({ eventId: id, contract: UserCreatedV2, data: benchEventData(id), source: 'bench' });
        return publisher.publish(EXCHANGE, wire.routingKey, wire.content, {
          ...wire.properties,
          headers: { ...wire.properties.headers },
        });
      }),
    flush: () => window.flush(),
    close: async () => {
      await server.close();
      await publisher.close();
      await Promise.all([connection.close(), consumerConnection.close()]);
    },
  };
}

const env = await benchEnvironment('bench_transport', false);
try {
  const scenarios: ScenarioResult[] = [];
  const phases = await runLoad((tracker) => transportSubject(env.vhost.url, 'bench.transport', tracker));
  scenarios.push({
    key: 'transport',
    title: 'our transport (EventPublisher → SwitchyardServer)',
    settings: {
      queueType: 'quorum',
      persistent: true,
      mandatory: true,
      confirms: true,
      prefetch: DEFAULT_PREFETCH,
      window: WINDOW,
      noDelay: true,
    },
    phases,
  });
  printScenarios('our transport without outbox: EventPublisher → SwitchyardServer', scenarios);
  console.log(
    `results written to ${writeResults('switchyard-transport', { bench: 'switchyard-transport', machine: env.machine, tracing: false, results: scenarios })}`,
  );
} finally {
  await env.dispose();
}
