import { type CustomTransportStrategy, type MessageHandler, Server } from '@nestjs/microservices';
import type { Channel, ChannelModel, ConsumeMessage } from 'amqplib';
import { EventEmitter } from 'node:events';
import { isObservable, lastValueFrom } from 'rxjs';
import { CLOSE_TIMEOUT_MS, settledWithin } from '../connection/bounded-wait.js';
import { type ConsumerPolicy, InvalidConsumerPolicyError, topologyInputOf } from '../topology/consumer-policy.js';
import { declareTopology } from '../topology/declare-topology.js';
import {
  type DecodedEvent,
  type DeliveryContext,
  type EventContext,
  type EventDecoder,
  type HandlerOutcome,
  type HandlerRunner,
  type IncomingMessage,
  runHandlerDirectly,
} from './event-context.js';
import { EventPublisher } from '../publishing/event-publisher.js';
import { describeFailure, type FailureDescription, FailureRouter, rejectionReason } from './failure-routing.js';
import { HEADERS, positiveIntHeader, stringHeader } from '../message-headers.js';
import {
  type BrokerEndpoint,
  type DeliveryTarget,
  markDeliveryFailed,
  traceDelivery,
  traceSettle,
} from '../observability/message-tracing.js';
import { TopologyConflictError } from '../messaging-errors.js';
import { errorFields, type MessagingLogger, silentLogger } from '../observability/messaging-logger.js';
import { type ConsumeOutcome, type MessagingObserver, noopObserver, notify } from '../observability/messaging-observer.js';
import type { RabbitMqConnection } from '../connection/rabbitmq-connection.js';
import {
  type DeadLetterSettings,
  deadLetterQueueName,
  DEFAULT_EXCHANGE,
  DEFAULT_RETRY_DELAYS_MS,
  planConsumerTopology,
  type TopologyPlan,
} from '../topology/topology-plan.js';

/** Transport id of `SwitchyardServer`: `@EventPattern('x', SWITCHYARD_TRANSPORT)` pins a handler to it in hybrid apps. */
export const SWITCHYARD_TRANSPORT: unique symbol = Symbol.for('switchyard.transport');

/**
 * Default prefetch: 20 unacked deliveries, which is also how many handlers run at once. Handlers spend their time
 * in database round trips inside one transaction each, so a few dozen in flight keep the consumer busy across
 * broker and database latency, while staying near the size of a service's connection pool (more would only queue
 * for connections and time out) and bounding how many messages a crash sends back for redelivery.
 */
export const DEFAULT_PREFETCH = 20;

/** Default bound on waiting for in-flight handlers at shutdown: 5 s, inside Kubernetes' 30 s grace period and the services' 9 s budget. */
export const DEFAULT_SHUTDOWN_TIMEOUT_MS = 5_000;

/** Pause before handing a message back after its retry/DLQ copy could not be published, so a broken route cannot spin. */
export const REQUEUE_DELAY_MS = 1_000;

/** Pause before consuming again when the broker cancelled the consumer or closed its channel on a live connection. */
export const RESUBSCRIBE_DELAY_MS = 1_000;

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

/** The settings the consumer runs with now: from the policy file, or the code defaults. */
export interface ConsumerSettings {
  queue: string;
  exchange: string;
  /** Event types the queue is bound to. */
  eventTypes: readonly string[];
  retryDelaysMs: readonly number[];
  deadLetterQueue: string;
  prefetch: number;
  /** Deliberately not consuming: the service stays ready, messages wait in the queue. */
  paused: boolean;
  /** Where they come from: the EventSubscription and generation of the policy, or undefined for the code defaults. */
  policy: { source: string; generation: number } | undefined;
  plan: TopologyPlan;
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

/** The consume channel of one connection; `alive` turns false for good when it closes. */
interface Consumer {
  channel: Channel;
  model: ChannelModel;
  /** Set while a consumer runs on the channel (from consume-ok until cancel-ok); paused channels have none. */
  consumerTag: string | undefined;
  /** The prefetch the running consumer was started with (basic.qos binds consumers started after it). */
  prefetch: number | undefined;
  alive: boolean;
}

/** A policy waiting to be applied: `{ policy: undefined }` means "back to the code defaults". */
interface PendingPolicy {
  policy: ConsumerPolicy | undefined;
}

/**
 * NestJS transport that consumes one quorum queue of versioned events. Handlers are the controller methods
 * decorated with `@EventPattern('<event type>')`; without a consumer policy the queue is bound to exactly those
 * types, with one the policy's types are bound. Per delivery: decode → find the handler → run it through the
 * `HandlerRunner` (inbox transaction) → ack. Failures go through the retry tiers and end in the DLQ
 * (`FailureRouter`); the original is acked only after its copy is confirmed. Manual acks only, always on the
 * channel the delivery came from and only while that channel lives.
 *
 * Reconnects: listening registers a setup with the connection that declares the topology, opens a channel, sets
 * prefetch and consumes; the connection runs it again on every new connection. Deliveries in flight on a lost
 * channel are not acked (the broker redelivers them; the inbox dedupes).
 *
 * Live policy: setting up, applying a policy and cancelling at shutdown run one at a time (`exclusive`), so a
 * policy change never interleaves with a reconnect's setup or with `close()`. A new policy's topology is declared
 * before the router may send anything to its tiers or DLQ; a prefetch change cancels and, once the deliveries in
 * flight have settled (bounded), consumes again on the same channel (so they stay ackable, and no more handlers
 * run than a prefetch allows); pause cancels the consumer and leaves the channel open. A policy that cannot be
 * declared because the connection is down waits for the next connect; one the broker refuses is rejected (at a
 * connect's setup, the code defaults take its place).
 */
export class SwitchyardServer
  extends Server<SwitchyardServerEvents, SwitchyardServerStatus>
  implements CustomTransportStrategy
{
  override transportId = SWITCHYARD_TRANSPORT;

  private readonly emitter = new EventEmitter();
  private readonly publisher: EventPublisher;
  private readonly router: FailureRouter;
  private readonly runHandler: HandlerRunner;
  private readonly observer: MessagingObserver;
  private readonly log: MessagingLogger;
  /** In force once started. */
  private settings: ConsumerSettings | undefined;
  /** The policy `settings` come from (undefined: the code defaults). */
  private policy: ConsumerPolicy | undefined;
  /** Handler event types, fixed at start. */
  private handlerTypes: readonly string[] = [];
  private pending: PendingPolicy | undefined;
  private consumer: Consumer | undefined;
  private unregister: (() => void) | undefined;
  private unsubscribePolicy: (() => void) | undefined;
  private readonly inFlight = new Set<Promise<void>>();
  /** Tail of the setup / policy / shutdown steps, which run one at a time. */
  private lock: Promise<void> = Promise.resolve();
  private started = false;
  private stopping = false;
  /** Set once the in-flight wait is over: later deliveries are left unacked for the broker to requeue. */
  private stopped = false;
  private closing: Promise<void> | undefined;
  private resubscribeTimer: NodeJS.Timeout | undefined;
  /** Wake-ups of waits for in-flight deliveries, called when `close()` starts or a channel closes. */
  private readonly inFlightWaiters = new Set<() => void>();

  constructor(private readonly options: SwitchyardServerOptions) {
    super();
    this.runHandler = options.runHandler ?? runHandlerDirectly;
    this.observer = options.observer ?? noopObserver;
    this.log = options.logger ?? silentLogger;
    this.publisher = new EventPublisher({
      connection: options.publishConnection ?? options.connection,
      confirmTimeoutMs: options.confirmTimeoutMs,
      logger: this.log,
    });
    this.router = new FailureRouter({
      publisher: this.publisher,
      service: options.service,
      queue: options.queue,
      retryDelaysMs: options.retryDelaysMs ?? DEFAULT_RETRY_DELAYS_MS,
      deadLetterQueue: options.deadLetter?.queue,
      observer: this.observer,
    });
    // Emitted errors are also logged; without a listener EventEmitter would throw them.
    this.emitter.on('error', () => undefined);
    this.emitter.on('policyRejected', () => undefined);
  }

  /**
   * Nest calls this once the handlers are registered. If the connection is up, declares and consumes now and
   * reports a bad setup (e.g. a topology conflict) through `callback`; if not, returns at once and consumes as
   * soon as the connection is made (watch `isConsuming` / the connection's `isReady`).
   */
  async listen(callback: (...optionalParams: unknown[]) => unknown): Promise<void> {
    try {
      await this.start();
    } catch (error) {
      callback(error);
      return;
    }
    callback();
  }

  /** Stop receiving, let in-flight handlers finish (bounded), then close the channels; unacked messages return to the queue. */
  close(): Promise<void> {
    this.closing ??= this.stop();
    return this.closing;
  }

  on<
    EventKey extends keyof SwitchyardServerEvents = keyof SwitchyardServerEvents,
    EventCallback extends SwitchyardServerEvents[EventKey] = SwitchyardServerEvents[EventKey],
  >(event: EventKey, callback: EventCallback): this {
    this.emitter.on(event, callback as (...args: unknown[]) => void);
    return this;
  }

  /** The `RabbitMqConnection` this server consumes on. */
  unwrap<T>(): T {
    return this.options.connection as T;
  }

  /** Consuming on a live channel (for readiness); false while paused and from the moment `close()` has cancelled the consumer. */
  get isConsuming(): boolean {
    const consumer = this.consumer;
    return !this.stopped && consumer !== undefined && consumer.alive && consumer.consumerTag !== undefined;
  }

  /** Paused by the consumer policy: not consuming on purpose, which is healthy. */
  get isPaused(): boolean {
    return this.settings?.paused ?? false;
  }

  /** The settings in force; undefined before `listen`. */
  currentSettings(): ConsumerSettings | undefined {
    return this.settings;
  }

  /** The event types of the registered `@EventPattern` handlers. */
  eventTypes(): string[] {
    const types: string[] = [];
    for (const [pattern, handler] of this.messageHandlers) {
      if (!handler.isEventHandler) {
        throw new TypeError(
          `SwitchyardServer handles events only: '${pattern}' is a @MessagePattern (request/response); use @EventPattern`,
        );
      }
      if (pattern.startsWith('{') || pattern.startsWith('['))
        throw new TypeError(`SwitchyardServer needs string event types as patterns, got ${pattern}`);
      types.push(pattern);
    }
    return types.sort();
  }

  /**
   * Applies a consumer policy (undefined: back to the code defaults) without a restart. Resolves once it is in
   * force, or, while the connection is down, once it is recorded for the next connect. Rejects, keeping the
   * previous settings, when the policy is not for this queue, plans no valid topology or conflicts with what is on
   * the broker (`TopologyConflictError`).
   */
  applyPolicy(policy: ConsumerPolicy | undefined): Promise<void> {
    return this.exclusive(async () => {
      if (this.stopping) return;
      // Refused now, even while disconnected, when it cannot fit this consumer at all.
      if (this.started) this.settingsFor(policy);
      this.pending = { policy };
      if (!this.started) return;
      const model = this.options.connection.current();
      // No connection: the next connect's setup applies it first thing.
      if (!model) return;
      try {
        await this.applyPending(model);
      } catch (error) {
        // Lost the connection while declaring: still pending, the reconnect's setup applies it.
        if (this.pending !== undefined && this.pending.policy === policy && this.options.connection.current() !== model)
          return;
        throw error;
      }
      await this.reconcileConsumer();
    });
  }

  private async start(): Promise<void> {
    if (this.stopping) throw new Error('SwitchyardServer was closed; create a new one');
    const { options } = this;
    const prefetch = options.prefetch ?? DEFAULT_PREFETCH;
    if (!Number.isSafeInteger(prefetch) || prefetch < 1) throw new TypeError('prefetch must be a positive integer');
    this.handlerTypes = this.eventTypes();
    const source = options.policySource;
    if (source) {
      this.pending ??= { policy: source.current().policy };
      this.unsubscribePolicy = source.subscribe((policy) => {
        this.applyPolicy(policy).catch((error: unknown) => this.rejectPolicy(error, policy, 'previous'));
      });
      source.start();
    }
    // The first settings need no broker: the setup below declares them. A policy that cannot even be planned falls back to the defaults.
    let first = this.settingsFor(undefined);
    let firstPolicy: ConsumerPolicy | undefined;
    if (this.pending) {
      try {
        first = this.settingsFor(this.pending.policy);
        firstPolicy = this.pending.policy;
      } catch (error) {
        this.rejectPolicy(error, this.pending.policy, 'defaults');
      }
      this.pending = undefined;
    }
    this.adopt(first, firstPolicy);
    this.started = true;
    // Waited for only briefly (below): with the broker down the app still starts (live, not ready) and consumes once connected.
    const connected = options.connection.start();
    connected.catch(() => undefined);
    if (options.publishConnection && options.publishConnection !== options.connection)
      options.publishConnection.start().catch(() => undefined);
    // The publisher registers first, so on every reconnect its channel is back before deliveries can fail.
    try {
      await this.publisher.start();
      // Registered before the connection's first setup round ends, or run right away when it already has: either way
      // the first connect includes this consumer, and a broken setup (say a topology conflict) fails listen.
      this.unregister = await options.connection.onConnected((model) => this.exclusive(() => this.setUp(model)));
      await settledWithin(connected, options.firstConnectWaitMs ?? DEFAULT_FIRST_CONNECT_WAIT_MS);
    } catch (error) {
      await this.publisher.close();
      throw error;
    }
    this.log.info(
      { queue: options.queue, eventTypes: this.settings?.eventTypes, paused: this.settings?.paused },
      'consuming events',
    );
  }

  /** Settings for `policy`, or for the code defaults; throws when the policy does not fit this consumer. */
  private settingsFor(policy: ConsumerPolicy | undefined): ConsumerSettings {
    const { options } = this;
    if (policy) {
      if (policy.queue !== options.queue)
        throw new InvalidConsumerPolicyError(
          `consumer policy queue: is '${policy.queue}', but this consumer's queue is '${options.queue}'`,
        );
      const input = topologyInputOf(policy);
      const plan = planConsumerTopology(input);
      return {
        queue: options.queue,
        exchange: policy.exchange,
        eventTypes: plan.bindings.map((binding) => binding.routingKey),
        retryDelaysMs: [...policy.retryDelaysMs],
        deadLetterQueue: policy.deadLetter.queue,
        prefetch: policy.prefetch,
        paused: policy.paused,
        policy: { source: policy.source, generation: policy.generation },
        plan,
      };
    }
    const retryDelaysMs = [...(options.retryDelaysMs ?? DEFAULT_RETRY_DELAYS_MS)];
    const deadLetter = {
      ...options.deadLetter,
      queue: options.deadLetter?.queue ?? deadLetterQueueName(options.queue),
    };
    const plan = planConsumerTopology({
      exchange: options.exchange ?? DEFAULT_EXCHANGE,
      queue: options.queue,
      eventTypes: this.handlerTypes,
      retryDelaysMs,
      deliveryLimit: options.deliveryLimit,
      deadLetter,
    });
    return {
      queue: options.queue,
      exchange: options.exchange ?? DEFAULT_EXCHANGE,
      eventTypes: plan.bindings.map((binding) => binding.routingKey),
      retryDelaysMs,
      deadLetterQueue: deadLetter.queue,
      prefetch: options.prefetch ?? DEFAULT_PREFETCH,
      paused: false,
      policy: undefined,
      plan,
    };
  }

  /**
   * Declares the pending policy's topology on `model` and puts it in force. A policy that does not fit (invalid,
   * or refused by the broker) is dropped with the previous settings kept, and the error is thrown; a lost
   * connection leaves it pending for the next connect.
   */
  private async applyPending(model: ChannelModel): Promise<void> {
    const pending = this.pending;
    if (!pending) return;
    let next: ConsumerSettings;
    try {
      next = this.settingsFor(pending.policy);
    } catch (error) {
      if (this.pending === pending) this.pending = undefined;
      throw error;
    }
    const current = this.settings!;
    try {
      // Before the router may send to a new tier or DLQ, it must exist. Unchanged plans are declared by setUp anyway.
      if (JSON.stringify(next.plan) !== JSON.stringify(current.plan)) await declareTopology(model, next.plan);
    } catch (error) {
      const connectionLost = this.options.connection.current() !== model;
      if (!connectionLost && this.pending === pending) this.pending = undefined;
      throw error;
    }
    if (this.pending === pending) this.pending = undefined;
    this.adopt(next, pending.policy);
  }

  /** Puts settings in force for everything that does not touch the broker: routing of failures, logs, listeners. */
  private adopt(next: ConsumerSettings, policy: ConsumerPolicy | undefined): void {
    const previous = this.settings;
    this.settings = next;
    this.policy = policy;
    this.router.reroute({ retryDelaysMs: next.retryDelaysMs, deadLetterQueue: next.deadLetterQueue });
    const { queue } = this.options;
    if (next.policy) {
      const bound = new Set(next.eventTypes);
      const unhandled = next.eventTypes.filter((type) => !this.handlerTypes.includes(type));
      const unbound = this.handlerTypes.filter((type) => !bound.has(type));
      // Bound without a handler: such deliveries are dead-lettered as `unknown_event_type`.
      if (unhandled.length > 0)
        this.log.warn(
          { queue, eventTypes: unhandled },
          'the consumer policy binds event types this service has no handler for; they will be dead-lettered',
        );
      if (unbound.length > 0)
        this.log.warn(
          { queue, eventTypes: unbound },
          'this service handles event types the consumer policy does not bind; they are not consumed',
        );
      if (next.exchange !== (this.options.exchange ?? DEFAULT_EXCHANGE))
        this.log.warn(
          { queue, exchange: next.exchange },
          'the consumer policy binds another exchange than the service is configured with',
        );
    }
    if (previous === undefined || describe(previous) !== describe(next)) {
      this.log.info(
        { queue, ...JSON.parse(describe(next)) },
        next.policy ? 'consumer policy in force' : 'consumer defaults in force',
      );
    }
    this.emitter.emit('settings', next);
  }

  /** Reports a policy that is not put in force: logged, emitted (the metrics count it) and handed back to its source (readiness shows it). */
  private rejectPolicy(error: unknown, policy: ConsumerPolicy | undefined, instead: 'previous' | 'defaults'): void {
    const failure = error instanceof Error ? error : new Error(String(error));
    const fields = {
      queue: this.options.queue,
      policySource: policy?.source,
      policyGeneration: policy?.generation,
      ...errorFields(failure),
    };
    this.log.error(
      fields,
      instead === 'previous'
        ? 'could not apply the consumer policy; the previous settings stay'
        : 'could not apply the consumer policy; the code defaults are in force instead',
    );
    this.emitter.emit('policyRejected', failure);
    try {
      this.options.policySource?.rejected?.(policy, failure);
    } catch {
      // Reporting must not break consuming.
    }
  }

  /** Brings the consumer on the current channel in line with the settings: pause, resume, or restart for a new prefetch. */
  private async reconcileConsumer(): Promise<void> {
    const consumer = this.consumer;
    const settings = this.settings!;
    if (!consumer?.alive || this.stopping) return;
    try {
      if (settings.paused) {
        if (consumer.consumerTag !== undefined) {
          await this.cancel(consumer);
          this.log.info(
            { queue: this.options.queue, inFlight: this.inFlight.size },
            'consumer paused: deliveries in flight finish, the rest wait in the queue',
          );
        }
        return;
      }
      if (consumer.consumerTag !== undefined && consumer.prefetch === settings.prefetch) return;
      const resuming = consumer.consumerTag === undefined;
      // basic.qos only binds consumers started after it: cancel, set it, consume again on the same channel.
      if (!resuming) await this.cancel(consumer);
      // Prefetch (global=false) counts per consumer: the cancelled consumer's unacked deliveries do not count against
      // the new one, which would run up to in-flight + prefetch handlers at once, all wanting a database connection.
      // So the new consumer starts once they have settled. (Consuming with the prefetch less the in-flight count
      // instead would need yet another cancel and consume to restore it, each with the same problem, and cannot
      // express "none yet": prefetch 0 means unlimited.) Bounded by the shutdown timeout, so a hung handler delays
      // consuming but cannot stop it.
      const drained = await this.waitForInFlight(this.shutdownTimeoutMs, () => consumer.alive && !this.stopping);
      if (!consumer.alive || this.stopping) return;
      if (!drained)
        this.log.warn(
          { queue: this.options.queue, inFlight: this.inFlight.size, prefetch: settings.prefetch },
          'deliveries still in flight after the wait; consuming again anyway, above the prefetch until they finish',
        );
      await this.consume(consumer, settings.prefetch);
      if (resuming) this.log.info({ queue: this.options.queue, prefetch: settings.prefetch }, 'consumer resumed');
    } catch (error) {
      // The channel is going down: onChannelClosed consumes again, with these settings.
      this.log.warn(
        { queue: this.options.queue, ...errorFields(error) },
        'could not change the consumer on its channel; it is set up again',
      );
    }
  }

  private async consume(consumer: Consumer, prefetch: number): Promise<void> {
    await consumer.channel.prefetch(prefetch);
    const { consumerTag } = await consumer.channel.consume(
      this.options.queue,
      (message) => this.onDelivery(consumer, message),
      { noAck: false },
    );
    consumer.consumerTag = consumerTag;
    consumer.prefetch = prefetch;
  }

  /** Resolves at cancel-ok: no delivery for that consumer follows; those already received still settle on the channel. */
  private async cancel(consumer: Consumer): Promise<void> {
    const tag = consumer.consumerTag;
    if (tag === undefined) return;
    await consumer.channel.cancel(tag);
    if (consumer.consumerTag === tag) consumer.consumerTag = undefined;
  }

  private get shutdownTimeoutMs(): number {
    return this.options.shutdownTimeoutMs ?? DEFAULT_SHUTDOWN_TIMEOUT_MS;
  }

  /**
   * Waits until no delivery is in flight, at most `timeoutMs`, and no longer than `relevant()` holds (checked at
   * every settle, at `close()` and at every channel close). Resolves to whether none is in flight.
   */
  private async waitForInFlight(timeoutMs: number, relevant: () => boolean): Promise<boolean> {
    const deadline = Date.now() + timeoutMs;
    while (this.inFlight.size > 0 && relevant() && Date.now() < deadline) {
      let timer: NodeJS.Timeout | undefined;
      let wake: (() => void) | undefined;
      const interrupted = new Promise<void>((resolve) => {
        wake = resolve;
        timer = setTimeout(resolve, deadline - Date.now());
      });
      this.inFlightWaiters.add(wake!);
      await Promise.race([Promise.allSettled([...this.inFlight]), interrupted]);
      clearTimeout(timer);
      this.inFlightWaiters.delete(wake!);
    }
    return this.inFlight.size === 0;
  }

  private wakeInFlightWaiters(): void {
    for (const wake of [...this.inFlightWaiters]) wake();
  }

  /** Runs `step` after every earlier setup / policy / shutdown step has finished. */
  private exclusive<T>(step: () => Promise<T>): Promise<T> {
    const run = this.lock.then(step);
    this.lock = run.then(
      () => undefined,
      () => undefined,
    );
    return run;
  }

  private async setUp(model: ChannelModel): Promise<void> {
    if (this.stopping) return;
    const pending = this.pending;
    if (pending) {
      // A policy that arrived while disconnected: apply it before declaring, or keep the old settings if it does not fit.
      await this.applyPending(model).catch((error: unknown) => {
        if (this.options.connection.current() !== model) throw error;
        this.rejectPolicy(error, pending.policy, 'previous');
      });
    }
    const settings = await this.declareSettings(model);
    const channel = await model.createChannel();
    const consumer: Consumer = { channel, model, consumerTag: undefined, prefetch: undefined, alive: true };
    channel.on('error', (error: Error) =>
      this.log.warn({ queue: this.options.queue, ...errorFields(error) }, 'consumer channel error'),
    );
    channel.on('close', () => this.onChannelClosed(consumer));
    try {
      // Paused: the channel stays open without a consumer; resuming consumes on it.
      if (!settings.paused) await this.consume(consumer, settings.prefetch);
    } catch (error) {
      if (consumer.alive) await channel.close().catch(() => undefined);
      throw error;
    }
    this.consumer = consumer;
    if (!consumer.alive) {
      // The channel closed between consume-ok and here: onChannelClosed did not know it yet, so resubscribe for it.
      this.onChannelClosed(consumer);
      return;
    }
    if (this.stopping) {
      // close() ran while this setup was under way: undo it.
      await channel.close().catch(() => undefined);
      return;
    }
    if (settings.paused)
      this.log.info({ queue: this.options.queue }, 'consumer paused by its policy: channel open, nothing consumed');
    this._status$.next('connected');
  }

  /**
   * Declares the topology of the settings in force. A policy the broker refuses (say a queue type or DLQ other than
   * the existing queue's) is rejected like one refused at runtime, and the code defaults are declared and consume
   * instead: a policy file must not stop a service from booting, nor keep a reconnecting consumer failing for good.
   * Only when the defaults conflict too does this throw (failing `listen`, or the reconnect, as without a policy).
   */
  private async declareSettings(model: ChannelModel): Promise<ConsumerSettings> {
    const settings = this.settings!;
    try {
      await declareTopology(model, settings.plan);
      return settings;
    } catch (error) {
      if (
        !(error instanceof TopologyConflictError) ||
        settings.policy === undefined ||
        this.options.connection.current() !== model
      )
        throw error;
      this.rejectPolicy(error, this.policy, 'defaults');
      const defaults = this.settingsFor(undefined);
      this.adopt(defaults, undefined);
      await declareTopology(model, defaults.plan);
      return defaults;
    }
  }

  private onChannelClosed(consumer: Consumer): void {
    consumer.alive = false;
    this.wakeInFlightWaiters();
    if (this.consumer !== consumer) return;
    this.consumer = undefined;
    this._status$.next('disconnected');
    if (this.stopping) return;
    // On a lost connection the reconnect runs setUp again; on a live one (channel error, consumer cancelled) we must.
    if (this.options.connection.current() === consumer.model) this.scheduleResubscribe(consumer.model);
  }

  private scheduleResubscribe(model: ChannelModel): void {
    clearTimeout(this.resubscribeTimer);
    this.resubscribeTimer = setTimeout(() => {
      if (this.stopping || this.consumer || this.options.connection.current() !== model) return;
      this.exclusive(async () => {
        // Checked again: a setup from a reconnect may have run while this one waited its turn.
        if (this.stopping || this.consumer || this.options.connection.current() !== model) return;
        await this.setUp(model);
      }).catch((error: unknown) => {
        this.log.error({ queue: this.options.queue, ...errorFields(error) }, 'could not consume again; retrying');
        this.emitter.emit('error', error instanceof Error ? error : new Error(String(error)));
        this.scheduleResubscribe(model);
      });
    }, RESUBSCRIBE_DELAY_MS);
    this.resubscribeTimer.unref();
  }

  private onDelivery(consumer: Consumer, message: ConsumeMessage | null): void {
    if (message === null) {
      // The broker cancelled the consumer (queue deleted, …): drop the channel and consume again.
      this.log.warn({ queue: this.options.queue }, 'the broker cancelled the consumer; consuming again');
      if (consumer.alive) void consumer.channel.close().catch(() => undefined);
      return;
    }
    // After the shutdown wait: leave it unacked, the channel closes and the broker requeues it.
    if (this.stopped) return;
    const task = traceDelivery(deliveryTarget(this.options.queue, this.options.connection.endpoint, message), () =>
      this.handle(consumer, message),
    ).catch((error: unknown) => {
      this.log.error(
        { queue: this.options.queue, ...errorFields(error) },
        'unexpected error while settling a delivery',
      );
    });
    this.inFlight.add(task);
    void task.finally(() => this.inFlight.delete(task));
  }

  private async handle(consumer: Consumer, raw: ConsumeMessage): Promise<void> {
    const message = toIncomingMessage(raw);
    const attempt = attemptOf(raw);
    const fallbackType = message.properties.type ?? raw.fields.routingKey;

    let event: DecodedEvent;
    try {
      event = this.options.decode(message);
    } catch (error) {
      const failure = describeFailure(error);
      return this.fail(
        consumer,
        raw,
        fallbackType,
        attempt,
        failure,
        rejectionReason(error) ?? 'decode_failed',
        lagOf(undefined, message),
      );
    }
    const lagMs = lagOf(event.occurredAt, message);

    const handler = this.getHandlerByPattern(event.type);
    if (!handler || !handler.isEventHandler) {
      const failure = {
        errorClass: 'UnknownEventTypeError',
        message: `no handler for '${event.type}' on queue ${this.options.queue}`,
        nonRetriable: true,
      };
      return this.fail(consumer, raw, event.type, attempt, failure, 'unknown_event_type', lagMs);
    }

    const delivery: DeliveryContext = {
      eventId: event.eventId,
      type: event.type,
      version: event.version,
      attempt,
      queue: this.options.queue,
      correlationId: event.correlationId,
      occurredAt: event.occurredAt,
      traceparent: event.traceparent,
      tracestate: event.tracestate,
      headers: message.properties.headers,
    };
    let outcome: HandlerOutcome;
    try {
      outcome = await this.runHandler(delivery, (tx) => invokeHandler(handler, event.data, { ...delivery, tx }));
    } catch (error) {
      const failure = describeFailure(error);
      this.log.warn(
        {
          queue: this.options.queue,
          eventId: event.eventId,
          eventType: event.type,
          attempt,
          errorClass: failure.errorClass,
          error: failure.message,
        },
        'event handler failed',
      );
      return this.fail(
        consumer,
        raw,
        event.type,
        attempt,
        failure,
        failure.nonRetriable ? 'non_retriable' : undefined,
        lagMs,
      );
    }
    const settled: ConsumeOutcome = outcome === 'duplicate' ? 'duplicate' : 'ack';
    if (this.ack(consumer, raw))
      notify(this.observer, 'consumed', {
        queue: this.options.queue,
        eventType: event.type,
        outcome: settled,
        lagMs: lagOf(event.occurredAt, message),
      });
  }

  /** Retry or dead-letter a failed delivery; ack the original only once its copy is confirmed. */
  private async fail(
    consumer: Consumer,
    raw: ConsumeMessage,
    eventType: string,
    attempt: number,
    failure: FailureDescription,
    deadLetterReason: string | undefined,
    lagMs: number | undefined,
  ): Promise<void> {
    const { queue } = this.options;
    markDeliveryFailed(failure.errorClass, deadLetterReason ?? 'failed');
    if (!consumer.alive) {
      // Its channel is gone: the broker redelivers it anyway, a copy now would only be a duplicate.
      return;
    }
    let decision: 'retry' | 'dead_letter';
    try {
      decision = await this.router.route({ message: raw, eventType, attempt, failure, deadLetterReason });
    } catch (error) {
      this.log.error(
        { queue, eventId: raw.properties.messageId as unknown, eventType, ...errorFields(error) },
        'could not publish the retry/dead-letter copy; the message goes back to the queue',
      );
      if (!this.stopping) await new Promise((resolve) => setTimeout(resolve, REQUEUE_DELAY_MS).unref());
      this.nackRequeue(consumer, raw);
      return;
    }
    if (decision === 'dead_letter') {
      this.log.warn(
        {
          queue,
          eventId: raw.properties.messageId as unknown,
          eventType,
          attempt,
          reason: deadLetterReason ?? (failure.nonRetriable ? 'non_retriable' : 'retries_exhausted'),
        },
        'event dead-lettered',
      );
    }
    if (this.ack(consumer, raw)) notify(this.observer, 'consumed', { queue, eventType, outcome: decision, lagMs });
  }

  /** Acks on the delivery's own channel, and only while it lives: a stale tag would kill the channel. */
  private ack(consumer: Consumer, raw: ConsumeMessage): boolean {
    if (!consumer.alive) return false;
    try {
      traceSettle('ack', () => consumer.channel.ack(raw));
      return true;
    } catch {
      return false;
    }
  }

  private nackRequeue(consumer: Consumer, raw: ConsumeMessage): void {
    if (!consumer.alive) return;
    try {
      traceSettle('nack', () => consumer.channel.nack(raw, false, true));
    } catch {
      // The channel is closing: the broker requeues it anyway.
    }
  }

  private async stop(): Promise<void> {
    this.stopping = true;
    // A policy change waiting for in-flight deliveries gives up the lock now (it checks `stopping`).
    this.wakeInFlightWaiters();
    clearTimeout(this.resubscribeTimer);
    this.unsubscribePolicy?.();
    this.unregister?.();
    this.unregister = undefined;
    const source = this.options.policySource
      ? settledWithin(this.options.policySource.stop(), CLOSE_TIMEOUT_MS)
      : undefined;
    // A setup or policy change under way finishes first (each checks `stopping`); a broker that stopped answering must not hang us.
    await settledWithin(this.lock, CLOSE_TIMEOUT_MS);
    const consumer = this.consumer;
    if (consumer?.alive && consumer.consumerTag !== undefined) {
      await settledWithin(this.cancel(consumer), CLOSE_TIMEOUT_MS);
      consumer.consumerTag = undefined;
    }
    if (!(await this.waitForInFlight(this.shutdownTimeoutMs, () => true))) {
      this.log.warn(
        { queue: this.options.queue, inFlight: this.inFlight.size },
        'shutdown timeout: handlers still running; their messages return to the queue',
      );
    }
    this.stopped = true;
    if (consumer?.alive) await settledWithin(consumer.channel.close(), CLOSE_TIMEOUT_MS);
    await this.publisher.close();
    await source;
    this._status$.next('disconnected');
  }
}

/** The loggable part of settings (no plan), as stable JSON. */
function describe(settings: ConsumerSettings): string {
  const { exchange, eventTypes, retryDelaysMs, deadLetterQueue, prefetch, paused, policy } = settings;
  return JSON.stringify({
    exchange,
    eventTypes,
    retryDelaysMs,
    deadLetterQueue,
    prefetch,
    paused,
    policySource: policy?.source,
    policyGeneration: policy?.generation,
  });
}

/** Runs a Nest handler and waits for it, whether it returns a value, a Promise or an Observable. */
async function invokeHandler(handler: MessageHandler, data: unknown, ctx: EventContext): Promise<void> {
  const result: unknown = await handler(data, ctx);
  if (isObservable(result)) await lastValueFrom(result, { defaultValue: undefined });
}

function toIncomingMessage(raw: ConsumeMessage): IncomingMessage {
  const p = raw.properties;
  const str = (value: unknown): string | undefined => (typeof value === 'string' ? value : undefined);
  return {
    content: raw.content,
    properties: {
      messageId: str(p.messageId),
      type: str(p.type),
      timestamp: typeof p.timestamp === 'number' ? p.timestamp : undefined,
      contentType: str(p.contentType),
      contentEncoding: str(p.contentEncoding),
      appId: str(p.appId),
      correlationId: str(p.correlationId),
      headers: Object.freeze({ ...((p.headers as Record<string, unknown> | undefined) ?? {}) }),
    },
    fields: { exchange: raw.fields.exchange, routingKey: raw.fields.routingKey, redelivered: raw.fields.redelivered },
  };
}

/**
 * Which attempt this delivery is. Only a message back from a retry tier (dead-lettered by the tier into the work
 * queue through the default exchange) carries a count we wrote; on one published to an exchange the header is a
 * producer's forgery (the decoder rejects it as `forged_header`) and must not skip tiers or show up on its dead letter.
 */
function attemptOf(raw: ConsumeMessage): number {
  if (raw.fields.exchange !== '') return 1;
  return positiveIntHeader((raw.properties.headers as Record<string, unknown> | undefined) ?? {}, HEADERS.attempt) ?? 1;
}

/**
 * What the delivery span is about: queue, the exchange and routing key the event was published with, ids, and whether
 * the message is back from a retry or the DLQ. Only a copy back from a retry tier (default exchange) is trusted to
 * name its original exchange and routing key; on anything published to an exchange such headers are a producer's.
 */
function deliveryTarget(queue: string, server: BrokerEndpoint, raw: ConsumeMessage): DeliveryTarget {
  const headers = (raw.properties.headers as Record<string, unknown> | undefined) ?? {};
  const fromTier = raw.fields.exchange === '';
  return {
    queue,
    exchange: (fromTier ? stringHeader(headers, HEADERS.originalExchange) : undefined) ?? raw.fields.exchange,
    routingKey: (fromTier ? stringHeader(headers, HEADERS.originalRoutingKey) : undefined) ?? raw.fields.routingKey,
    messageId: typeof raw.properties.messageId === 'string' ? raw.properties.messageId : undefined,
    correlationId: typeof raw.properties.correlationId === 'string' ? raw.properties.correlationId : undefined,
    deliveryTag: raw.fields.deliveryTag,
    server,
    headers,
    attempt: attemptOf(raw),
    replayedAt: stringHeader(headers, HEADERS.replayedAt),
  };
}

/** Lag from when the event happened (or was stamped; AMQP timestamps may be seconds or milliseconds). */
function lagOf(occurredAt: string | undefined, message: IncomingMessage): number | undefined {
  const occurred = occurredAt ? Date.parse(occurredAt) : Number.NaN;
  if (Number.isFinite(occurred)) return Math.max(0, Date.now() - occurred);
  const stamp = message.properties.timestamp;
  if (stamp === undefined) return undefined;
  return Math.max(0, Date.now() - (stamp < 1e12 ? stamp * 1000 : stamp));
}
