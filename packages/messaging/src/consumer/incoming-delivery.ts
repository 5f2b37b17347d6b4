import type { MessageHandler } from '@nestjs/microservices';
import type { ConsumeMessage } from 'amqplib';
import { isObservable, lastValueFrom } from 'rxjs';
import { HEADERS, headersOf, positiveIntHeader, stringHeader } from '../message-headers.js';
import type { BrokerEndpoint, DeliveryTarget } from '../observability/message-tracing.js';
import type { EventContext, IncomingMessage } from './event-context.js';
import { isRetryCopy } from './transport-origin.js';

/** Runs a Nest handler and waits for it, whether it returns a value, a Promise or an Observable. */
export async function invokeHandler(handler: MessageHandler, data: unknown, ctx: EventContext): Promise<void> {
  const result: unknown = await handler(data, ctx);
  if (isObservable(result)) await lastValueFrom(result, { defaultValue: undefined });
}

export function toIncomingMessage(raw: ConsumeMessage): IncomingMessage {
  const p = raw.properties;
  const str = (value: unknown): string | undefined => (typeof value === 'string' ? value : undefined);
  return {
    content: raw.content,
    properties: {
      messageId: str(p.messageId),
      type: str(p.type),
      timestamp: typeof p.timestamp === 'number' ? p.timestamp : undefined,
      contentType: str(p.contentType),
      contentEncoding: str(p.contentEncoding),
      appId: str(p.appId),
      correlationId: str(p.correlationId),
      headers: Object.freeze(headersOf(raw)),
    },
    fields: { exchange: raw.fields.exchange, routingKey: raw.fields.routingKey, redelivered: raw.fields.redelivered },
  };
}

/**
 * Which attempt this delivery is. Only a message back from a retry tier (dead-lettered by the tier into the work
 * queue through the default exchange) carries a count we wrote; on one published to an exchange the header is a
 * producer's forgery (the decoder rejects it as `forged_header`) and must not skip tiers or show up on its dead letter.
 */
export function attemptOf(raw: ConsumeMessage): number {
  if (raw.fields.exchange !== '') return 1;
  return positiveIntHeader(headersOf(raw), HEADERS.attempt) ?? 1;
}

/**
 * What the delivery span is about: queue, the exchange and routing key the event was published with, ids, and whether
 * the message is back from a retry or the DLQ. Only a copy back from a retry tier (`isRetryCopy`) is trusted to
 * name its original exchange and routing key; on anything else such headers are a producer's.
 */
export function deliveryTarget(
  queue: string,
  server: BrokerEndpoint,
  raw: ConsumeMessage,
  ownUser?: string,
): DeliveryTarget {
  const headers = headersOf(raw);
  const fromTier = isRetryCopy(queue, raw, ownUser);
  return {
    queue,
    exchange: (fromTier ? stringHeader(headers, HEADERS.originalExchange) : undefined) ?? raw.fields.exchange,
    routingKey: (fromTier ? stringHeader(headers, HEADERS.originalRoutingKey) : undefined) ?? raw.fields.routingKey,
    messageId: typeof raw.properties.messageId === 'string' ? raw.properties.messageId : undefined,
    correlationId: typeof raw.properties.correlationId === 'string' ? raw.properties.correlationId : undefined,
    deliveryTag: raw.fields.deliveryTag,
    server,
    headers,
    attempt: attemptOf(raw),
    replayedAt: stringHeader(headers, HEADERS.replayedAt),
  };
}

/** Lag from when the event happened (or was stamped; AMQP timestamps may be seconds or milliseconds). */
export function lagOf(occurredAt: string | undefined, message: IncomingMessage): number | undefined {
  const occurred = occurredAt ? Date.parse(occurredAt) : Number.NaN;
  if (Number.isFinite(occurred)) return Math.max(0, Date.now() - occurred);
  const stamp = message.properties.timestamp;
  if (stamp === undefined) return undefined;
  return Math.max(0, Date.now() - (stamp < 1e12 ? stamp * 1000 : stamp));
}
