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
import { eventIdOf, scanDeadLetters } from './dead-letter-copies.js';
import { recordedProducer } from './recorded-origin.js';
import { type DeadLetterSummary, summarizeDeadLetter } from './dead-letter-summary.js';

/**
 * Inspecting and replaying dead letters. Reading never consumes: messages are fetched without ack on a channel
 * of their own, which is then closed so the broker puts every one of them back. Works on messages this package
 * dead-lettered (with `x-death-reason` and friends) and on those the broker dead-lettered itself (delivery
 * limit), whose reason comes from `x-death`.
 */

/** Default number of dead letters `list` shows. */
export const DEFAULT_LIST_LIMIT = 50;

export interface DeadLetter extends DeadLetterEntry {
  properties: Record<string, unknown>;
  headers: Record<string, unknown>;
  body: Buffer;
}

/** One dead letter as the tools count it: the first of its copies (same event id, same body; `copyKey`). */
export interface DeadLetterEntry extends DeadLetterSummary {
  /** Messages in the DLQ holding this dead letter; more than 1 when a copy was made twice (a lost ack). */
  copies: number;
}

export interface DeadLetterList {
  queue: string;
  /** Messages in the DLQ when it was read, copies included. */
  total: number;
  /** Dead letters among them, each counted once however many copies it has. */
  deadLetters: number;
  /** The first `limit` dead letters, in queue order. */
  items: DeadLetterEntry[];
}

export interface ReplayOptions {
  /** Event ids to replay (each once, its extra copies removed); or set `all`. */
  ids?: readonly string[];
  all?: boolean;
  /** Exchange to publish to; default the message's `x-original-exchange`, else `switchyard.events`. */
  exchange?: string;
  confirmTimeoutMs?: number;
  now?: Date;
}

export interface ReplayResult {
  /** Event ids published again, each once. */
  replayed: string[];
  /** Extra copies of replayed dead letters, removed without being published. */
  removedCopies: number;
  /** Requested ids not found in the DLQ. */
  notFound: string[];
  /** Left in the DLQ (with every copy) because publishing failed. */
  failed: Array<{ eventId: string | undefined; error: string }>;
}

export interface DiscardResult {
  /** Event ids removed, each once, with every copy. */
  discarded: string[];
  /** Requested ids not found in the DLQ. */
  notFound: string[];
  /** Messages removed, copies included. */
  messages: number;
}

export interface PurgeResult {
  /** Messages removed, copies included. */
  messages: number;
  /** Dead letters among them, each counted once. */
  deadLetters: number;
}

/** `order-service.user-events` and `order-service.user-events.dlq` both name the DLQ of that queue. */
export function resolveDeadLetterQueue(queue: string): string {
  return queue.endsWith('.dlq') ? queue : deadLetterQueueName(queue);
}

/** Lists up to `limit` dead letters, one entry per dead letter with its copy count, without consuming them. */
export async function listDeadLetters(
  connection: ChannelModel,
  queue: string,
  options: { limit?: number } = {},
): Promise<DeadLetterList> {
  const dlq = resolveDeadLetterQueue(queue);
  const limit = options.limit ?? DEFAULT_LIST_LIMIT;
  const entries = new Map<string, DeadLetterEntry>();
  // Every message is read, whatever the limit: a copy may sit anywhere in the queue.
  const total = await onThrowawayChannel(connection, (channel) =>
    scanDeadLetters(channel, dlq, (message, key) => {
      const entry = entries.get(key);
      if (entry) entry.copies += 1;
      else entries.set(key, { ...summarizeDeadLetter(message), copies: 1 });
    }),
  );
  await waitForRequeue(connection, dlq, total);
  return { queue: dlq, total, deadLetters: entries.size, items: [...entries.values()].slice(0, limit) };
}

/** Finds one dead letter by event id (its first copy, with the count of its copies), without consuming it. */
export async function showDeadLetter(
  connection: ChannelModel,
  queue: string,
  eventId: string,
): Promise<DeadLetter | undefined> {
  const dlq = resolveDeadLetterQueue(queue);
  let letter: DeadLetter | undefined;
  let letterKey: string | undefined;
  const total = await onThrowawayChannel(connection, (channel) =>
    scanDeadLetters(channel, dlq, (message, key) => {
      if (letter) {
        if (key === letterKey) letter.copies += 1;
        return;
      }
      if (message.properties.messageId !== eventId) return;
      letterKey = key;
      letter = {
        ...summarizeDeadLetter(message),
        copies: 1,
        properties: definedProperties(message),
        headers: headersOf(message),
        body: message.content,
      };
    }),
  );
  await waitForRequeue(connection, dlq, total);
  return letter;
}

/**
 * Publishes the chosen dead letters to the exchange again with their original routing key and messageId (so
 * inboxes still dedupe), failure headers removed (attempts start again at 1) and `x-replayed-at` added; each is
 * acked from the DLQ only after the broker confirmed its replay. Every queue bound for that routing key gets it.
 * A dead letter with several copies is published once (its first copy), and its other copies are acked only after
 * that publish was confirmed; when it failed, every copy stays.
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
  const replayedKeys = new Set<string>();
  const result: ReplayResult = { replayed: [], removedCopies: 0, notFound: [], failed: [] };
  const now = (options.now ?? new Date()).toISOString();
  const reader = await connection.createChannel();
  reader.on('error', () => undefined);
  // The event publisher's confirm handling (persistent, mandatory, returns, nacks, timeout), on this one connection.
  const publisher = new EventPublisher({
    connection: fixedConnection(connection),
    confirmTimeoutMs: options.confirmTimeoutMs ?? DEFAULT_CONFIRM_TIMEOUT_MS,
  });
  let messageCount: number;
  let acked = 0;
  try {
    await publisher.start();
    messageCount = await scanDeadLetters(reader, dlq, async (message, key, earlierCopies) => {
      const eventId = eventIdOf(message);
      if (!options.all && (eventId === undefined || !wanted.has(eventId))) return;
      if (eventId) seen.add(eventId);
      if (earlierCopies > 0) {
        // A copy of a dead letter met before: gone with it once its replay is confirmed, else it stays with it.
        if (!replayedKeys.has(key)) return;
        reader.ack(message);
        acked += 1;
        result.removedCopies += 1;
        return;
      }
      const target = replayTarget(message, options.exchange);
      const properties = replayProperties(message, now, recordedProducer(message, dlq));
      try {
        await publisher.publish(target.exchange, target.routingKey, message.content, properties);
        reader.ack(message);
        acked += 1;
        replayedKeys.add(key);
        result.replayed.push(properties.messageId);
      } catch (error) {
        result.failed.push({ eventId, error: errorMessage(error) });
      }
    });
  } finally {
    await publisher.close();
    await reader.close().catch(() => undefined);
  }
  await waitForRequeue(connection, dlq, messageCount - acked);
  result.notFound = [...wanted].filter((id) => !seen.has(id));
  return result;
}

/** Deletes the dead letters with these event ids, every copy of each, without publishing them. */
export async function discardDeadLetters(
  connection: ChannelModel,
  queue: string,
  ids: readonly string[],
): Promise<DiscardResult> {
  if (ids.length === 0) throw new TypeError('discard needs event ids');
  const dlq = resolveDeadLetterQueue(queue);
  const wanted = new Set(ids);
  const discarded = new Set<string>();
  let messages = 0;
  const total = await onThrowawayChannel(connection, (channel) =>
    scanDeadLetters(channel, dlq, (message) => {
      const eventId = eventIdOf(message);
      if (eventId === undefined || !wanted.has(eventId)) return;
      channel.ack(message);
      messages += 1;
      discarded.add(eventId);
    }),
  );
  await waitForRequeue(connection, dlq, total - messages);
  return { discarded: [...discarded], notFound: ids.filter((id) => !discarded.has(id)), messages };
}

/**
 * Deletes every message the DLQ holds when it begins (one arriving meanwhile stays for the next look); returns how
 * many messages and how many dead letters (copies counted once) that was.
 */
export async function purgeDeadLetters(connection: ChannelModel, queue: string): Promise<PurgeResult> {
  const dlq = resolveDeadLetterQueue(queue);
  let deadLetters = 0;
  const messages = await onThrowawayChannel(connection, (channel) =>
    scanDeadLetters(channel, dlq, (message, _key, earlierCopies) => {
      channel.ack(message);
      if (earlierCopies === 0) deadLetters += 1;
    }),
  );
  return { messages, deadLetters };
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
 * The original properties and headers, less every failure and death record, plus `x-replayed-at`, under the
 * recorded producer's `user-id` (`recordedProducer`; the replaying user needs the `impersonator` tag). A message
 * without an id (the broker may dead-letter one) gets one, as retry and dead-letter copies do: the publisher
 * matches returns by id.
 */
function replayProperties(message: Message, replayedAt: string, producer: string | undefined): PublishProperties {
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
    HEADERS.originalUserId,
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
  return {
    ...properties,
    messageId,
    headers: { ...kept, [HEADERS.replayedAt]: replayedAt },
    ...(producer !== undefined ? { userId: producer } : {}),
  };
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
