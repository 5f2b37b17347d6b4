import type { Channel, ChannelModel, ConsumeMessage } from 'amqplib';
import type { RabbitMqConnection } from '../connection/rabbitmq-connection.js';
import { traceSettle } from '../observability/message-tracing.js';
import { errorFields, type MessagingLogger } from '../observability/messaging-logger.js';
import { toError } from '../to-error.js';
import type { ConsumerSettings } from './consumer-settings.js';
import type { InFlightDeliveries } from './in-flight-deliveries.js';
import type { SwitchyardServerStatus } from './switchyard-server-options.js';

/** Pause before consuming again when the broker cancelled the consumer or closed its channel on a live connection. */
export const RESUBSCRIBE_DELAY_MS = 1_000;

/** The consume channel of one connection; `alive` turns false for good when it closes. */
export class ConsumerChannel {
  /** Set while a consumer runs on the channel (from consume-ok until cancel-ok); paused channels have none. */
  consumerTag: string | undefined;
  /** The prefetch the running consumer was started with (basic.qos binds consumers started after it). */
  prefetch: number | undefined;
  alive = true;

  constructor(
    readonly channel: Channel,
    readonly model: ChannelModel,
  ) {}

  async consume(queue: string, prefetch: number, onMessage: (message: ConsumeMessage | null) => void): Promise<void> {
    await this.channel.prefetch(prefetch);
    const { consumerTag } = await this.channel.consume(queue, onMessage, { noAck: false });
    this.consumerTag = consumerTag;
    this.prefetch = prefetch;
  }

  /** Resolves at cancel-ok: no delivery for that consumer follows; those already received still settle on the channel. */
  async cancel(): Promise<void> {
    const tag = this.consumerTag;
    if (tag === undefined) return;
    await this.channel.cancel(tag);
    if (this.consumerTag === tag) this.consumerTag = undefined;
  }

  /** Acks on the delivery's own channel, and only while it lives: a stale tag would kill the channel. */
  ack(raw: ConsumeMessage): boolean {
    if (!this.alive) return false;
    try {
      traceSettle('ack', () => this.channel.ack(raw));
      return true;
    } catch {
      return false;
    }
  }

  nackRequeue(raw: ConsumeMessage): void {
    if (!this.alive) return;
    try {
      traceSettle('nack', () => this.channel.nack(raw, false, true));
    } catch {
      // The channel is closing: the broker requeues it anyway.
    }
  }

  /**
   * Rejects without requeue: the broker dead-letters it to the work queue's DLQ itself (at-least-once), with no copy
   * through this process. Only for a message too large to copy cheaply; false when the channel is gone.
   */
  reject(raw: ConsumeMessage): boolean {
    if (!this.alive) return false;
    try {
      traceSettle('nack', () => this.channel.nack(raw, false, false));
      return true;
    } catch {
      return false;
    }
  }
}

export interface QueueConsumerOptions {
  connection: RabbitMqConnection;
  queue: string;
  log: MessagingLogger;
  inFlight: InFlightDeliveries;
  shutdownTimeoutMs: number;
  /** Handles a delivery; settles it on `channel`. */
  onDelivery(channel: ConsumerChannel, message: ConsumeMessage): void;
  /** `close()` has begun: set nothing up, change nothing. */
  isStopping(): boolean;
  status(status: SwitchyardServerStatus): void;
  /** Sets the consumer up again on `model`, in turn with the other setup / policy / shutdown steps. */
  setUpAgain(model: ChannelModel): Promise<void>;
  /** Setting up again failed (it keeps trying). */
  onSetUpError(error: Error): void;
}

/**
 * The consumer on the connection's current channel: opens it, consumes, pauses, resumes, restarts for a new
 * prefetch, and consumes again when the broker cancels the consumer or closes its channel on a live connection.
 */
export class QueueConsumer {
  private consumer: ConsumerChannel | undefined;
  private resubscribeTimer: NodeJS.Timeout | undefined;

  constructor(private readonly options: QueueConsumerOptions) {}

  get current(): ConsumerChannel | undefined {
    return this.consumer;
  }

  /** Opens a channel on `model` and consumes with `settings` (or, paused, only opens it). */
  async open(model: ChannelModel, settings: ConsumerSettings): Promise<void> {
    const { queue, log } = this.options;
    const channel = await model.createChannel();
    const consumer = new ConsumerChannel(channel, model);
    channel.on('error', (error: Error) => log.warn({ queue, ...errorFields(error) }, 'consumer channel error'));
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
    if (this.options.isStopping()) {
      // close() ran while this setup was under way: undo it.
      await channel.close().catch(() => undefined);
      return;
    }
    if (settings.paused) log.info({ queue }, 'consumer paused by its policy: channel open, nothing consumed');
    this.options.status('connected');
  }

  /** Brings the consumer on the current channel in line with the settings: pause, resume, or restart for a new prefetch. */
  async reconcile(settings: ConsumerSettings): Promise<void> {
    const { queue, log, inFlight, isStopping } = this.options;
    const consumer = this.consumer;
    if (!consumer?.alive || isStopping()) return;
    try {
      if (settings.paused) {
        if (consumer.consumerTag !== undefined) {
          await consumer.cancel();
          log.info(
            { queue, inFlight: inFlight.size },
            'consumer paused: deliveries in flight finish, the rest wait in the queue',
          );
        }
        return;
      }
      if (consumer.consumerTag !== undefined && consumer.prefetch === settings.prefetch) return;
      const resuming = consumer.consumerTag === undefined;
      // basic.qos only binds consumers started after it: cancel, set it, consume again on the same channel.
      if (!resuming) await consumer.cancel();
      // Prefetch (global=false) counts per consumer: the cancelled consumer's unacked deliveries do not count against
      // the new one, which would run up to in-flight + prefetch handlers at once, all wanting a database connection.
      // So the new consumer starts once they have settled. (Consuming with the prefetch less the in-flight count
      // instead would need yet another cancel and consume to restore it, each with the same problem, and cannot
      // express "none yet": prefetch 0 means unlimited.) Bounded by the shutdown timeout, so a hung handler delays
      // consuming but cannot stop it.
      const drained = await inFlight.waitForAll(this.options.shutdownTimeoutMs, () => consumer.alive && !isStopping());
      if (!consumer.alive || isStopping()) return;
      if (!drained)
        log.warn(
          { queue, inFlight: inFlight.size, prefetch: settings.prefetch },
          'deliveries still in flight after the wait; consuming again anyway, above the prefetch until they finish',
        );
      await this.consume(consumer, settings.prefetch);
      if (resuming) log.info({ queue, prefetch: settings.prefetch }, 'consumer resumed');
    } catch (error) {
      // The channel is going down: onChannelClosed consumes again, with these settings.
      log.warn({ queue, ...errorFields(error) }, 'could not change the consumer on its channel; it is set up again');
    }
  }

  /** No more resubscribing (shutdown). */
  stopResubscribing(): void {
    clearTimeout(this.resubscribeTimer);
  }

  private consume(consumer: ConsumerChannel, prefetch: number): Promise<void> {
    return consumer.consume(this.options.queue, prefetch, (message) => {
      if (message === null) {
        // The broker cancelled the consumer (queue deleted, …): drop the channel and consume again.
        this.options.log.warn({ queue: this.options.queue }, 'the broker cancelled the consumer; consuming again');
        if (consumer.alive) void consumer.channel.close().catch(() => undefined);
        return;
      }
      this.options.onDelivery(consumer, message);
    });
  }

  private onChannelClosed(consumer: ConsumerChannel): void {
    consumer.alive = false;
    this.options.inFlight.wakeWaiters();
    if (this.consumer !== consumer) return;
    this.consumer = undefined;
    this.options.status('disconnected');
    if (this.options.isStopping()) return;
    // On a lost connection the reconnect runs setUp again; on a live one (channel error, consumer cancelled) we must.
    if (this.options.connection.current() === consumer.model) this.scheduleResubscribe(consumer.model);
  }

  private scheduleResubscribe(model: ChannelModel): void {
    const { connection, isStopping } = this.options;
    clearTimeout(this.resubscribeTimer);
    this.resubscribeTimer = setTimeout(() => {
      if (isStopping() || this.consumer || connection.current() !== model) return;
      this.options.setUpAgain(model).catch((error: unknown) => {
        this.options.log.error(
          { queue: this.options.queue, ...errorFields(error) },
          'could not consume again; retrying',
        );
        this.options.onSetUpError(toError(error));
        this.scheduleResubscribe(model);
      });
    }, RESUBSCRIBE_DELAY_MS);
    this.resubscribeTimer.unref();
  }
}
