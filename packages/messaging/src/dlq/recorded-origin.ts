import type { Message } from 'amqplib';
import { HEADERS, headersOf, stringHeader } from '../message-headers.js';

/** Where a dead letter's event was first published, as replay trusts it. */
export interface RecordedOrigin {
  exchange: string | undefined;
  routingKey: string | undefined;
}

/**
 * Where a dead letter was first published, from a record a producer cannot write. Replay publishes there.
 *
 * - The transport wrote it (its dead-letter copies never carry `x-last-death-*`, so the broker did not dead-letter
 *   it afterwards): its `x-original-*`, which the transport sets on every copy from the delivery's own route, or on
 *   a retry copy from the record it made on the first copy (the consumer refuses producer-set ones as `forged_header`).
 * - The broker dead-lettered it (delivery limit), and it had entered the work queue through the default exchange:
 *   a retry copy, whose `x-original-*` the transport wrote.
 * - The broker dead-lettered a message that came straight from a producer: its `x-original-*` can only be the
 *   producer's and are ignored; the broker's own record stands (`x-last-death-exchange`, which the broker rewrites at
 *   every dead-lettering, and the routing key of its `x-death` entry for that dead-lettering).
 */
export function recordedOrigin(headers: Record<string, unknown>): RecordedOrigin {
  const transportRecord: RecordedOrigin = {
    exchange:
      typeof headers[HEADERS.originalExchange] === 'string' ? (headers[HEADERS.originalExchange] as string) : undefined,
    routingKey: stringHeader(headers, HEADERS.originalRoutingKey),
  };
  const lastDeathReason = stringHeader(headers, 'x-last-death-reason');
  if (lastDeathReason === undefined) return transportRecord;
  const enteredThrough = typeof headers['x-last-death-exchange'] === 'string' ? headers['x-last-death-exchange'] : '';
  if (enteredThrough === '') return transportRecord;
  const lastDeathQueue = stringHeader(headers, 'x-last-death-queue');
  return { exchange: enteredThrough, routingKey: brokerRoutingKey(headers, lastDeathQueue, lastDeathReason) };
}

/** The first routing key of the `x-death` entry the broker wrote or updated for its latest dead-lettering. */
function brokerRoutingKey(
  headers: Record<string, unknown>,
  queue: string | undefined,
  reason: string,
): string | undefined {
  const deaths = headers['x-death'];
  if (!Array.isArray(deaths)) return undefined;
  for (const entry of deaths) {
    if (typeof entry !== 'object' || entry === null) continue;
    const death = entry as Record<string, unknown>;
    if (death.queue !== queue || death.reason !== reason) continue;
    const keys = death['routing-keys'];
    const first: unknown = Array.isArray(keys) ? keys[0] : undefined;
    return typeof first === 'string' && first.length > 0 ? first : undefined;
  }
  return undefined;
}

/**
 * Under whose broker identity a dead letter's event was first published; replay publishes under it again (the DLQ
 * tooling has the `impersonator` tag), so the consumers check the producer as on the first delivery and a replay
 * never launders a forged event. RabbitMQ validated the dead letter's own `user-id` when it was published:
 * - The DLQ's owner (the service its name starts with, `<service>.`) published it: one of the transport's retry or
 *   dead-letter copies, whose `x-original-user-id` that service recorded from the delivery (the consumer refuses a
 *   producer-set one as `forged_header`). Without the header, the owner itself.
 * - Anyone else: the broker dead-lettered their message as it was, or they put it into the DLQ themselves; their
 *   own `user-id` stands and any `x-original-user-id` is theirs, so it is ignored.
 * Undefined when the dead letter has no `user-id` (published before producers set one): replayed without one, the
 * consumers then dead-letter it as `forged_producer`.
 */
export function recordedProducer(message: Pick<Message, 'properties'>, dlq: string): string | undefined {
  const { userId } = message.properties as { userId?: unknown };
  if (typeof userId !== 'string' || userId.length === 0) return undefined;
  const owner = dlq.includes('.') ? dlq.slice(0, dlq.indexOf('.')) : undefined;
  if (userId !== owner) return userId;
  return stringHeader(headersOf(message), HEADERS.originalUserId) ?? userId;
}
