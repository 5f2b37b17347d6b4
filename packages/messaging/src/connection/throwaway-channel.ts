import type { Channel } from 'amqplib';

/** What opening a channel needs from a connection: amqplib's `ChannelModel` fits. */
export interface ChannelFactory {
  createChannel(): Promise<Channel>;
}

/**
 * Runs `work` on a channel of its own and closes it afterwards. For single broker operations whose failure closes
 * their channel (a failed declare, a 404 from a passive declare): the caller's other channels must not share that
 * fate. Channel errors are only noted (the rejected call carries the reason; an unheard `error` would crash the
 * process), and a channel the broker already closed is not closed again.
 */
export async function onThrowawayChannel<T>(
  connection: ChannelFactory,
  work: (channel: Channel) => Promise<T>,
): Promise<T> {
  const channel = await connection.createChannel();
  let closed = false;
  channel.on('error', () => undefined);
  channel.on('close', () => {
    closed = true;
  });
  try {
    return await work(channel);
  } finally {
    if (!closed) await channel.close().catch(() => undefined);
  }
}
