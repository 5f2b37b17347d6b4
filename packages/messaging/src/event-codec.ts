import { eventCatalog, fromWireMessage, type IncomingWireMessage, toWireMessage, type WireMessage } from '@switchyard/contracts';
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

/** A received message as the transport hands it to handlers: envelope checked, data validated and upcast to the latest version. */
export function decodeDelivery(message: IncomingWireMessage) {
  const incoming = fromWireMessage(message);
  const decoded = eventCatalog.decode(incoming.type, incoming.version, incoming.data);
  return { ...incoming, data: decoded.data };
}
