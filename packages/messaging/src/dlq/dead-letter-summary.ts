import { ACCEPTED_CLOUDEVENTS_HEADER_PREFIXES } from '@switchyard/contracts';
import type { Message } from 'amqplib';
import { HEADERS, headersOf, positiveIntHeader, stringHeader } from '../message-headers.js';
import { recordedOrigin } from './recorded-origin.js';

/**
 * What a dead letter says about itself: from the headers this package writes when it dead-letters (`x-death-reason`
 * and friends), or from the broker's `x-death` history when the broker dead-lettered it (delivery limit).
 */

export interface DeadLetterSummary {
  eventId: string | undefined;
  type: string | undefined;
  /** Ours (`retries_exhausted`, `schema_invalid`, `message_too_large`, …) or the broker's (`delivery_limit`, `expired`, `maxlen`). */
  reason: string;
  attempts: number | undefined;
  firstFailureAt: string | undefined;
  lastFailureAt: string | undefined;
  errorClass: string | undefined;
  errorMessage: string | undefined;
  /** Where it was first published, from a record no producer can write (`recordedOrigin`): where replay sends it. */
  originalExchange: string | undefined;
  originalRoutingKey: string | undefined;
  consumerService: string | undefined;
  consumerQueue: string | undefined;
}

/** What a dead letter says about itself, whoever dead-lettered it. */
export function summarizeDeadLetter(message: Pick<Message, 'properties' | 'fields'>): DeadLetterSummary {
  const headers = headersOf(message);
  const lastDeath = latestDeath(headers);
  const deathTime = lastDeath?.time;
  const origin = recordedOrigin(headers);
  return {
    eventId: typeof message.properties.messageId === 'string' ? message.properties.messageId : undefined,
    type:
      typeof message.properties.type === 'string'
        ? message.properties.type
        : ACCEPTED_CLOUDEVENTS_HEADER_PREFIXES.map((prefix) => stringHeader(headers, `${prefix}type`)).find(
            (type) => type !== undefined,
          ),
    reason: stringHeader(headers, HEADERS.deathReason) ?? brokerReason(headers, lastDeath),
    attempts: positiveIntHeader(headers, HEADERS.attempts) ?? positiveIntHeader(headers, HEADERS.attempt),
    firstFailureAt: stringHeader(headers, HEADERS.firstFailureAt),
    lastFailureAt:
      stringHeader(headers, HEADERS.lastFailureAt) ??
      (deathTime !== undefined ? new Date(deathTime * 1000).toISOString() : undefined),
    errorClass: stringHeader(headers, HEADERS.errorClass),
    errorMessage: stringHeader(headers, HEADERS.errorMessage) ?? stringHeader(headers, HEADERS.lastError),
    originalExchange: origin.exchange ?? originalFromDeaths(headers)?.exchange,
    originalRoutingKey: origin.routingKey ?? originalFromDeaths(headers)?.routingKey,
    consumerService: stringHeader(headers, HEADERS.consumerService),
    consumerQueue: stringHeader(headers, HEADERS.consumerQueue) ?? lastDeath?.queue,
  };
}

/**
 * The reason of a dead letter the broker moved itself. The transport rejects (nack without requeue) only messages
 * over its size limit, which it does not copy (delivery-handling.ts), so a `rejected` one is `message_too_large`.
 */
function brokerReason(headers: Record<string, unknown>, lastDeath: DeathEntry | undefined): string {
  const reason =
    stringHeader(headers, 'x-last-death-reason') ??
    lastDeath?.reason ??
    stringHeader(headers, 'x-first-death-reason') ??
    'unknown';
  return reason === 'rejected' ? 'message_too_large' : reason;
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
