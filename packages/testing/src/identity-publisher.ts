import amqp, { type ChannelModel, type ConfirmChannel, type Options } from 'amqplib';
import type { TestVhost } from './test-vhost.js';

/**
 * Publishes into a test vhost as one of the platform's broker identities, the way the services' publishers do:
 * every message carries that identity as its `user-id` (which the broker validates and the consumers check against
 * the event catalog's producer), and each publish resolves on the broker's confirm.
 */
export class IdentityPublisher {
  private constructor(
    private readonly connection: ChannelModel,
    private readonly channel: ConfirmChannel,
    readonly user: string,
  ) {}

  /** The broker's reason for closing the channel (403 for a refused routing key, 406 for a forged user-id). */
  private closedBy: Error | undefined;

  static async connect(vhost: TestVhost, user: string): Promise<IdentityPublisher> {
    const connection = await amqp.connect(vhost.identityUrl(user));
    try {
      connection.on('error', () => undefined);
      const channel = await connection.createConfirmChannel();
      const publisher = new IdentityPublisher(connection, channel, user);
      // A refused publish closes the channel; the broker's reason reaches the caller through `publish`'s rejection.
      channel.on('error', (error: Error) => (publisher.closedBy = error));
      return publisher;
    } catch (error) {
      await connection.close().catch(() => undefined);
      throw error;
    }
  }

  /** Publishes with `user-id` set to this identity (unless `options` names one) and waits for the confirm. */
  publish(exchange: string, routingKey: string, content: Buffer, options: Options.Publish = {}): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      this.channel.publish(exchange, routingKey, content, { userId: this.user, ...options }, (error: unknown) => {
        if (!error) return resolve();
        // amqplib fails the pending confirm with a bare "channel closed" just before it emits the broker's reason.
        setImmediate(() => reject(this.closedBy ?? (error instanceof Error ? error : new Error(String(error)))));
      });
    });
  }

  async close(): Promise<void> {
    await this.connection.close().catch(() => undefined);
  }
}
