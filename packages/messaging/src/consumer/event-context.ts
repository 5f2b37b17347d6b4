/**
 * What a consumer sees of a message, from the raw delivery to the context handed to a handler.
 */

/** AMQP properties of a delivery, narrowed to what the wire format uses; absent or mistyped values are undefined. */
export interface IncomingProperties {
  messageId: string | undefined;
  type: string | undefined;
  timestamp: number | undefined;
  contentType: string | undefined;
  contentEncoding: string | undefined;
  appId: string | undefined;
  correlationId: string | undefined;
  headers: Readonly<Record<string, unknown>>;
}

/** A delivery as the decoder sees it. */
export interface IncomingMessage {
  content: Buffer;
  properties: IncomingProperties;
  fields: { exchange: string; routingKey: string; redelivered: boolean };
}

/** What a decoder makes of a delivery: a known event at a known version with validated data. */
export interface DecodedEvent {
  eventId: string;
  type: string;
  version: number;
  data: unknown;
  correlationId?: string | undefined;
  /** ISO-8601 time the event happened. */
  occurredAt?: string | undefined;
  traceparent?: string | undefined;
  tracestate?: string | undefined;
}

/**
 * Turns a delivery into an event. For input that can never be processed it throws an error with a string
 * `reason` (`malformed_json`, `schema_invalid`, `unknown_event_type`, `unsupported_version`, …): such messages go
 * straight to the DLQ with that reason, never through the retry tiers.
 */
export type EventDecoder = (message: IncomingMessage) => DecodedEvent;

/** Everything about one delivery a handler may need, except the transaction. */
export interface DeliveryContext {
  eventId: string;
  type: string;
  version: number;
  /** 1 on the first delivery, then 2, 3, … as the message comes back from the retry tiers (`x-attempt`). */
  attempt: number;
  /** The work queue it was consumed from. */
  queue: string;
  correlationId: string | undefined;
  occurredAt: string | undefined;
  traceparent: string | undefined;
  tracestate: string | undefined;
  /** All AMQP headers of the delivery. */
  headers: Readonly<Record<string, unknown>>;
  /** SHA-256 (hex) of the event as the handler sees it (`payloadHash`): the inbox tells a replay from a reused id by it. */
  payloadHash: string;
}

/** The second argument of a handler (`@Ctx()`): the delivery plus the transaction the runner opened, if any. */
export interface EventContext<Tx = unknown> extends DeliveryContext {
  tx: Tx;
}

/** `duplicate`: the event was seen before (e.g. it is already in the inbox) and the handler did not run. */
export type HandlerOutcome = 'processed' | 'duplicate';

/**
 * Wraps every handler invocation: typically opens a database transaction, records `delivery.eventId` in an
 * inbox table (answering 'duplicate' when it is already there with the same `payloadHash`), and calls `invoke(tx)`
 * inside it. Rejecting (with whatever `invoke` threw, or its own error) sends the message to retry or the DLQ; a
 * non-retriable error of its own may name its dead-letter reason (`deadLetterReason`, e.g. `conflicting_duplicate`).
 */
export type HandlerRunner = (
  delivery: DeliveryContext,
  invoke: (tx: unknown) => Promise<void>,
) => Promise<HandlerOutcome>;

/** Default runner: no transaction, no inbox; the handler just runs. */
export const runHandlerDirectly: HandlerRunner = async (_delivery, invoke) => {
  await invoke(undefined);
  return 'processed';
};
