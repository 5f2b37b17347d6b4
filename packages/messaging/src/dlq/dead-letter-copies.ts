import type { Channel, GetMessage, Message } from 'amqplib';
import { createHash } from 'node:crypto';

/**
 * Copies of one dead letter. The DLQ can hold one event twice: the transport's copy was confirmed but the ack of the
 * original was lost (its channel or connection died in between), so the original came back, failed again and was
 * copied again (or another replica, or a retry copy made twice, did the same). The DLQ tools count, replay and discard
 * per dead letter: messages with the same event id AND the same body are copies of one; a message without an id
 * stands alone, and one with a known id but another body is a dead letter of its own (a producer reused the id, see
 * `conflicting_duplicate`), so removing "extra copies" can never drop an event nobody else holds.
 */
export function copyKey(message: Pick<Message, 'properties' | 'content'>, position: number): string {
  const { messageId } = message.properties as { messageId?: unknown };
  if (typeof messageId !== 'string' || messageId.length === 0) return `#${position}`;
  return `${messageId}\u0000${createHash('sha256').update(message.content).digest('hex')}`;
}

/** The event id of a dead letter, when it has one. */
export function eventIdOf(message: Pick<Message, 'properties'>): string | undefined {
  const { messageId } = message.properties as { messageId?: unknown };
  return typeof messageId === 'string' && messageId.length > 0 ? messageId : undefined;
}

/**
 * Gets (without ack) at most the messages the DLQ held when the scan began, in queue order, handing each to `visit`
 * with its copy key and how many copies of that dead letter came before it (0 for the first). Never more gets than
 * that count: the messages stay unacked, so none is seen twice, and what arrives meanwhile waits for the next scan.
 * Returns how many it got.
 */
export async function scanDeadLetters(
  channel: Channel,
  dlq: string,
  visit: (message: GetMessage, key: string, earlierCopies: number) => Promise<void> | void,
): Promise<number> {
  const { messageCount } = await channel.checkQueue(dlq);
  const seen = new Map<string, number>();
  let position = 0;
  for (; position < messageCount; position++) {
    const message = await channel.get(dlq, { noAck: false });
    if (!message) break;
    const key = copyKey(message, position);
    const earlier = seen.get(key) ?? 0;
    seen.set(key, earlier + 1);
    await visit(message, key, earlier);
  }
  return position;
}
