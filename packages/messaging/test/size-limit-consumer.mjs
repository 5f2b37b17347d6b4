// A consumer alone in its process, so that the size-limit spec measures the memory of a consumer and nothing else
// (a Jest worker carries every earlier suite's heap). Runs the build (dist/), as the services' e2e tests do.
// Lines on stdout, one JSON object each; closing stdin stops it after it reports its peak RSS.
import { RabbitMqConnection } from '../dist/connection/rabbitmq-connection.js';
import { SwitchyardServer } from '../dist/consumer/switchyard-server.js';

const { AMQP_URL: url, EXCHANGE: exchange, QUEUE: queue } = process.env;
const say = (line) => process.stdout.write(`${JSON.stringify(line)}\n`);
let peakRss = process.memoryUsage().rss;
const sampler = setInterval(() => {
  peakRss = Math.max(peakRss, process.memoryUsage().rss);
}, 5);

const connection = new RabbitMqConnection({ url, connectionName: 'size-limit-consumer' });
const server = new SwitchyardServer({
  connection,
  service: 'size-spec',
  queue,
  exchange,
  retryDelaysMs: [],
  decode: (message) => {
    say({ decoded: message.content.length });
    const data = JSON.parse(message.content.toString('utf8'));
    return { eventId: message.properties.messageId, type: message.properties.type, version: 1, data };
  },
  observer: { deadLettered: (event) => say({ deadLettered: event.reason }) },
});
server.addHandler('thing.happened', async (data) => say({ handled: data.n }), true);
await new Promise((resolve, reject) => void server.listen((error) => (error ? reject(error) : resolve())));
say({ ready: true });

process.stdin.resume();
process.stdin.on('end', async () => {
  clearInterval(sampler);
  say({ peakRss, consuming: server.isConsuming });
  await server.close();
  await connection.close();
  process.exit(0);
});
