import { ACCEPTED_CLOUDEVENTS_HEADER_PREFIXES } from '@switchyard/contracts';
import type { Channel, ChannelModel, ConfirmChannel, Message } from 'amqplib';
import { DEFAULT_CONFIRM_TIMEOUT_MS } from '../publishing/event-publisher.js';
import { BROKER_DEATH_HEADERS, HEADERS, positiveIntHeader, stringHeader } from '../message-headers.js';
import { PublishNackError, PublishTimeoutError, UnroutableMessageError } from '../messaging-errors.js';
import { DEFAULT_EXCHANGE, deadLetterQueueName } from '../topology/topology-plan.js';

/**
 * Inspecting and replaying dead letters. Reading never consumes: messages are fetched without ack on a channel
 * of their own, which is then closed so the broker puts every one of them back. Works on messages this package
 * dead-lettered (with `x-death-reason` and friends) and on those the broker dead-lettered itself (delivery
 * limit), whose reason comes from `x-death`.
 */

/** Default number of dead letters `list` shows. */
export const DEFAULT_LIST_LIMIT = 50;

export interface DeadLetterSummary {
  eventId: string | undefined;
  type: string | undefined;
  /** Ours (`retries_exhausted`, `schema_invalid`, …) or the broker's (`delivery_limit`, `expired`, `maxlen`, `rejected`). */
  reason: string;
  attempts: number | undefined;
  firstFailureAt: string | undefined;
  lastFailureAt: string | undefined;
  errorClass: string | undefined;
  errorMessage: string | undefined;
  originalExchange: string | undefined;
  originalRoutingKey: string | undefined;
  consumerService: string | undefined;
  consumerQueue: string | undefined;
}

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
  const list = await withReadChannel(connection, async (channel) => {
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
  const letter = await withReadChannel(connection, async (channel): Promise<DeadLetter | undefined> => {
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
  const publisher = await connection.createConfirmChannel();
  publisher.on('error', () => undefined);
  let returned: string | undefined;
  publisher.on('return', (message: Message) => {
    returned = (message.fields as unknown as { replyText?: string }).replyText ?? 'NO_ROUTE';
  });
  let messageCount: number;
  try {
    // Only as many gets as there were messages: the ones skipped stay unacked, so no message is seen twice.
    ({ messageCount } = await reader.checkQueue(dlq));
    for (let i = 0; i < messageCount; i++) {
      const message = await reader.get(dlq, { noAck: false });
      if (!message) break;
      const eventId = typeof message.properties.messageId === 'string' ? message.properties.messageId : undefined;
      if (!options.all && (eventId === undefined || !wanted.has(eventId))) continue;
      if (eventId) seen.add(eventId);
      const target = replayTarget(message, options.exchange);
      returned = undefined;
      try {
        await publishConfirmed(
          publisher,
          target.exchange,
          target.routingKey,
          message.content,
          replayProperties(message, now),
          options.confirmTimeoutMs ?? DEFAULT_CONFIRM_TIMEOUT_MS,
        );
        // A return arrives before the confirm of the same message, and publishes here go one at a time.
        if (returned !== undefined)
          throw new UnroutableMessageError(eventId ?? '(no id)', target.exchange, target.routingKey, returned);
        reader.ack(message);
        result.replayed.push(eventId ?? '(no id)');
      } catch (error) {
        result.failed.push({ eventId, error: error instanceof Error ? error.message : String(error) });
      }
    }
  } finally {
    await publisher.close().catch(() => undefined);
    await reader.close().catch(() => undefined);
  }
  await waitForRequeue(connection, dlq, messageCount - result.replayed.length);
  result.notFound = [...wanted].filter((id) => !seen.has(id));
  return result;
}

/** Deletes every message of the DLQ; returns how many there were. */
export async function purgeDeadLetters(connection: ChannelModel, queue: string): Promise<number> {
  const dlq = resolveDeadLetterQueue(queue);
  const channel = await connection.createChannel();
  channel.on('error', () => undefined);
  try {
    await channel.checkQueue(dlq);
    const { messageCount } = await channel.purgeQueue(dlq);
    return messageCount;
  } finally {
    await channel.close().catch(() => undefined);
  }
}

/** What a dead letter says about itself, whoever dead-lettered it. */
export function summarizeDeadLetter(message: Pick<Message, 'properties' | 'fields'>): DeadLetterSummary {
  const headers = headersOf(message);
  const lastDeath = latestDeath(headers);
  const deathTime = lastDeath?.time;
  return {
    eventId: typeof message.properties.messageId === 'string' ? message.properties.messageId : undefined,
    type:
      typeof message.properties.type === 'string'
        ? message.properties.type
        : ACCEPTED_CLOUDEVENTS_HEADER_PREFIXES.map((prefix) => stringHeader(headers, `${prefix}type`)).find(
            (type) => type !== undefined,
          ),
    reason:
      stringHeader(headers, HEADERS.deathReason) ??
      stringHeader(headers, 'x-last-death-reason') ??
      lastDeath?.reason ??
      stringHeader(headers, 'x-first-death-reason') ??
      'unknown',
    attempts: positiveIntHeader(headers, HEADERS.attempts) ?? positiveIntHeader(headers, HEADERS.attempt),
    firstFailureAt: stringHeader(headers, HEADERS.firstFailureAt),
    lastFailureAt:
      stringHeader(headers, HEADERS.lastFailureAt) ??
      (deathTime !== undefined ? new Date(deathTime * 1000).toISOString() : undefined),
    errorClass: stringHeader(headers, HEADERS.errorClass),
    errorMessage: stringHeader(headers, HEADERS.errorMessage) ?? stringHeader(headers, HEADERS.lastError),
    originalExchange:
      typeof headers[HEADERS.originalExchange] === 'string'
        ? (headers[HEADERS.originalExchange] as string)
        : originalFromDeaths(headers)?.exchange,
    originalRoutingKey: stringHeader(headers, HEADERS.originalRoutingKey) ?? originalFromDeaths(headers)?.routingKey,
    consumerService: stringHeader(headers, HEADERS.consumerService),
    consumerQueue: stringHeader(headers, HEADERS.consumerQueue) ?? lastDeath?.queue,
  };
}

interface DeathEntry {
  reason: string | undefined;
  queue: string | undefined;
  exchange: string | undefined;
  routingKeys: string[];
  /** Seconds since the epoch. */
  time: number | undefined;
}

/** `x-death` entries, most recent first (as the broker keeps them). */
function deaths(headers: Record<string, unknown>): DeathEntry[] {
  const raw = headers['x-death'];
  if (!Array.isArray(raw)) return [];
  return raw
    .filter((entry): entry is Record<string, unknown> => typeof entry === 'object' && entry !== null)
    .map((entry) => {
      const time = entry.time as { value?: unknown } | number | undefined;
      const seconds = typeof time === 'number' ? time : typeof time?.value === 'number' ? time.value : undefined;
      return {
        reason: typeof entry.reason === 'string' ? entry.reason : undefined,
        queue: typeof entry.queue === 'string' ? entry.queue : undefined,
        exchange: typeof entry.exchange === 'string' ? entry.exchange : undefined,
        routingKeys: Array.isArray(entry['routing-keys'])
          ? entry['routing-keys'].filter((key): key is string => typeof key === 'string')
          : [],
        time: seconds,
      };
    });
}

function latestDeath(headers: Record<string, unknown>): DeathEntry | undefined {
  return deaths(headers)[0];
}

/** The first hop that came through a named exchange: where the event was originally published. */
function originalFromDeaths(headers: Record<string, unknown>): { exchange: string; routingKey: string } | undefined {
  const entry = [...deaths(headers)].reverse().find((death) => death.exchange && death.routingKeys.length > 0);
  return entry ? { exchange: entry.exchange!, routingKey: entry.routingKeys[0]! } : undefined;
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

/** The original properties and headers, less every failure and death record, plus `x-replayed-at`. */
function replayProperties(message: Message, replayedAt: string): Record<string, unknown> {
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
  return { ...properties, headers: { ...kept, [HEADERS.replayedAt]: replayedAt } };
}

function publishConfirmed(
  channel: ConfirmChannel,
  exchange: string,
  routingKey: string,
  content: Buffer,
  properties: Record<string, unknown>,
  timeoutMs: number,
): Promise<void> {
  const messageId = typeof properties.messageId === 'string' ? properties.messageId : '(no id)';
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new PublishTimeoutError(messageId, timeoutMs)), timeoutMs);
    try {
      channel.publish(
        exchange,
        routingKey,
        content,
        { ...properties, persistent: true, mandatory: true },
        (error: unknown) => {
          clearTimeout(timer);
          if (error)
            reject(
              error instanceof Error && error.message === 'message nacked' ? new PublishNackError(messageId) : error,
            );
          else resolve();
        },
      );
    } catch (error) {
      clearTimeout(timer);
      reject(error);
    }
  });
}

async function withReadChannel<T>(connection: ChannelModel, read: (channel: Channel) => Promise<T>): Promise<T> {
  const channel = await connection.createChannel();
  let closed = false;
  channel.on('error', () => undefined);
  channel.on('close', () => (closed = true));
  try {
    return await read(channel);
  } finally {
    // Closing returns every unacked message to the queue: reading consumed nothing.
    if (!closed) await channel.close().catch(() => undefined);
  }
}

/** How long to wait for messages handed back by a closed read channel to be ready again: 2 s. */
const REQUEUE_SETTLE_TIMEOUT_MS = 2_000;

/**
 * A quorum queue takes back the messages of a closed channel asynchronously. Wait (bounded) until the queue is
 * back to `expected` ready messages, so that a `list` followed at once by `replay` sees every message.
 */
async function waitForRequeue(connection: ChannelModel, queue: string, expected: number): Promise<void> {
  if (expected <= 0) return;
  const channel = await connection.createChannel();
  channel.on('error', () => undefined);
  try {
    const deadline = Date.now() + REQUEUE_SETTLE_TIMEOUT_MS;
    while (Date.now() < deadline) {
      const { messageCount } = await channel.checkQueue(queue);
      if (messageCount >= expected) return;
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
  } finally {
    await channel.close().catch(() => undefined);
  }
}

function headersOf(message: Pick<Message, 'properties'>): Record<string, unknown> {
  return { ...((message.properties.headers as Record<string, unknown> | undefined) ?? {}) };
}

function definedProperties(message: Pick<Message, 'properties'>): Record<string, unknown> {
  return Object.fromEntries(Object.entries(message.properties).filter(([, value]) => value !== undefined));
}
