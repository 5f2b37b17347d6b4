import { type CustomTransportStrategy, type MessageHandler, Server } from '@nestjs/microservices';
import type { Channel, ChannelModel, ConsumeMessage } from 'amqplib';
import { EventEmitter } from 'node:events';
import { isObservable, lastValueFrom } from 'rxjs';
import { CLOSE_TIMEOUT_MS, settledWithin } from './bounded-wait.js';
import { declareTopology } from './declare-topology.js';
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
import { EventPublisher } from './event-publisher.js';
import { describeFailure, type FailureDescription, FailureRouter, rejectionReason } from './failure-routing.js';
import { HEADERS, positiveIntHeader, stringHeader } from './message-headers.js';
import { type DeliveryTarget, markDeliveryFailed, traceDelivery } from './message-tracing.js';
import { errorFields, type MessagingLogger, silentLogger } from './messaging-logger.js';
import { type ConsumeOutcome, type MessagingObserver, noopObserver, notify } from './messaging-observer.js';
import type { RabbitMqConnection } from './rabbitmq-connection.js';
import { DEFAULT_EXCHANGE, DEFAULT_RETRY_DELAYS_MS, planConsumerTopology, type TopologyPlan } from './topology-plan.js';

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

export interface SwitchyardServerOptions {
  connection: RabbitMqConnection;
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
  deadLetter?: { maxLength?: number; messageTtlMs?: number };
  decode: EventDecoder;
  runHandler?: HandlerRunner;
  observer?: MessagingObserver;
  logger?: MessagingLogger;
  shutdownTimeoutMs?: number;
  /** Confirm timeout for retry and dead-letter copies; default `DEFAULT_CONFIRM_TIMEOUT_MS`. */
  confirmTimeoutMs?: number;
}

export type SwitchyardServerStatus = 'connected' | 'disconnected';

export type SwitchyardServerEvents = {
  /** The consumer could not be set up again after a reconnect or a channel loss (it keeps trying). */
  error: (error: Error) => void;
};

/** The consume channel of one connection; `alive` turns false for good when it closes. */
interface Consumer {
  channel: Channel;
  model: ChannelModel;
  consumerTag: string | undefined;
  alive: boolean;
  /** The broker confirmed the cancel: no more deliveries come. */
  cancelled: boolean;
}

/**
 * NestJS transport that consumes one quorum queue of versioned events. Handlers are the controller methods
 * decorated with `@EventPattern('<event type>')`; the queue is bound to exactly those types. Per delivery:
 * decode → find the handler → run it through the `HandlerRunner` (inbox transaction) → ack. Failures go through
 * the retry tiers and end in the DLQ (`FailureRouter`); the original is acked only after its copy is confirmed.
 * Manual acks only, always on the channel the delivery came from and only while that channel lives.
 *
 * Reconnects: listening registers a setup with the connection that declares the topology, opens a channel, sets
 * prefetch and consumes; the connection runs it again on every new connection. Deliveries in flight on a lost
 * channel are not acked (the broker redelivers them; the inbox dedupes).
 */
export class SwitchyardServer extends Server<SwitchyardServerEvents, SwitchyardServerStatus> implements CustomTransportStrategy {
  override transportId = SWITCHYARD_TRANSPORT;

  private readonly emitter = new EventEmitter();
  private readonly publisher: EventPublisher;
  private readonly router: FailureRouter;
  private readonly runHandler: HandlerRunner;
  private readonly observer: MessagingObserver;
  private readonly log: MessagingLogger;
  private readonly retryDelaysMs: readonly number[];
  private plan: TopologyPlan | undefined;
  private consumer: Consumer | undefined;
  private unregister: (() => void) | undefined;
  private readonly inFlight = new Set<Promise<void>>();
  private stopping = false;
  /** Set once the in-flight wait is over: later deliveries are left unacked for the broker to requeue. */
  private stopped = false;
  private closing: Promise<void> | undefined;
  private resubscribeTimer: NodeJS.Timeout | undefined;

  constructor(private readonly options: SwitchyardServerOptions) {
    super();
    this.retryDelaysMs = [...(options.retryDelaysMs ?? DEFAULT_RETRY_DELAYS_MS)];
    this.runHandler = options.runHandler ?? runHandlerDirectly;
    this.observer = options.observer ?? noopObserver;
    this.log = options.logger ?? silentLogger;
    this.publisher = new EventPublisher({ connection: options.connection, confirmTimeoutMs: options.confirmTimeoutMs, logger: this.log });
    this.router = new FailureRouter({ publisher: this.publisher, service: options.service, queue: options.queue, retryDelaysMs: this.retryDelaysMs, observer: this.observer });
    // Emitted errors are also logged; without a listener EventEmitter would throw them.
    this.emitter.on('error', () => undefined);
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

  on<EventKey extends keyof SwitchyardServerEvents = keyof SwitchyardServerEvents, EventCallback extends SwitchyardServerEvents[EventKey] = SwitchyardServerEvents[EventKey]>(
    event: EventKey,
    callback: EventCallback,
  ): this {
    this.emitter.on(event, callback as (...args: unknown[]) => void);
    return this;
  }

  /** The `RabbitMqConnection` this server consumes on. */
  unwrap<T>(): T {
    return this.options.connection as T;
  }

  /** Consuming on a live channel (for readiness); false from the moment `close()` has cancelled the consumer. */
  get isConsuming(): boolean {
    const consumer = this.consumer;
    return consumer !== undefined && consumer.alive && consumer.consumerTag !== undefined && !consumer.cancelled;
  }

  /** The event types the queue is bound to: those with a registered `@EventPattern` handler. */
  eventTypes(): string[] {
    const types: string[] = [];
    for (const [pattern, handler] of this.messageHandlers) {
      if (!handler.isEventHandler) {
        throw new TypeError(`SwitchyardServer handles events only: '${pattern}' is a @MessagePattern (request/response); use @EventPattern`);
      }
      if (pattern.startsWith('{') || pattern.startsWith('[')) throw new TypeError(`SwitchyardServer needs string event types as patterns, got ${pattern}`);
      types.push(pattern);
    }
    return types.sort();
  }

  private async start(): Promise<void> {
    if (this.stopping) throw new Error('SwitchyardServer was closed; create a new one');
    const { options } = this;
    this.plan = planConsumerTopology({
      exchange: options.exchange ?? DEFAULT_EXCHANGE,
      queue: options.queue,
      eventTypes: this.eventTypes(),
      retryDelaysMs: this.retryDelaysMs,
      deliveryLimit: options.deliveryLimit,
      deadLetter: options.deadLetter,
    });
    if (!Number.isSafeInteger(options.prefetch ?? DEFAULT_PREFETCH) || (options.prefetch ?? DEFAULT_PREFETCH) < 1) throw new TypeError('prefetch must be a positive integer');
    // Not awaited: with the broker down the app still starts (live, not ready) and consumes once connected.
    // When the connection is already up, the setup below runs now and a failure (say a topology conflict) fails listen.
    options.connection.start().catch(() => undefined);
    // The publisher registers first, so on every reconnect its channel is back before deliveries can fail.
    try {
      await this.publisher.start();
      this.unregister = await options.connection.onConnected((model) => this.setUp(model));
    } catch (error) {
      await this.publisher.close();
      throw error;
    }
    this.log.info({ queue: options.queue, eventTypes: this.plan.bindings.map((b) => b.routingKey) }, 'consuming events');
  }

  private async setUp(model: ChannelModel): Promise<void> {
    const plan = this.plan!;
    if (this.stopping) return;
    await declareTopology(model, plan);
    const channel = await model.createChannel();
    const consumer: Consumer = { channel, model, consumerTag: undefined, alive: true, cancelled: false };
    channel.on('error', (error: Error) => this.log.warn({ queue: this.options.queue, ...errorFields(error) }, 'consumer channel error'));
    channel.on('close', () => this.onChannelClosed(consumer));
    try {
      await channel.prefetch(this.options.prefetch ?? DEFAULT_PREFETCH);
      const { consumerTag } = await channel.consume(this.options.queue, (message) => this.onDelivery(consumer, message), { noAck: false });
      consumer.consumerTag = consumerTag;
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
    this._status$.next('connected');
  }

  private onChannelClosed(consumer: Consumer): void {
    consumer.alive = false;
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
      this.setUp(model).catch((error: unknown) => {
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
    const task = traceDelivery(deliveryTarget(this.options.queue, message), () => this.handle(consumer, message)).catch((error: unknown) => {
      this.log.error({ queue: this.options.queue, ...errorFields(error) }, 'unexpected error while settling a delivery');
    });
    this.inFlight.add(task);
    void task.finally(() => this.inFlight.delete(task));
  }

  private async handle(consumer: Consumer, raw: ConsumeMessage): Promise<void> {
    const message = toIncomingMessage(raw);
    const attempt = positiveIntHeader(message.properties.headers, HEADERS.attempt) ?? 1;
    const fallbackType = message.properties.type ?? raw.fields.routingKey;

    let event: DecodedEvent;
    try {
      event = this.options.decode(message);
    } catch (error) {
      const failure = describeFailure(error);
      return this.fail(consumer, raw, fallbackType, attempt, failure, rejectionReason(error) ?? 'decode_failed', lagOf(undefined, message));
    }
    const lagMs = lagOf(event.occurredAt, message);

    const handler = this.getHandlerByPattern(event.type);
    if (!handler || !handler.isEventHandler) {
      const failure = { errorClass: 'UnknownEventTypeError', message: `no handler for '${event.type}' on queue ${this.options.queue}`, nonRetriable: true };
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
      this.log.warn({ queue: this.options.queue, eventId: event.eventId, eventType: event.type, attempt, errorClass: failure.errorClass, error: failure.message }, 'event handler failed');
      return this.fail(consumer, raw, event.type, attempt, failure, failure.nonRetriable ? 'non_retriable' : undefined, lagMs);
    }
    const settled: ConsumeOutcome = outcome === 'duplicate' ? 'duplicate' : 'ack';
    if (this.ack(consumer, raw)) notify(this.observer, 'consumed', { queue: this.options.queue, eventType: event.type, outcome: settled, lagMs: lagOf(event.occurredAt, message) });
  }

  /** Retry or dead-letter a failed delivery; ack the original only once its copy is confirmed. */
  private async fail(consumer: Consumer, raw: ConsumeMessage, eventType: string, attempt: number, failure: FailureDescription, deadLetterReason: string | undefined, lagMs: number | undefined): Promise<void> {
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
      this.log.error({ queue, eventId: raw.properties.messageId as unknown, eventType, ...errorFields(error) }, 'could not publish the retry/dead-letter copy; the message goes back to the queue');
      if (!this.stopping) await new Promise((resolve) => setTimeout(resolve, REQUEUE_DELAY_MS).unref());
      this.nackRequeue(consumer, raw);
      return;
    }
    if (decision === 'dead_letter') {
      this.log.warn({ queue, eventId: raw.properties.messageId as unknown, eventType, attempt, reason: deadLetterReason ?? (failure.nonRetriable ? 'non_retriable' : 'retries_exhausted') }, 'event dead-lettered');
    }
    if (this.ack(consumer, raw)) notify(this.observer, 'consumed', { queue, eventType, outcome: decision, lagMs });
  }

  /** Acks on the delivery's own channel, and only while it lives: a stale tag would kill the channel. */
  private ack(consumer: Consumer, raw: ConsumeMessage): boolean {
    if (!consumer.alive) return false;
    try {
      consumer.channel.ack(raw);
      return true;
    } catch {
      return false;
    }
  }

  private nackRequeue(consumer: Consumer, raw: ConsumeMessage): void {
    if (!consumer.alive) return;
    try {
      consumer.channel.nack(raw, false, true);
    } catch {
      // The channel is closing: the broker requeues it anyway.
    }
  }

  private async stop(): Promise<void> {
    this.stopping = true;
    clearTimeout(this.resubscribeTimer);
    this.unregister?.();
    this.unregister = undefined;
    const consumer = this.consumer;
    if (consumer?.alive && consumer.consumerTag) {
      await settledWithin(consumer.channel.cancel(consumer.consumerTag), CLOSE_TIMEOUT_MS);
      consumer.cancelled = true;
    }
    const deadline = Date.now() + (this.options.shutdownTimeoutMs ?? DEFAULT_SHUTDOWN_TIMEOUT_MS);
    while (this.inFlight.size > 0 && Date.now() < deadline) {
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([Promise.allSettled([...this.inFlight]), new Promise((resolve) => (timer = setTimeout(resolve, deadline - Date.now())))]);
      clearTimeout(timer);
    }
    if (this.inFlight.size > 0) {
      this.log.warn({ queue: this.options.queue, inFlight: this.inFlight.size }, 'shutdown timeout: handlers still running; their messages return to the queue');
    }
    this.stopped = true;
    if (consumer?.alive) await settledWithin(consumer.channel.close(), CLOSE_TIMEOUT_MS);
    await this.publisher.close();
    this._status$.next('disconnected');
  }
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

/** What the delivery span is about: queue, original routing key, event id, and whether the message is back from a retry or the DLQ. */
function deliveryTarget(queue: string, raw: ConsumeMessage): DeliveryTarget {
  const headers = (raw.properties.headers as Record<string, unknown> | undefined) ?? {};
  return {
    queue,
    routingKey: stringHeader(headers, HEADERS.originalRoutingKey) ?? raw.fields.routingKey,
    messageId: typeof raw.properties.messageId === 'string' ? raw.properties.messageId : undefined,
    headers,
    attempt: positiveIntHeader(headers, HEADERS.attempt) ?? 1,
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
