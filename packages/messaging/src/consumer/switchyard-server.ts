import { type CustomTransportStrategy, Server } from '@nestjs/microservices';
import type { ChannelModel } from 'amqplib';
import { EventEmitter } from 'node:events';
import { CLOSE_TIMEOUT_MS, settledWithin } from '../connection/bounded-wait.js';
import { type MessagingLogger, silentLogger } from '../observability/messaging-logger.js';
import { noopObserver } from '../observability/messaging-observer.js';
import { EventPublisher } from '../publishing/event-publisher.js';
import { type ConsumerPolicy, DEFAULT_PREFETCH } from '../topology/consumer-policy.js';
import { DEFAULT_RETRY_DELAYS_MS } from '../topology/topology-plan.js';
import { QueueConsumer } from './consumer-channel.js';
import type { ConsumerSettings } from './consumer-settings.js';
import { DeliveryHandling } from './delivery-handling.js';
import { runHandlerDirectly } from './event-context.js';
import { FailureRouter } from './failure-routing.js';
import { InFlightDeliveries } from './in-flight-deliveries.js';
import { LivePolicy } from './live-policy.js';
import { DEFAULT_MAX_MESSAGE_BYTES } from './message-size-limit.js';
import {
  DEFAULT_FIRST_CONNECT_WAIT_MS,
  DEFAULT_SHUTDOWN_TIMEOUT_MS,
  SWITCHYARD_TRANSPORT,
  type SwitchyardServerEvents,
  type SwitchyardServerOptions,
  type SwitchyardServerStatus,
} from './switchyard-server-options.js';

/**
 * NestJS transport that consumes one quorum queue of versioned events. Handlers are the controller methods
 * decorated with `@ConsumeEvent(<event contract>)`; without a consumer policy the queue is bound to exactly those
 * types, with one the policy's types are bound. Per delivery: decode → find the handler → run it through the
 * `HandlerRunner` (inbox transaction) → ack (`DeliveryHandling`). Failures go through the retry tiers and end in
 * the DLQ (`FailureRouter`); the original is acked only after its copy is confirmed. Manual acks only, always on
 * the channel the delivery came from and only while that channel lives (`ConsumerChannel`).
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
  private readonly log: MessagingLogger;
  private readonly live: LivePolicy;
  private readonly consumer: QueueConsumer;
  private readonly deliveries: DeliveryHandling;
  private readonly inFlight = new InFlightDeliveries();
  private unregister: (() => void) | undefined;
  private unsubscribePolicy: (() => void) | undefined;
  /** Tail of the setup / policy / shutdown steps, which run one at a time. */
  private lock: Promise<void> = Promise.resolve();
  private started = false;
  private stopping = false;
  /** Set once the in-flight wait is over: later deliveries are left unacked for the broker to requeue. */
  private stopped = false;
  private closing: Promise<void> | undefined;

  constructor(private readonly options: SwitchyardServerOptions) {
    super();
    const observer = options.observer ?? noopObserver;
    this.log = options.logger ?? silentLogger;
    this.publisher = new EventPublisher({
      connection: options.publishConnection ?? options.connection,
      confirmTimeoutMs: options.confirmTimeoutMs,
      logger: this.log,
    });
    const router = new FailureRouter({
      publisher: this.publisher,
      service: options.service,
      queue: options.queue,
      retryDelaysMs: options.retryDelaysMs ?? DEFAULT_RETRY_DELAYS_MS,
      deadLetterQueue: options.deadLetter?.queue,
      observer,
    });
    this.live = new LivePolicy({ server: options, router, log: this.log, events: this.emitter });
    const isStopping = (): boolean => this.stopping;
    this.consumer = new QueueConsumer({
      connection: options.connection,
      queue: options.queue,
      log: this.log,
      inFlight: this.inFlight,
      shutdownTimeoutMs: this.shutdownTimeoutMs,
      onDelivery: (channel, message) => this.deliveries.receive(channel, message),
      isStopping,
      status: (status) => this._status$.next(status),
      setUpAgain: (model) =>
        this.exclusive(async () => {
          // Checked again: a setup from a reconnect may have run while this one waited its turn.
          if (this.stopping || this.consumer.current || options.connection.current() !== model) return;
          await this.setUp(model);
        }),
      onSetUpError: (error) => this.emitter.emit('error', error),
    });
    this.deliveries = new DeliveryHandling({
      connection: options.connection,
      queue: options.queue,
      decode: options.decode,
      producerOf: options.producerOf,
      // Its retry copies are published on the publishing connection, under that connection's user.
      ownUser: (options.publishConnection ?? options.connection).user,
      maxMessageBytes: options.maxMessageBytes ?? DEFAULT_MAX_MESSAGE_BYTES,
      runHandler: options.runHandler ?? runHandlerDirectly,
      router,
      observer,
      log: this.log,
      inFlight: this.inFlight,
      handlerFor: (eventType) => this.getHandlerByPattern(eventType) ?? undefined,
      isStopping,
      isStopped: () => this.stopped,
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
    const consumer = this.consumer.current;
    return !this.stopped && consumer !== undefined && consumer.alive && consumer.consumerTag !== undefined;
  }

  /** Paused by the consumer policy: not consuming on purpose, which is healthy. */
  get isPaused(): boolean {
    return this.live.current?.paused ?? false;
  }

  /** The settings in force; undefined before `listen`. */
  currentSettings(): ConsumerSettings | undefined {
    return this.live.current;
  }

  /** The event types of the registered `@ConsumeEvent` handlers. */
  eventTypes(): string[] {
    const types: string[] = [];
    for (const [pattern, handler] of this.messageHandlers) {
      if (!handler.isEventHandler) {
        throw new TypeError(
          `SwitchyardServer handles events only: '${pattern}' is a @MessagePattern (request/response); use @ConsumeEvent`,
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
      if (this.started) this.live.settingsFor(policy);
      this.live.hold(policy);
      if (!this.started) return;
      const model = this.options.connection.current();
      // No connection: the next connect's setup applies it first thing.
      if (!model) return;
      try {
        await this.live.applyPending(model);
      } catch (error) {
        // Lost the connection while declaring: still pending, the reconnect's setup applies it.
        if (this.live.isPending(policy) && this.options.connection.current() !== model) return;
        throw error;
      }
      await this.consumer.reconcile(this.live.current!);
    });
  }

  private async start(): Promise<void> {
    if (this.stopping) throw new Error('SwitchyardServer was closed; create a new one');
    const { options } = this;
    const prefetch = options.prefetch ?? DEFAULT_PREFETCH;
    if (!Number.isSafeInteger(prefetch) || prefetch < 1) throw new TypeError('prefetch must be a positive integer');
    const handlerTypes = this.eventTypes();
    const source = options.policySource;
    if (source) {
      this.live.holdUnlessPending(source.current().policy);
      this.unsubscribePolicy = source.subscribe((policy) => {
        this.applyPolicy(policy).catch((error: unknown) => this.live.reject(error, policy, 'previous'));
      });
      source.start();
    }
    // The first settings need no broker: the setup below declares them. A policy that cannot even be planned falls back to the defaults.
    this.live.start(handlerTypes);
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
      { queue: options.queue, eventTypes: this.live.current?.eventTypes, paused: this.live.current?.paused },
      'consuming events',
    );
  }

  private get shutdownTimeoutMs(): number {
    return this.options.shutdownTimeoutMs ?? DEFAULT_SHUTDOWN_TIMEOUT_MS;
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

  /** A (re)connect: the policy's part (pending policy, declare), then the channel's (open, consume). */
  private async setUp(model: ChannelModel): Promise<void> {
    if (this.stopping) return;
    const settings = await this.live.prepare(model);
    await this.consumer.open(model, settings);
  }

  private async stop(): Promise<void> {
    this.stopping = true;
    // A policy change waiting for in-flight deliveries gives up the lock now (it checks `stopping`).
    this.inFlight.wakeWaiters();
    this.consumer.stopResubscribing();
    this.unsubscribePolicy?.();
    this.unregister?.();
    this.unregister = undefined;
    const source = this.options.policySource
      ? settledWithin(this.options.policySource.stop(), CLOSE_TIMEOUT_MS)
      : undefined;
    // A setup or policy change under way finishes first (each checks `stopping`); a broker that stopped answering must not hang us.
    await settledWithin(this.lock, CLOSE_TIMEOUT_MS);
    const consumer = this.consumer.current;
    if (consumer?.alive && consumer.consumerTag !== undefined) {
      await settledWithin(consumer.cancel(), CLOSE_TIMEOUT_MS);
      consumer.consumerTag = undefined;
    }
    if (!(await this.inFlight.waitForAll(this.shutdownTimeoutMs, () => true))) {
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
