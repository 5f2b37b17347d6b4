import { HEADERS, stringHeader } from '../message-headers.js';

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
