/**
 * The platform's RabbitMQ users and what each may touch (issue 13, item 5): one identity per service, one for the
 * topology operator and one for the DLQ tooling, none with the `administrator` tag. Pure data: `npm start`, the
 * tests (`createTestVhost`) and the README's table use it, and the RabbitMQ chart mirrors it.
 *
 * RabbitMQ matches each pattern against the whole resource name with an unanchored regex, so every pattern is
 * anchored. What each identity needs, from the code that uses it:
 * - A service declares `switchyard.events` and its own queues (`<service>.*`: work queue, retry tiers, DLQ, the
 *   queue-depth sampler's exclusive queue), binds them (write on the queue, read on the exchange), publishes events
 *   to the exchange, and publishes retry and dead-letter copies through the default exchange (`amq.default`). The
 *   broker also asks for write on `amq.default` when a queue is declared with `x-dead-letter-exchange: ''`, as every
 *   work queue and retry tier is. Write on `amq.default` lets a user publish into any queue of the vhost by name;
 *   the README ("Broker identities") says why the user-id checks keep that harmless.
 * - The operator declares, binds, unbinds, inspects and deletes the services' queues and declares the exchange; it
 *   publishes nothing (topic write `^$`).
 * - The DLQ tooling reads (basic.get) the services' queues and republishes to the exchange under the original
 *   producer's identity (`impersonator` tag: it may set another user's `user-id`; it configures nothing).
 */

/** Exchange every event goes through. */
export const EVENTS_EXCHANGE = 'switchyard.events';

/** The services with their broker identity (= the event catalog's producer name) and the event types they publish. */
export const SERVICE_IDENTITIES: Readonly<Record<string, { publishes: string }>> = Object.freeze({
  'user-service': { publishes: 'user' },
  'order-service': { publishes: 'order' },
});
export const OPERATOR_IDENTITY = 'switchyard-operator';
export const DLQ_IDENTITY = 'switchyard-dlq';

/** Every identity, services first. */
export const BROKER_IDENTITIES: readonly string[] = Object.freeze([
  ...Object.keys(SERVICE_IDENTITIES),
  OPERATOR_IDENTITY,
  DLQ_IDENTITY,
]);

export interface BrokerIdentityPermissions {
  user: string;
  /** User tags; never `administrator`. */
  tags: string[];
  /** Vhost permissions: regexes over queue and exchange names. */
  configure: string;
  write: string;
  read: string;
  /** Topic permissions on the events exchange: regexes over routing keys (write: publish; read: bind). */
  topic: { exchange: string; write: string; read: string };
}

/** The permissions of every identity on a vhost whose events exchange is `exchange`. */
export function brokerPermissions(exchange: string = EVENTS_EXCHANGE): BrokerIdentityPermissions[] {
  const events = escapeRegex(exchange);
  const services = Object.keys(SERVICE_IDENTITIES);
  const anyServiceQueue = `(${services.map(escapeRegex).join('|')})\\..*`;
  const perService = services.map((user): BrokerIdentityPermissions => {
    const own = `${escapeRegex(user)}\\..*`;
    return {
      user,
      tags: [],
      configure: `^(${own}|${events})$`,
      write: `^(${own}|${events}|amq\\.default)$`,
      read: `^(${own}|${events})$`,
      topic: { exchange, write: `^${escapeRegex(SERVICE_IDENTITIES[user]!.publishes)}\\.`, read: '.*' },
    };
  });
  return [
    ...perService,
    {
      user: OPERATOR_IDENTITY,
      tags: [],
      configure: `^(${anyServiceQueue}|${events})$`,
      write: `^(${anyServiceQueue}|amq\\.default)$`,
      read: `^(${anyServiceQueue}|${events})$`,
      topic: { exchange, write: '^$', read: '.*' },
    },
    {
      user: DLQ_IDENTITY,
      tags: ['impersonator'],
      configure: '^$',
      write: `^${events}$`,
      read: `^${anyServiceQueue}$`,
      topic: { exchange, write: '.*', read: '^$' },
    },
  ];
}

function escapeRegex(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}
