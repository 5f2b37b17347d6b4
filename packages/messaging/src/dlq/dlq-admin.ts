import type { ChannelModel, Message } from 'amqplib';
import { randomUUID } from 'node:crypto';
import { onThrowawayChannel } from '../connection/throwaway-channel.js';
import { BROKER_DEATH_HEADERS, HEADERS, headersOf } from '../message-headers.js';
import {
  DEFAULT_CONFIRM_TIMEOUT_MS,
  EventPublisher,
  type PublishProperties,
  type PublisherConnection,
} from '../publishing/event-publisher.js';
import { errorMessage } from '../to-error.js';
import { DEFAULT_EXCHANGE, deadLetterQueueName } from '../topology/topology-plan.js';
import { type DeadLetterSummary, summarizeDeadLetter } from './dead-letter-summary.js';

/**
 * Inspecting and replaying dead letters. Reading never consumes: messages are fetched without ack on a channel
 * of their own, which is then closed so the broker puts every one of them back. Works on messages this package
 * dead-lettered (with `x-death-reason` and friends) and on those the broker dead-lettered itself (delivery
 * limit), whose reason comes from `x-death`.
 */

/** Default number of dead letters `list` shows. */
export const DEFAULT_LIST_LIMIT = 50;

export interface DeadLetter extends DeadLetterSummary {
  properties: Record<string, unknown>;
  headers: Record<string, unknown>;
  body: Buffer;
}

export interface DeadLetterList {
  queue: string;
  /** Messages in the DLQ when it was read. */
  total: number;
  items: DeadLetterSummary[];
}

export interface ReplayOptions {
  /** Event ids to replay (every copy of each); or set `all`. */
  ids?: readonly string[];
  all?: boolean;
  /** Exchange to publish to; default the message's `x-original-exchange`, else `switchyard.events`. */
  exchange?: string;
  confirmTimeoutMs?: number;
  now?: Date;
}

export interface ReplayResult {
  replayed: string[];
  /** Requested ids not found in the DLQ. */
  notFound: string[];
  /** Left in the DLQ because publishing failed. */
  failed: Array<{ eventId: string | undefined; error: string }>;
}

/** `order-service.user-events` and `order-service.user-events.dlq` both name the DLQ of that queue. */
export function resolveDeadLetterQueue(queue: string): string {
  return queue.endsWith('.dlq') ? queue : deadLetterQueueName(queue);
}

/** Lists up to `limit` dead letters without consuming them. */
export async function listDeadLetters(
  connection: ChannelModel,
  queue: string,
  options: { limit?: number } = {},
): Promise<DeadLetterList> {
  const dlq = resolveDeadLetterQueue(queue);
  const limit = options.limit ?? DEFAULT_LIST_LIMIT;
  let total = 0;
  const list = await onThrowawayChannel(connection, async (channel) => {
    ({ messageCount: total } = await channel.checkQueue(dlq));
    const items: DeadLetterSummary[] = [];
    for (let i = 0; i < Math.min(limit, total); i++) {
      const message = await channel.get(dlq, { noAck: false });
      if (!message) break;
      items.push(summarizeDeadLetter(message));
    }
    return { queue: dlq, total, items };
  });
  await waitForRequeue(connection, dlq, total);
  return list;
}

/** Finds one dead letter by event id (the first copy), without consuming it. */
export async function showDeadLetter(
  connection: ChannelModel,
  queue: string,
  eventId: string,
): Promise<DeadLetter | undefined> {
  const dlq = resolveDeadLetterQueue(queue);
  let total = 0;
  const letter = await onThrowawayChannel(connection, async (channel): Promise<DeadLetter | undefined> => {
    ({ messageCount: total } = await channel.checkQueue(dlq));
    for (let i = 0; i < total; i++) {
      const message = await channel.get(dlq, { noAck: false });
      if (!message) break;
      if (message.properties.messageId === eventId) {
        return {
          ...summarizeDeadLetter(message),
          properties: definedProperties(message),
          headers: headersOf(message),
          body: message.content,
        };
      }
    }
    return undefined;
  });
  await waitForRequeue(connection, dlq, total);
  return letter;
}

/**
 * Publishes the chosen dead letters to the exchange again with their original routing key and messageId (so
 * inboxes still dedupe), failure headers removed (attempts start again at 1) and `x-replayed-at` added; each is
 * acked from the DLQ only after the broker confirmed its replay. Every queue bound for that routing key gets it.
 */
export async function replayDeadLetters(
  connection: ChannelModel,
  queue: string,
  options: ReplayOptions,
): Promise<ReplayResult> {
  if (!options.all && (!options.ids || options.ids.length === 0))
    throw new TypeError('replay needs event ids or `all`');
  const dlq = resolveDeadLetterQueue(queue);
  const wanted = new Set(options.ids ?? []);
  const seen = new Set<string>();
  const result: ReplayResult = { replayed: [], notFound: [], failed: [] };
  const now = (options.now ?? new Date()).toISOString();
  const reader = await connection.createChannel();
  reader.on('error', () => undefined);
  // The event publisher's confirm handling (persistent, mandatory, returns, nacks, timeout), on this one connection.
  const publisher = new EventPublisher({
    connection: fixedConnection(connection),
    confirmTimeoutMs: options.confirmTimeoutMs ?? DEFAULT_CONFIRM_TIMEOUT_MS,
  });
  let messageCount: number;
  try {
    await publisher.start();
    // Only as many gets as there were messages: the ones skipped stay unacked, so no message is seen twice.
    ({ messageCount } = await reader.checkQueue(dlq));
    for (let i = 0; i < messageCount; i++) {
      const message = await reader.get(dlq, { noAck: false });
      if (!message) break;
      const eventId = typeof message.properties.messageId === 'string' ? message.properties.messageId : undefined;
      if (!options.all && (eventId === undefined || !wanted.has(eventId))) continue;
      if (eventId) seen.add(eventId);
      const target = replayTarget(message, options.exchange);
      const properties = replayProperties(message, now);
      try {
        await publisher.publish(target.exchange, target.routingKey, message.content, properties);
        reader.ack(message);
        result.replayed.push(properties.messageId);
      } catch (error) {
        result.failed.push({ eventId, error: errorMessage(error) });
      }
    }
  } finally {
    await publisher.close();
    await reader.close().catch(() => undefined);
  }
  await waitForRequeue(connection, dlq, messageCount - result.replayed.length);
  result.notFound = [...wanted].filter((id) => !seen.has(id));
  return result;
}

/** Deletes every message of the DLQ; returns how many there were. */
export async function purgeDeadLetters(connection: ChannelModel, queue: string): Promise<number> {
  const dlq = resolveDeadLetterQueue(queue);
  return onThrowawayChannel(connection, async (channel) => {
    await channel.checkQueue(dlq);
    const { messageCount } = await channel.purgeQueue(dlq);
    return messageCount;
  });
}

function replayTarget(
  message: Message,
  exchangeOverride: string | undefined,
): { exchange: string; routingKey: string } {
  const summary = summarizeDeadLetter(message);
  const exchange = exchangeOverride ?? (summary.originalExchange || DEFAULT_EXCHANGE);
  const routingKey = summary.originalRoutingKey || summary.type || message.fields.routingKey;
  return { exchange, routingKey };
}

/**
 * The original properties and headers, less every failure and death record, plus `x-replayed-at`. A message
 * without an id (the broker may dead-letter one) gets one, as retry and dead-letter copies do: the publisher
 * matches returns by id.
 */
function replayProperties(message: Message, replayedAt: string): PublishProperties {
  const headers = headersOf(message);
  const dropped = new Set<string>([
    HEADERS.attempt,
    HEADERS.attempts,
    HEADERS.firstFailureAt,
    HEADERS.lastFailureAt,
    HEADERS.lastError,
    HEADERS.deathReason,
    HEADERS.errorClass,
    HEADERS.errorMessage,
    HEADERS.originalExchange,
    HEADERS.originalRoutingKey,
    HEADERS.consumerService,
    HEADERS.consumerQueue,
    ...BROKER_DEATH_HEADERS,
  ]);
  const kept = Object.fromEntries(Object.entries(headers).filter(([name]) => !dropped.has(name)));
  const {
    expiration: _expiration,
    userId: _userId,
    deliveryMode: _deliveryMode,
    headers: _headers,
    ...properties
  } = definedProperties(message);
  const messageId =
    typeof properties.messageId === 'string' && properties.messageId ? properties.messageId : randomUUID();
  return { ...properties, messageId, headers: { ...kept, [HEADERS.replayedAt]: replayedAt } };
}

/** How long to wait for messages handed back by a closed read channel to be ready again: 2 s. */
const REQUEUE_SETTLE_TIMEOUT_MS = 2_000;

/**
 * A quorum queue takes back the messages of a closed channel asynchronously. Wait (bounded) until the queue is
 * back to `expected` ready messages, so that a `list` followed at once by `replay` sees every message.
 */
async function waitForRequeue(connection: ChannelModel, queue: string, expected: number): Promise<void> {
  if (expected <= 0) return;
  await onThrowawayChannel(connection, async (channel) => {
    const deadline = Date.now() + REQUEUE_SETTLE_TIMEOUT_MS;
    while (Date.now() < deadline) {
      const { messageCount } = await channel.checkQueue(queue);
      if (messageCount >= expected) return;
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
  });
}

function definedProperties(message: Pick<Message, 'properties'>): Record<string, unknown> {
  return Object.fromEntries(Object.entries(message.properties).filter(([, value]) => value !== undefined));
}

/**
 * The CLI's plain connection as the publisher's: set up once, never reconnected. Its endpoint is only for trace
 * attributes, and replays are not traced.
 */
function fixedConnection(model: ChannelModel): PublisherConnection {
  return {
    endpoint: { address: 'unknown', port: 0 },
    current: () => model,
    onConnected: async (setup) => {
      await setup(model);
      return () => undefined;
    },
  };
}
