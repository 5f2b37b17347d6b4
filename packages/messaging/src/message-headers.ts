/**
 * AMQP header names this package reads and writes (besides the CloudEvents `cloudEvents_*` headers of the wire format).
 * The retry and dead-letter headers live on the message itself, so any process (or the CLI) can see its history.
 */
export const HEADERS = Object.freeze({
  /** 1-based number of the delivery attempt this copy is; absent means 1. */
  attempt: 'x-attempt',
  /** ISO time of the first failed attempt. */
  firstFailureAt: 'x-first-failure-at',
  /** `ErrorClass: message` of the latest failure, truncated. */
  lastError: 'x-last-error',
  /** Routing key and exchange the event was first published with (retries arrive through the default exchange). */
  originalRoutingKey: 'x-original-routing-key',
  originalExchange: 'x-original-exchange',
  /**
   * The broker-validated `user-id` the event was first published with: the transport's retry and dead-letter copies
   * carry the consumer's own user-id, so the producer's is kept here (for the DLQ replay to publish under it).
   */
  originalUserId: 'x-original-user-id',
  /** Dead letters only: why, what failed, how often and when, and which consumer gave up. */
  deathReason: 'x-death-reason',
  errorClass: 'x-error-class',
  errorMessage: 'x-error-message',
  attempts: 'x-attempts',
  lastFailureAt: 'x-last-failure-at',
  consumerService: 'x-consumer-service',
  consumerQueue: 'x-consumer-queue',
  /** Set by `switchyard dlq replay`. */
  replayedAt: 'x-replayed-at',
  /** Version of the event's schema (wire format). */
  eventVersion: 'x-event-version',
  traceparent: 'traceparent',
  tracestate: 'tracestate',
});

/** Headers the broker adds when it dead-letters a message itself (TTL expiry, delivery limit). */
export const BROKER_DEATH_HEADERS = Object.freeze([
  'x-death',
  'x-first-death-reason',
  'x-first-death-queue',
  'x-first-death-exchange',
  'x-last-death-reason',
  'x-last-death-queue',
  'x-last-death-exchange',
  'x-delivery-count',
]);

/** Reads a header as a positive integer (AMQP tables may carry numbers of several widths, or strings). */
export function positiveIntHeader(headers: Readonly<Record<string, unknown>>, name: string): number | undefined {
  const raw = headers[name];
  const value =
    typeof raw === 'number'
      ? raw
      : typeof raw === 'bigint'
        ? Number(raw)
        : typeof raw === 'string'
          ? Number(raw)
          : Number.NaN;
  return Number.isInteger(value) && value >= 1 ? value : undefined;
}

/** Reads a header as a non-empty string. */
export function stringHeader(headers: Readonly<Record<string, unknown>>, name: string): string | undefined {
  const raw = headers[name];
  if (typeof raw === 'string' && raw.length > 0) return raw;
  if (Buffer.isBuffer(raw) && raw.length > 0) return raw.toString('utf8');
  return undefined;
}

/** A message's headers, as a fresh object (empty when it has none) that may be changed without touching the message. */
export function headersOf(message: { readonly properties: { readonly headers?: unknown } }): Record<string, unknown> {
  return { ...((message.properties.headers as Record<string, unknown> | undefined) ?? {}) };
}
