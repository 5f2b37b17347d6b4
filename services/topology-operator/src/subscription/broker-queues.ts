import { type ChannelFactory, onThrowawayChannel } from '@switchyard/messaging/topology';

/**
 * Single broker operations for the operator, each on a throwaway channel (`onThrowawayChannel`): RabbitMQ answers a
 * missing queue with a 404 channel error that closes the channel, and the caller's other work must not share that fate.
 *
 * Deliberately absent: `deleteQueue(name, { ifEmpty: true })`. Quorum queues do not support if-empty and RabbitMQ
 * 3.10 answers it with 540 NOT_IMPLEMENTED, a CONNECTION error that would close the operator's whole connection.
 * Callers check the depth first and then delete; `deleteQueue` returns how many messages went with the queue, so
 * a message that slipped in between is at least reported.
 */

/** What `queue.declare passive` reports about a queue. */
export interface QueueState {
  messageCount: number;
  consumerCount: number;
}

function isNotFound(error: unknown): boolean {
  return (error as { code?: unknown }).code === 404;
}

/** Depth and consumers of a queue; undefined when it does not exist. */
export async function inspectQueue(broker: ChannelFactory, queue: string): Promise<QueueState | undefined> {
  try {
    const { messageCount, consumerCount } = await onThrowawayChannel(broker, (channel) => channel.checkQueue(queue));
    return { messageCount, consumerCount };
  } catch (error) {
    if (isNotFound(error)) return undefined;
    throw error;
  }
}

/** Deletes a queue whatever it holds; returns the number of messages deleted with it (0 when it did not exist). */
export async function deleteQueue(broker: ChannelFactory, queue: string): Promise<number> {
  const { messageCount } = await onThrowawayChannel(broker, (channel) => channel.deleteQueue(queue));
  return messageCount;
}

/** Removes a binding; a binding, queue or exchange that is already gone counts as removed. */
export async function unbindQueue(
  broker: ChannelFactory,
  queue: string,
  exchange: string,
  routingKey: string,
): Promise<void> {
  try {
    await onThrowawayChannel(broker, (channel) => channel.unbindQueue(queue, exchange, routingKey));
  } catch (error) {
    if (!isNotFound(error)) throw error;
  }
}
