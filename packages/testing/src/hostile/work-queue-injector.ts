import amqp, { type ChannelModel, type ConfirmChannel, type ConsumeMessage } from 'amqplib';
import { randomUUID } from 'node:crypto';
import { waitFor } from '../wait-for.js';
import type { RawMessage } from './hostile-messages.js';

/** Tags each injected message (a header every retry and dead-letter copy keeps) so its dead letter can be found whatever its id. */
export const INJECTION_TAG_HEADER = 'x-test-tag';

/**
 * Puts raw messages into a consumer's work queue (or through the exchange under a routing key) beside a running
 * consumer, and collects what reaches the queue's DLQ by tag. It only reads the DLQ; the service never looks at it.
 */
export interface WorkQueueInjectorOptions {
  exchange: string;
  workQueue: string;
  deadLetterQueue: string;
  /** Publish as this URL's user (a producer's broker identity, e.g. `vhost.identityUrl('user-service')`), with its user-id. */
  publishUrl?: string;
}

export class WorkQueueInjector {
  private readonly deadLetters = new Map<string, ConsumeMessage>();

  private constructor(
    private readonly broker: ChannelModel,
    private readonly publisher: ChannelModel,
    private readonly channel: ConfirmChannel,
    readonly options: WorkQueueInjectorOptions,
  ) {}

  /** Reads (DLQ, queue depths) through `url`; publishes through `options.publishUrl` when given, else `url` too. */
  static async connect(url: string, options: WorkQueueInjectorOptions): Promise<WorkQueueInjector> {
    const broker = await amqp.connect(url);
    const publisher = options.publishUrl ? await amqp.connect(options.publishUrl) : broker;
    const injector = new WorkQueueInjector(broker, publisher, await publisher.createConfirmChannel(), options);
    await waitFor(
      'the consumer on the work queue',
      async () => (await injector.checkQueue(options.workQueue)).consumerCount > 0,
      30_000,
    );
    const reader = await broker.createChannel();
    await reader.consume(
      options.deadLetterQueue,
      (message) => {
        if (!message) return;
        const tag = message.properties.headers?.[INJECTION_TAG_HEADER];
        injector.deadLetters.set(Buffer.isBuffer(tag) ? tag.toString() : String(tag), message);
      },
      { noAck: true },
    );
    return injector;
  }

  /** Publishes with a tag and waits for the broker's confirm; returns the tag. */
  async publish(message: RawMessage, tag: string = randomUUID()): Promise<string> {
    const properties = {
      ...(this.publishingUser !== undefined ? { userId: this.publishingUser } : {}),
      ...message.properties,
      persistent: true,
      headers: { ...message.properties.headers, [INJECTION_TAG_HEADER]: tag },
    };
    await new Promise<void>((resolve, reject) => {
      const done = (error: unknown) =>
        error ? reject(error instanceof Error ? error : new Error(String(error))) : resolve();
      if (message.via === 'exchange')
        this.channel.publish(this.options.exchange, message.routingKey, message.content, properties, done);
      else this.channel.sendToQueue(this.options.workQueue, message.content, properties, done);
    });
    return tag;
  }

  /** The dead letter of the message published with `tag`, once it arrives. */
  deadLetter(tag: string, timeoutMs = 15_000): Promise<ConsumeMessage> {
    return waitFor(`the dead letter tagged ${tag}`, () => this.deadLetters.get(tag), timeoutMs, 20);
  }

  /** Depth and consumers of a queue, on a throwaway channel (a missing queue closes its channel). */
  async checkQueue(queue: string): Promise<{ messageCount: number; consumerCount: number }> {
    const probe = await this.broker.createChannel();
    probe.on('error', () => undefined);
    try {
      return await probe.checkQueue(queue);
    } finally {
      await probe.close().catch(() => undefined);
    }
  }

  /** The broker identity of `publishUrl`, stamped as `user-id` on what it publishes (as the services' publishers do). */
  private get publishingUser(): string | undefined {
    const user = this.options.publishUrl ? new URL(this.options.publishUrl).username : '';
    return user ? decodeURIComponent(user) : undefined;
  }

  async close(): Promise<void> {
    if (this.publisher !== this.broker) await this.publisher.close().catch(() => undefined);
    await this.broker.close().catch(() => undefined);
  }
}

/**
 * Throws unless `dead` is a dead letter our transport wrote for `service`'s `queue` with one of `reasons`, naming
 * the error's class and message.
 */
export function assertDeadLettered(
  dead: ConsumeMessage,
  expected: { reasons: ReadonlySet<string>; service: string; queue: string },
): void {
  const headers = dead.properties.headers ?? {};
  const reason = String(headers['x-death-reason']);
  if (!expected.reasons.has(reason))
    throw new Error(`dead-lettered with reason '${reason}', expected one of ${[...expected.reasons].join(', ')}`);
  const by = { service: String(headers['x-consumer-service']), queue: String(headers['x-consumer-queue']) };
  if (by.service !== expected.service || by.queue !== expected.queue)
    throw new Error(
      `dead-lettered by ${by.service} from ${by.queue}, expected ${expected.service} from ${expected.queue}`,
    );
  for (const name of ['x-error-class', 'x-error-message']) {
    if (headers[name] === undefined || String(headers[name]) === '') throw new Error(`the dead letter has no ${name}`);
  }
}
