import type { Channel } from 'amqplib';
import { Gauge, type Registry } from 'prom-client';
import { registerOnce, safely } from '@switchyard/telemetry';
import { CLOSE_TIMEOUT_MS, settledWithin } from '../connection/bounded-wait.js';
import { errorFields, type MessagingLogger, silentLogger } from './messaging-logger.js';
import type { RabbitMqConnection } from '../connection/rabbitmq-connection.js';
import { deadLetterQueueName, DEFAULT_RETRY_DELAYS_MS, retryQueueName } from '../topology/topology-plan.js';

/** Default sampling interval of queue depths and the outbox: often enough for alerts, cheap for the broker. */
export const DEFAULT_METRICS_SAMPLE_INTERVAL_MS = 15_000;

/**
 * A consumer declares its queues after the sampler's first sample can run; until then a queue may be missing, so
 * a missing queue is looked at again after this (not a whole interval later) for the first minute.
 */
const EARLY_RESAMPLE_MS = 1_000;
const EARLY_PHASE_MS = 60_000;

export interface QueueDepthSamplerOptions {
  connection: RabbitMqConnection;
  registry: Registry;
  intervalMs?: number;
  logger?: MessagingLogger;
  /**
   * Name of an exclusive queue the sampler claims on its connection before each round, so one replica of a service
   * reports depths and the others report none (RabbitMQ lets one connection at a time declare an exclusive queue,
   * and deletes it with that connection, so another replica takes over after a crash). Unset: always sample.
   */
  soleSamplerQueue?: string;
}

/** A consumer's work queue, its retry tiers and its DLQ (default `<queue>.dlq`): every queue a depth is reported for. */
export function consumerQueues(
  queue: string,
  retryDelaysMs: readonly number[] = DEFAULT_RETRY_DELAYS_MS,
  deadLetterQueue: string = deadLetterQueueName(queue),
): string[] {
  // Repeated delays share a tier: each queue once.
  return [...new Set([queue, ...retryDelaysMs.map((delay) => retryQueueName(queue, delay)), deadLetterQueue])];
}

/** Group of queues added with `watch`, as opposed to a consumer's group that `watchConsumer` replaces. */
const FIXED_GROUP = '';

/**
 * `messaging_queue_depth{queue}`: ready messages per watched queue, by passive declare (`checkQueue`) on a channel of
 * its own, once at (re)connect and then every interval. A passive declare of a missing queue closes the channel with
 * a 404: the series is dropped, the channel reopened next time. Never throws.
 *
 * With `soleSamplerQueue`, only one replica of a service reports at a time (the one whose connection holds that
 * exclusive queue), so a service's depths are sampled once, not once per replica.
 *
 * The one copy of a broker fact the services keep (RabbitMQ's exporter has it too, as
 * rabbitmq_detailed_queue_messages_ready): it carries the consuming service's own `service` and `namespace`, covers
 * exactly the queues that service consumes (work queue, retry tiers, DLQ), and works where the broker's exporter is
 * not scraped (a managed RabbitMQ), so the DLQ and stalled-queue alerts do not depend on it. The consumer count it
 * used to copy as well (`messaging_queue_consumers`) comes from the broker now (rabbitmq_detailed_queue_consumers).
 */
export class QueueDepthSampler {
  private readonly depth: Gauge<'queue'>;
  /** Watched queues by group: a consumer's group is replaced when its policy changes its tiers or DLQ. */
  private readonly groups = new Map<string, readonly string[]>();
  private readonly intervalMs: number;
  private readonly logger: MessagingLogger;
  private channel: Channel | undefined;
  private timer: NodeJS.Timeout | undefined;
  private earlyTimer: NodeJS.Timeout | undefined;
  private startedAt = 0;
  private sampling: Promise<void> | undefined;
  private stopped = false;
  private unregister: (() => void) | undefined;

  constructor(private readonly options: QueueDepthSamplerOptions) {
    this.intervalMs = options.intervalMs ?? DEFAULT_METRICS_SAMPLE_INTERVAL_MS;
    this.logger = options.logger ?? silentLogger;
    this.depth = registerOnce(
      options.registry,
      'messaging_queue_depth',
      (registers) =>
        new Gauge({
          name: 'messaging_queue_depth',
          help: 'Messages ready for delivery in a queue the service consumes (work queue, retry tiers, DLQ), sampled by passive declare.',
          labelNames: ['queue'] as const,
          registers,
        }),
    );
  }

  watch(queues: readonly string[]): void {
    this.groups.set(FIXED_GROUP, [...new Set([...(this.groups.get(FIXED_GROUP) ?? []), ...queues])]);
  }

  /**
   * Watches exactly `queues` for the consumer of `workQueue`, replacing what was watched for it before (its
   * policy changed the retry tiers or the DLQ); series of queues no longer watched are dropped.
   */
  watchConsumer(workQueue: string, queues: readonly string[]): void {
    const before = this.watched();
    this.groups.set(workQueue, [...queues]);
    const after = this.watched();
    for (const queue of before) {
      if (after.has(queue)) continue;
      safely(() => this.depth.remove({ queue }));
    }
  }

  /** Every queue watched now. */
  watched(): Set<string> {
    return new Set([...this.groups.values()].flat());
  }

  async start(): Promise<void> {
    this.startedAt = Date.now();
    this.timer = setInterval(() => void this.sample(), this.intervalMs);
    this.timer.unref();
    // Not awaited: a sample must not hold up the connection's other setups (and must never fail them).
    this.unregister = await this.options.connection
      .onConnected(async () => {
        void this.sample();
      })
      .catch(() => undefined);
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearInterval(this.timer);
    clearTimeout(this.earlyTimer);
    this.unregister?.();
    // A broker that stopped answering must not hang the shutdown.
    if (this.sampling) await settledWithin(this.sampling, CLOSE_TIMEOUT_MS);
    const channel = this.channel;
    this.channel = undefined;
    if (channel) await settledWithin(channel.close(), CLOSE_TIMEOUT_MS);
  }

  /** One round over every watched queue; concurrent calls share the round in progress. */
  sample(): Promise<void> {
    this.sampling ??= this.sampleAll().finally(() => {
      this.sampling = undefined;
    });
    return this.sampling;
  }

  private async sampleAll(): Promise<void> {
    if (!(await this.isSoleSampler())) {
      // Another replica reports: this one's series would only repeat (or contradict) its numbers.
      safely(() => this.depth.reset());
      return;
    }
    let missing = false;
    for (const queue of this.watched()) {
      if (this.stopped) return;
      const found = await this.sampleOne(queue);
      if (found === false) missing = true;
    }
    if (missing && !this.stopped && Date.now() - this.startedAt < EARLY_PHASE_MS && !this.earlyTimer) {
      this.earlyTimer = setTimeout(() => {
        this.earlyTimer = undefined;
        void this.sample();
      }, EARLY_RESAMPLE_MS);
      this.earlyTimer.unref();
    }
  }

  /** Claims (or re-confirms) the exclusive sampler queue; true when this connection holds it or no claim is asked. */
  private async isSoleSampler(): Promise<boolean> {
    const name = this.options.soleSamplerQueue;
    if (!name) return true;
    const channel = await this.openChannel();
    if (!channel) return false;
    try {
      await channel.assertQueue(name, { exclusive: true, autoDelete: true, durable: false });
      return true;
    } catch (error) {
      if (this.channel === channel) this.channel = undefined;
      // 405 RESOURCE_LOCKED: another connection holds it. Anything else: unknown, so do not claim to be the one.
      if ((error as { code?: unknown }).code !== 405)
        this.logger.warn(errorFields(error as Error), 'queue depth sampler could not claim its queue');
      return false;
    }
  }

  /** true: sampled; false: the queue does not exist; undefined: no connection or another failure (keep the last value). */
  private async sampleOne(queue: string): Promise<boolean | undefined> {
    const channel = await this.openChannel();
    if (!channel) return undefined;
    try {
      const { messageCount } = await channel.checkQueue(queue);
      // Unwatched while the broker answered: its series is gone and must stay gone.
      if (!this.watched().has(queue)) return true;
      safely(() => this.depth.set({ queue }, messageCount));
      return true;
    } catch (error) {
      if (this.channel === channel) this.channel = undefined;
      if ((error as { code?: unknown }).code === 404) {
        safely(() => this.depth.remove({ queue }));
        return false;
      }
      return undefined;
    }
  }

  private async openChannel(): Promise<Channel | undefined> {
    if (this.channel) return this.channel;
    const model = this.options.connection.current();
    if (!model) return undefined;
    try {
      const channel = await model.createChannel();
      // A 404 from a passive declare closes the channel; an unheard `error` would take the connection down.
      channel.on('error', (error: Error) => {
        // 404: a passive declare of a missing queue; 405: another replica holds the sampler queue.
        const code = (error as { code?: unknown }).code;
        if (code !== 404 && code !== 405) this.logger.warn(errorFields(error), 'queue depth sampler channel error');
      });
      channel.on('close', () => {
        if (this.channel === channel) this.channel = undefined;
      });
      this.channel = channel;
      return channel;
    } catch {
      return undefined;
    }
  }
}
