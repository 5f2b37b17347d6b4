import {
  eventCatalog,
  EventRejectedError,
  fromWireMessage,
  type IncomingWireMessage,
  toWireMessage,
  type WireMessage,
} from '@switchyard/contracts';
import { BROKER_DEATH_HEADERS, HEADERS } from '../message-headers.js';
import type { OutboxRow } from './outbox-relay.js';

/**
 * An outbox row as the message to publish. A row written by an older release may hold an older version of its
 * event: it is upcast first, since publishers only ever emit the latest version.
 */
export function outboxRowToWire(row: OutboxRow, source: string): WireMessage {
  const decoded = eventCatalog.decode(row.eventType, row.eventVersion, row.payload);
  return toWireMessage({
    eventId: row.id,
    contract: decoded.contract,
    data: decoded.data,
    source,
    correlationId: row.correlationId,
    traceparent: row.traceparent,
    tracestate: row.tracestate,
  } as Parameters<typeof toWireMessage>[0]);
}

/** Where a delivery came from: the exchange it was published to (empty for the default exchange) and its routing key. */
export interface DeliveryRoute {
  exchange: string;
  routingKey: string;
}

/**
 * A received message as the transport hands it to handlers: envelope checked, data validated and upcast to the
 * latest version, and (when the delivery says how it was routed) routed by its own type.
 */
export function decodeDelivery(message: IncomingWireMessage & { readonly fields?: DeliveryRoute }) {
  const incoming = fromWireMessage(message);
  checkHistory(message.fields, incoming.headers, incoming.type, incoming.version);
  const decoded = eventCatalog.decode(incoming.type, incoming.version, incoming.data);
  checkRoute(message.fields, incoming.type, incoming.version);
  return { ...incoming, data: decoded.data };
}

/**
 * Headers only the broker (when it dead-letters) or this transport (on retry copies) writes. `x-delivery-count` is
 * not among them: quorum queues add it to any redelivered message.
 */
const TRANSPORT_ONLY_HEADERS = [...BROKER_DEATH_HEADERS.filter((name) => name !== 'x-delivery-count'), HEADERS.attempt];

/**
 * A message published to an exchange comes fresh from a producer, or is a DLQ replay (which strips this history);
 * retries come back through the default exchange. So through an exchange no message has a death history or an
 * attempt count, and one that claims them
 * lies: a forged attempt count would skip the retry tiers, and RabbitMQ 3.10 parses `x-death` when it dead-letters
 * the message itself (delivery limit), crashing its node-wide dead-letter worker on a malformed one.
 */
function checkHistory(
  fields: DeliveryRoute | undefined,
  headers: Readonly<Record<string, unknown>>,
  type: string,
  version: number,
): void {
  if (!fields || fields.exchange === '') return;
  const forged = TRANSPORT_ONLY_HEADERS.filter((name) => headers[name] !== undefined);
  if (forged.length === 0) return;
  throw new EventRejectedError(
    'forged_header',
    `${type} v${version} was published with ${forged.join(', ')}, which only the broker and the transport set`,
    { eventType: type, version },
  );
}

/**
 * Queues are bound by event type, so an event published to an exchange under another type's routing key is a
 * confused or forged producer: it reached this handler only by naming a type it is not. Deliveries through the
 * default exchange (retry tiers, DLQ replays, a message put straight into the queue) name a queue, not a type:
 * there is nothing to compare.
 */
function checkRoute(fields: DeliveryRoute | undefined, type: string, version: number): void {
  if (!fields || fields.exchange === '' || fields.routingKey === type) return;
  const shown = fields.routingKey.length > 64 ? `${fields.routingKey.slice(0, 63)}…` : fields.routingKey;
  throw new EventRejectedError(
    'misrouted',
    `${type} v${version} was published with the routing key '${shown}', which names another event type`,
    { eventType: type, version },
  );
}

/** Each event type's producer in the event catalog, which is also the broker identity it publishes under. */
const CATALOG_PRODUCERS: ReadonlyMap<string, string> = new Map(
  eventCatalog.eventFamilies.map(({ type, producer }) => [type, producer]),
);

/** The broker identity allowed to publish `eventType`: its producer in the event catalog (undefined if unknown). */
export function catalogProducerOf(eventType: string): string | undefined {
  return CATALOG_PRODUCERS.get(eventType);
}
