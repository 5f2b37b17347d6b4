import type { ChannelModel, ConfirmChannel, Message } from 'amqplib';
import { CLOSE_TIMEOUT_MS, settledWithin } from '../connection/bounded-wait.js';
import { declareTopology } from '../topology/declare-topology.js';
import {
  ChannelClosedError,
  PublishNackError,
  PublishTimeoutError,
  UnroutableMessageError,
} from '../messaging-errors.js';
import { errorFields, type MessagingLogger, silentLogger } from '../observability/messaging-logger.js';
import {
  type MessagingObserver,
  noopObserver,
  notify,
  type PublishOutcome,
} from '../observability/messaging-observer.js';
import type { RabbitMqConnection } from '../connection/rabbitmq-connection.js';
import { toError } from '../to-error.js';
import { planExchange } from '../topology/topology-plan.js';

/**
 * Default wait for a publisher confirm: 10 s. A healthy broker confirms in milliseconds; past this the outcome
 * is unknown and the caller should send again (consumers dedupe by event id) rather than hold its batch.
 */
export const DEFAULT_CONFIRM_TIMEOUT_MS = 10_000;

/** AMQP properties of an outgoing message. `persistent` and `mandatory` are always set by the publisher. */
export interface PublishProperties {
  /** The event id; also what returns are matched by, so it is required. */
  messageId: string;
  type?: string;
  /** AMQP timestamp as given by the caller. */
  timestamp?: number;
  contentType?: string;
  contentEncoding?: string;
  appId?: string;
  correlationId?: string;
  priority?: number;
  headers?: Record<string, unknown>;
  /**
   * The AMQP `user-id`, which RabbitMQ checks against the connection's user. Default: the connection's `user`, so
   * consumers know who published. Only a user with the `impersonator` tag (the DLQ tooling) may give another.
   */
  userId?: string;
}

/** A message ready to publish: what the outbox relay hands over. */
export interface OutgoingMessage {
  routingKey: string;
  content: Buffer;
  properties: PublishProperties;
}

/** What the publisher needs from a connection: `RabbitMqConnection` fits; the DLQ tool adapts a plain one. */
export type PublisherConnection = Pick<RabbitMqConnection, 'onConnected' | 'current' | 'endpoint'> &
  Partial<Pick<RabbitMqConnection, 'user'>>;

export interface EventPublisherOptions {
  connection: PublisherConnection;
  confirmTimeoutMs?: number;
  /** Topic exchanges to declare (idempotently) on every connect before publishing; default none. */
  exchanges?: readonly string[];
  observer?: MessagingObserver;
  logger?: MessagingLogger;
}

/** Counters since the publisher was created. */
export interface PublisherStats {
  confirmed: number;
  nacked: number;
  returned: number;
  timedOut: number;
  failed: number;
  inFlight: number;
}

interface PendingPublish {
  messageId: string;
  exchange: string;
  routingKey: string;
  eventType: string;
  startedAt: number;
  /** Set by `basic.return`, which the broker sends before the confirm of the same message. */
  returnedWith: string | undefined;
  settled: boolean;
  timer: NodeJS.Timeout | undefined;
  resolve: () => void;
  reject: (error: Error) => void;
}

/** One confirm channel and what was published on it; replaced wholesale when the channel dies. */
interface ChannelSlot {
  channel: ConfirmChannel;
  model: ChannelModel;
  /** In publish order, which is also the order of returns and confirms. */
  pending: Set<PendingPublish>;
  closed: boolean;
  closeReason: Error | undefined;
  /** Set while the socket buffer is full; later publishes wait for `drain`. */
  drained: Promise<void> | undefined;
  /** Called when the last pending publish settles (used by `close`). */
  onIdle: (() => void) | undefined;
}

/**
 * Publishes over a confirm channel and resolves only once the broker has taken responsibility for the message
 * (persistent, mandatory, confirmed). Any number of publishes may be in flight. After a reconnect, or after a
 * channel-level error, it gets a fresh channel; publishes in flight on the old one reject with
 * `ChannelClosedError`. While there is no channel, `publish` rejects at once with `ChannelClosedError`: the caller
 * decides whether to wait (`isReady`) and send again.
 */
export class EventPublisher {
  private slot: ChannelSlot | undefined;
  private unregister: (() => void) | undefined;
  private closing = false;
  private readonly counters = { confirmed: 0, nacked: 0, returned: 0, timedOut: 0, failed: 0 };
  private readonly confirmTimeoutMs: number;
  private readonly observer: MessagingObserver;
  private readonly logger: MessagingLogger;

  constructor(private readonly options: EventPublisherOptions) {
    this.confirmTimeoutMs = options.confirmTimeoutMs ?? DEFAULT_CONFIRM_TIMEOUT_MS;
    this.observer = options.observer ?? noopObserver;
    this.logger = options.logger ?? silentLogger;
  }

  /** Opens the confirm channel now if connected, and again after every reconnect. */
  async start(): Promise<void> {
    if (this.unregister) return;
    this.closing = false;
    this.unregister = await this.options.connection.onConnected((model) => this.setUp(model));
  }

  /** A confirm channel is open. */
  get isReady(): boolean {
    return this.slot !== undefined && !this.slot.closed;
  }

  /** The broker this publisher talks to, for trace attributes. */
  get endpoint(): { address: string; port: number } {
    return this.options.connection.endpoint;
  }

  stats(): PublisherStats {
    return { ...this.counters, inFlight: this.slot?.pending.size ?? 0 };
  }

  /** Publishes to `exchange` with `routingKey`; resolves on the broker's confirm. See the class doc for failures. */
  publish(exchange: string, routingKey: string, content: Buffer, properties: PublishProperties): Promise<void> {
    return this.send(exchange, routingKey, content, properties);
  }

  /** Publishes straight to `queue` through the default exchange (retry tiers, DLQs), with the same guarantees. */
  sendToQueue(queue: string, content: Buffer, properties: PublishProperties): Promise<void> {
    return this.send('', queue, content, properties);
  }

  /** Stops reopening channels and closes the current one once nothing is in flight (or after the confirm timeout). */
  async close(): Promise<void> {
    this.closing = true;
    this.unregister?.();
    this.unregister = undefined;
    const slot = this.slot;
    this.slot = undefined;
    if (!slot || slot.closed) return;
    // Every pending publish has its own timeout, so this wait is bounded by the confirm timeout.
    if (slot.pending.size > 0) await new Promise<void>((resolve) => (slot.onIdle = resolve));
    await settledWithin(slot.channel.close(), CLOSE_TIMEOUT_MS);
  }

  private async send(
    exchange: string,
    routingKey: string,
    content: Buffer,
    properties: PublishProperties,
  ): Promise<void> {
    if (typeof properties.messageId !== 'string' || properties.messageId.length === 0) {
      throw new TypeError('publish needs properties.messageId: it is the event id and what returns are matched by');
    }
    const startedAt = Date.now();
    const eventType = properties.type ?? routingKey;
    let slot = this.slot;
    if (!slot || slot.closed) {
      this.count('failed', eventType, startedAt);
      throw new ChannelClosedError('not connected to RabbitMQ: no channel to publish on; send again later');
    }
    if (slot.drained) {
      // A socket that never drains (the broker blocked by an alarm stops reading, a dead path) must not hold the
      // caller forever: the wait counts against the confirm timeout, and its end means "outcome unknown, send again".
      if (!(await settledWithin(slot.drained, this.confirmTimeoutMs))) {
        this.count('timeout', eventType, startedAt);
        throw new PublishTimeoutError(properties.messageId, this.confirmTimeoutMs);
      }
      slot = this.slot;
      if (!slot || slot.closed) {
        this.count('failed', eventType, startedAt);
        throw new ChannelClosedError('the channel closed while waiting for the socket buffer to drain; send again');
      }
    }
    const current = slot;
    return new Promise<void>((resolve, reject) => {
      const pending: PendingPublish = {
        messageId: properties.messageId,
        exchange,
        routingKey,
        eventType,
        startedAt,
        returnedWith: undefined,
        settled: false,
        timer: undefined,
        resolve,
        reject,
      };
      pending.timer = setTimeout(
        () => {
          this.settle(current, pending, 'timeout', new PublishTimeoutError(pending.messageId, this.confirmTimeoutMs));
        },
        Math.max(1, this.confirmTimeoutMs - (Date.now() - startedAt)),
      );
      current.pending.add(pending);
      let written: boolean;
      try {
        written = current.channel.publish(
          exchange,
          routingKey,
          content,
          {
            ...properties,
            // The broker closes the channel (406) if this is not the connection's user: publishes under another name fail loudly.
            userId: properties.userId ?? this.options.connection.user,
            persistent: true,
            mandatory: true,
          },
          (error: unknown) => {
            if (!error) {
              if (pending.returnedWith !== undefined) {
                this.settle(
                  current,
                  pending,
                  'returned',
                  new UnroutableMessageError(pending.messageId, exchange, routingKey, pending.returnedWith),
                );
              } else {
                this.settle(current, pending, 'confirmed');
              }
            } else if (current.closed || (error instanceof Error && error.message === 'channel closed')) {
              this.settle(current, pending, 'failed', closedError(current));
            } else {
              this.settle(current, pending, 'nacked', new PublishNackError(pending.messageId));
            }
          },
        );
      } catch (error) {
        // amqplib throws synchronously on a closed channel or an unencodable message.
        const failure =
          current.closed || (error instanceof Error && /closed|closing/i.test(error.message))
            ? closedError(current, error)
            : toError(error);
        this.settle(current, pending, 'failed', failure);
        return;
      }
      if (!written && !current.drained) {
        current.drained = new Promise<void>((resolveDrain) => {
          const done = (): void => {
            current.channel.off('drain', done);
            current.channel.off('close', done);
            current.drained = undefined;
            resolveDrain();
          };
          current.channel.on('drain', done);
          current.channel.on('close', done);
        });
      }
    });
  }

  private settle(slot: ChannelSlot, pending: PendingPublish, outcome: PublishOutcome, error?: Error): void {
    if (pending.settled) return;
    pending.settled = true;
    clearTimeout(pending.timer);
    slot.pending.delete(pending);
    if (slot.pending.size === 0) slot.onIdle?.();
    this.count(outcome, pending.eventType, pending.startedAt);
    if (error) pending.reject(error);
    else pending.resolve();
  }

  private count(outcome: PublishOutcome, eventType: string, startedAt: number): void {
    const key = (
      { confirmed: 'confirmed', nacked: 'nacked', returned: 'returned', timeout: 'timedOut', failed: 'failed' } as const
    )[outcome];
    this.counters[key]++;
    notify(this.observer, 'published', { eventType, outcome, confirmMs: Date.now() - startedAt });
  }

  private async setUp(model: ChannelModel): Promise<void> {
    const exchanges = this.options.exchanges ?? [];
    for (const exchange of exchanges) await declareTopology(model, planExchange(exchange));
    await this.openChannel(model);
  }

  private async openChannel(model: ChannelModel): Promise<void> {
    const channel = await model.createConfirmChannel();
    const slot: ChannelSlot = {
      channel,
      model,
      pending: new Set(),
      closed: false,
      closeReason: undefined,
      drained: undefined,
      onIdle: undefined,
    };
    channel.on('error', (error: Error) => {
      slot.closeReason = error;
      this.logger.warn(errorFields(error), 'publisher channel error');
    });
    channel.on('return', (message: Message) => this.onReturn(slot, message));
    channel.on('close', () => {
      slot.closed = true;
      for (const pending of [...slot.pending]) this.settle(slot, pending, 'failed', closedError(slot));
      if (this.slot !== slot) return;
      this.slot = undefined;
      // A channel-level error (e.g. publishing to a missing exchange) leaves the connection up: reopen on it.
      // A lost connection is handled by the reconnect, which runs setUp again. Channels close just before their
      // connection reports its own close, so look again on the next turn of the event loop.
      setImmediate(() => {
        if (this.closing || this.slot || this.options.connection.current() !== model) return;
        this.openChannel(model).catch((error: unknown) =>
          this.logger.error(errorFields(error), 'could not reopen the publisher channel'),
        );
      });
    });
    if (this.closing) {
      await channel.close().catch(() => undefined);
      return;
    }
    this.slot = slot;
  }

  private onReturn(slot: ChannelSlot, message: Message): void {
    const messageId: unknown = message.properties.messageId;
    const fields = message.fields as unknown as { replyText?: string };
    for (const pending of slot.pending) {
      if (pending.messageId === messageId && pending.returnedWith === undefined) {
        pending.returnedWith = fields.replyText ?? 'NO_ROUTE';
        return;
      }
    }
  }
}

function closedError(slot: ChannelSlot, cause?: unknown): ChannelClosedError {
  const reason = slot.closeReason?.message ?? (cause instanceof Error ? cause.message : undefined);
  return new ChannelClosedError(
    `the channel closed before the broker confirmed${reason ? ` (${reason})` : ''}; the outcome is unknown, send again`,
    {
      cause: slot.closeReason ?? cause,
    },
  );
}
