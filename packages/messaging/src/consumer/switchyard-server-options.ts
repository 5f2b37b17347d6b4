import type { RabbitMqConnection } from '../connection/rabbitmq-connection.js';
import type { MessagingLogger } from '../observability/messaging-logger.js';
import type { MessagingObserver } from '../observability/messaging-observer.js';
import type { ConsumerPolicy } from '../topology/consumer-policy.js';
import type { DeadLetterSettings } from '../topology/topology-plan.js';
import type { ConsumerSettings } from './consumer-settings.js';
import type { EventDecoder, HandlerRunner } from './event-context.js';
import type { ProducerOf } from './producer-authentication.js';

/** Transport id of `SwitchyardServer`: `@EventPattern('x', SWITCHYARD_TRANSPORT)` pins a handler to it in hybrid apps. */
export const SWITCHYARD_TRANSPORT: unique symbol = Symbol.for('switchyard.transport');

/** Default bound on waiting for in-flight handlers at shutdown: 5 s, inside Kubernetes' 30 s grace period and the services' 9 s budget. */
export const DEFAULT_SHUTDOWN_TIMEOUT_MS = 5_000;

/**
 * Default wait of `listen` for the consuming connection's first connect: 2 s. With the broker up, the consumer is
 * then set up by the time the app starts (Nest starts transports before the HTTP listener), even though it consumes
 * on a connection of its own; with the broker down the app goes on after 2 s and consumes once connected.
 */
export const DEFAULT_FIRST_CONNECT_WAIT_MS = 2_000;

export interface SwitchyardServerOptions {
  /** The connection to consume on (and declare the topology through). */
  connection: RabbitMqConnection;
  /**
   * Where retry and dead-letter copies are published; default `connection`. Give the process's publishing
   * connection here so that the consuming one never publishes: RabbitMQ blocks a connection that publishes during
   * a memory or disk alarm, acks included, while a consume-only connection keeps acking (which drains the queues
   * that caused the alarm). A failed delivery's copy then simply waits for the alarm to clear.
   */
  publishConnection?: RabbitMqConnection;
  /** This service's name, recorded on dead letters (`x-consumer-service`). */
  service: string;
  /** The work queue, `<service>.<purpose>`, e.g. `order-service.user-events`. */
  queue: string;
  /** Default `switchyard.events`. */
  exchange?: string;
  prefetch?: number;
  /** Backoff tiers; a message gets `retryDelaysMs.length + 1` attempts, then the DLQ. Default 1 s, 5 s, 30 s, 2 min, 10 min. */
  retryDelaysMs?: readonly number[];
  /** Broker-side redelivery limit of the work queue; default `DEFAULT_DELIVERY_LIMIT` (20). */
  deliveryLimit?: number;
  /** `queue` defaults to `<queue>.dlq`. */
  deadLetter?: DeadLetterSettings;
  /**
   * The live consumer policy (the topology operator's mounted ConfigMap). While it holds a policy, the policy's
   * event types, retry tiers, DLQ, prefetch and pause replace the options above; without one, they apply. The
   * server starts and stops the feed.
   */
  policySource?: ConsumerPolicyFeed;
  decode: EventDecoder;
  /**
   * Producer authentication: the broker identity allowed to publish each event type (the event catalog's producer).
   * When given, a decoded event whose validated `user-id` is another, or missing, is dead-lettered as
   * `forged_producer`, except this consumer's own retry copies (under its connection's user). The services' wiring
   * (`MessagingModule`) always gives the catalog's; without it, producers are not checked.
   */
  producerOf?: ProducerOf;
  /** Largest body handed to `decode`; a larger one is dead-lettered as `message_too_large` unparsed. Default `DEFAULT_MAX_MESSAGE_BYTES` (1 MiB). */
  maxMessageBytes?: number;
  runHandler?: HandlerRunner;
  observer?: MessagingObserver;
  logger?: MessagingLogger;
  shutdownTimeoutMs?: number;
  /** Confirm timeout for retry and dead-letter copies; default `DEFAULT_CONFIRM_TIMEOUT_MS`. */
  confirmTimeoutMs?: number;
  /** How long `listen` waits for the first connection; default `DEFAULT_FIRST_CONNECT_WAIT_MS`. */
  firstConnectWaitMs?: number;
}

/** What the server needs from a policy source (`ConsumerPolicySource` is one). */
export interface ConsumerPolicyFeed {
  current(): { policy: ConsumerPolicy | undefined };
  /** Calls back with every later change; returns the unsubscribe. */
  subscribe(listener: (policy: ConsumerPolicy | undefined) => void): () => void;
  start(): void;
  stop(): Promise<void>;
  /** Told when the server could not put `policy` in force (so the source can report it next to the policy); optional. */
  rejected?(policy: ConsumerPolicy | undefined, error: Error): void;
}

export type SwitchyardServerStatus = 'connected' | 'disconnected';

export type SwitchyardServerEvents = {
  /** The consumer could not be set up again after a reconnect or a channel loss (it keeps trying). */
  error: (error: Error) => void;
  /** New settings are in force (at start and after every applied policy change). */
  settings: (settings: ConsumerSettings) => void;
  /**
   * A consumer policy could not be applied (e.g. its topology conflicts with the broker's): the previous settings
   * stay, or, for the policy being declared at a (re)connect, the code defaults take over.
   */
  policyRejected: (error: Error) => void;
};
