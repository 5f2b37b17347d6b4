import { z } from 'zod';
import type { EventData } from './event-contract.js';
import { EventRejectedError } from './event-rejected-error.js';
import { validateEventData } from './event-validation.js';
import { eventCatalog, type LatestEventContract } from './switchyard-catalog.js';

/**
 * Prefix of the CloudEvents attribute headers producers write: the one the CloudEvents AMQP protocol binding prefers
 * (`cloudEvents_`; its `cloudEvents:` is also allowed, but `:` is not legal in JMS property names and selectors).
 * We used to write `ce-`, the HTTP binding's prefix.
 */
export const CLOUDEVENTS_HEADER_PREFIX = 'cloudEvents_';

/**
 * Every prefix consumers accept, preferred first: the binding's two spellings (the CloudEvents Go SDK and older C#
 * SDKs write `cloudEvents:`), and our former `ce-`, accepted for a deprecation period so that messages already in
 * queues, retry tiers and DLQs, and producers not yet upgraded, keep working.
 */
export const ACCEPTED_CLOUDEVENTS_HEADER_PREFIXES = Object.freeze([
  CLOUDEVENTS_HEADER_PREFIX,
  'cloudEvents:',
  'ce-',
] as const);

/** The CloudEvents attributes carried as headers (`datacontenttype` is the AMQP content type). */
export const CLOUDEVENTS_HEADER_ATTRIBUTES = Object.freeze([
  'specversion',
  'id',
  'type',
  'source',
  'time',
  'dataschema',
] as const);
export type CloudEventsHeaderAttribute = (typeof CLOUDEVENTS_HEADER_ATTRIBUTES)[number];

/**
 * AMQP header names producers write: CloudEvents attributes as the AMQP binding names them (`cloudEvents_` prefix),
 * the contract version, and W3C trace context. Consumers must not depend on any other header.
 */
export const EVENT_HEADERS = Object.freeze({
  specversion: 'cloudEvents_specversion',
  id: 'cloudEvents_id',
  type: 'cloudEvents_type',
  source: 'cloudEvents_source',
  time: 'cloudEvents_time',
  dataschema: 'cloudEvents_dataschema',
  version: 'x-event-version',
  traceparent: 'traceparent',
  tracestate: 'tracestate',
} as const);

export type EventHeaderName = (typeof EVENT_HEADERS)[keyof typeof EVENT_HEADERS];

/** Every header name a consumer reads a CloudEvents attribute from (all accepted spellings of every attribute). */
export const ACCEPTED_CLOUDEVENTS_HEADERS: readonly string[] = Object.freeze(
  CLOUDEVENTS_HEADER_ATTRIBUTES.flatMap((attribute) =>
    ACCEPTED_CLOUDEVENTS_HEADER_PREFIXES.map((prefix) => `${prefix}${attribute}`),
  ),
);

/**
 * A CloudEvents attribute from a header table, whichever accepted spelling carries it (bytes decoded). Throws
 * `missing_header` when two spellings carry different values: a message must use one prefix only.
 */
export function cloudEventsHeader(
  headers: Readonly<Record<string, unknown>>,
  attribute: CloudEventsHeaderAttribute,
  eventType?: string,
): { name: string; value: string } | undefined {
  let found: { name: string; value: string } | undefined;
  for (const prefix of ACCEPTED_CLOUDEVENTS_HEADER_PREFIXES) {
    const name = `${prefix}${attribute}`;
    const value = text(headers[name]);
    if (value === undefined) continue;
    if (found && found.value !== value)
      throw missingHeader(`the event ${attribute} is ambiguous: ${found.name} and ${name} differ`, eventType);
    found ??= { name, value };
  }
  return found;
}

export const CLOUDEVENTS_SPEC_VERSION = '1.0';
export const EVENT_CONTENT_TYPE = 'application/json';

/** The headers every published event carries. */
export interface EventHeaders {
  cloudEvents_specversion: typeof CLOUDEVENTS_SPEC_VERSION;
  cloudEvents_id: string;
  cloudEvents_type: string;
  cloudEvents_source: string;
  cloudEvents_time: string;
  cloudEvents_dataschema: string;
  'x-event-version': number;
  traceparent?: string;
  tracestate?: string;
}

/** Shaped like amqplib's `Options.Publish`, so the messaging layer passes it to `channel.publish` as is. */
export interface WirePublishProperties {
  messageId: string;
  type: string;
  /** Seconds since the epoch (the AMQP timestamp), from `occurredAt`. */
  timestamp: number;
  contentType: typeof EVENT_CONTENT_TYPE;
  appId: string;
  correlationId: string;
  headers: EventHeaders;
}

export interface WireMessage {
  /** The event type; publish it to the `switchyard.events` exchange. */
  routingKey: string;
  /** The event data as UTF-8 JSON. */
  content: Buffer;
  properties: WirePublishProperties;
}

/** What `toWireMessage` publishes. Only the latest version of a type is accepted: publishers never emit old ones. */
export interface OutgoingEvent<C extends LatestEventContract> {
  /** A UUID, stable across re-publishes so consumers' inboxes can deduplicate. */
  eventId: string;
  contract: C;
  data: NoInfer<EventData<C>>;
  /** The producing service, e.g. `user-service`. */
  source: string;
  /** Defaults to the event id. */
  correlationId?: string | null | undefined;
  traceparent?: string | null | undefined;
  tracestate?: string | null | undefined;
}

/**
 * Shaped like amqplib's `Message` (a `ConsumeMessage` fits). Properties are `unknown`: they come from
 * whoever published, so each is checked here.
 */
export interface IncomingWireMessage {
  readonly content: Uint8Array;
  readonly properties: {
    readonly messageId?: unknown;
    readonly type?: unknown;
    readonly appId?: unknown;
    readonly correlationId?: unknown;
    readonly contentType?: unknown;
    readonly contentEncoding?: unknown;
    readonly headers?: unknown;
  };
}

/** A received event before its data is checked against a contract (see `eventCatalog.decode`). */
export interface IncomingEvent {
  eventId: string;
  type: string;
  version: number;
  /** The parsed JSON body: an object, not yet validated. */
  data: unknown;
  source: string;
  /** The correlation id, or the event id when none was sent. */
  correlationId: string;
  /** `ce-time`, when sent. */
  occurredAt?: string;
  traceparent?: string;
  tracestate?: string;
  /** Every header as received, including ones this package does not know (such as `x-death`). */
  headers: Readonly<Record<string, unknown>>;
}

const uuid = z.uuid();

/**
 * Builds the AMQP message for an event. The data is validated first and unknown fields are dropped: a
 * publisher bug throws here rather than putting a bad message (or a stray field) on the wire.
 */
export function toWireMessage<C extends LatestEventContract>(event: OutgoingEvent<C>): WireMessage {
  const { eventId, contract, source } = event;
  if (!eventCatalog.isLatest(contract)) {
    throw new TypeError(
      `${contract.type} v${contract.version} is not the latest version: publish eventCatalog.latest('${contract.type}')`,
    );
  }
  if (!uuid.safeParse(eventId).success) throw new TypeError(`${contract.type}: eventId must be a UUID`);
  if (source.trim() === '') throw new TypeError(`${contract.type}: source must name the producing service`);
  const data = validateEventData(contract, event.data, 'cannot be published');
  const correlationId = event.correlationId ?? eventId;

  const headers: EventHeaders = {
    [EVENT_HEADERS.specversion]: CLOUDEVENTS_SPEC_VERSION,
    [EVENT_HEADERS.id]: eventId,
    [EVENT_HEADERS.type]: contract.type,
    [EVENT_HEADERS.source]: source,
    [EVENT_HEADERS.time]: data.occurredAt,
    [EVENT_HEADERS.dataschema]: contract.dataschema,
    'x-event-version': contract.version,
  };
  if (event.traceparent) headers.traceparent = event.traceparent;
  if (event.tracestate) headers.tracestate = event.tracestate;

  return {
    routingKey: contract.type,
    content: Buffer.from(JSON.stringify(data), 'utf8'),
    properties: {
      messageId: eventId,
      type: contract.type,
      timestamp: Math.floor(Date.parse(data.occurredAt) / 1000),
      contentType: EVENT_CONTENT_TYPE,
      appId: source,
      correlationId,
      headers,
    },
  };
}

/**
 * Reads the envelope of a received message. Throws `EventRejectedError`: `malformed_json` when the body is
 * not a UTF-8 JSON object, `missing_header` when the id, type, version or source is absent, invalid or
 * contradicted by a property, `unsupported_content_type` when the content type or encoding says the body is
 * something else than plain UTF-8 JSON (an absent content type is taken as JSON).
 */
export function fromWireMessage(message: IncomingWireMessage): IncomingEvent {
  const { properties } = message;
  const headers = isRecord(properties.headers) ? { ...properties.headers } : {};

  // Any accepted spelling of the CloudEvents headers (see ACCEPTED_CLOUDEVENTS_HEADER_PREFIXES).
  const typeHeader = cloudEventsHeader(headers, 'type');
  const type = oneOf('type', typeHeader, EVENT_HEADERS.type, text(properties.type), 'type property');
  const idHeader = cloudEventsHeader(headers, 'id', type);
  const eventId = oneOf('id', idHeader, EVENT_HEADERS.id, text(properties.messageId), 'messageId property', type);
  if (!uuid.safeParse(eventId).success)
    throw missingHeader(`${idHeader?.name ?? EVENT_HEADERS.id} must be a UUID`, type);
  const version = eventVersion(headers[EVENT_HEADERS.version], type);
  const source = oneOf(
    'source',
    cloudEventsHeader(headers, 'source', type),
    EVENT_HEADERS.source,
    text(properties.appId),
    'appId property',
    type,
  );
  checkContentType(properties.contentType, properties.contentEncoding, type, version);
  const data = parseJsonObject(message.content, type, version);

  const event: IncomingEvent = {
    eventId,
    type,
    version,
    data,
    source,
    correlationId: text(properties.correlationId) ?? eventId,
    headers,
  };
  const occurredAt = cloudEventsHeader(headers, 'time', type)?.value;
  const traceparent = text(headers[EVENT_HEADERS.traceparent]);
  const tracestate = text(headers[EVENT_HEADERS.tracestate]);
  if (occurredAt !== undefined) event.occurredAt = occurredAt;
  if (traceparent !== undefined) event.traceparent = traceparent;
  if (tracestate !== undefined) event.tracestate = tracestate;
  return event;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value) && !(value instanceof Uint8Array);
}

/** A non-empty string from a header or property; AMQP header tables may also deliver strings as bytes. */
function text(value: unknown): string | undefined {
  const decoded = value instanceof Uint8Array ? Buffer.from(value).toString('utf8') : value;
  return typeof decoded === 'string' && decoded !== '' ? decoded : undefined;
}

function missingHeader(message: string, eventType?: string, version?: number): EventRejectedError {
  return new EventRejectedError('missing_header', message, { eventType, version });
}

/** The header wins, the property is the fallback; when both are present they must agree. */
function oneOf(
  what: string,
  header: { name: string; value: string } | undefined,
  headerName: string,
  property: string | undefined,
  propertyName: string,
  eventType?: string,
): string {
  if (header !== undefined && property !== undefined && header.value !== property) {
    throw missingHeader(`the event ${what} is ambiguous: ${header.name} and the ${propertyName} differ`, eventType);
  }
  const value = header?.value ?? property;
  if (value === undefined)
    throw missingHeader(`no event ${what}: neither ${headerName} nor the ${propertyName} is set`, eventType);
  return value;
}

/** `x-event-version` may arrive as a number or as a numeric string; either way a positive integer. */
function eventVersion(raw: unknown, eventType: string): number {
  if (raw === undefined || raw === null) throw missingHeader(`no ${EVENT_HEADERS.version} header`, eventType);
  const digits = text(raw);
  const value =
    typeof raw === 'number' ? raw : digits !== undefined && /^[1-9][0-9]*$/.test(digits) ? Number(digits) : Number.NaN;
  if (!Number.isSafeInteger(value) || value < 1)
    throw missingHeader(`${EVENT_HEADERS.version} must be a positive integer`, eventType);
  return value;
}

/** `application/json`, optionally with `charset=utf-8`; anything else (a different type, charset or any encoding) is refused. */
function checkContentType(contentType: unknown, contentEncoding: unknown, eventType: string, version: number): void {
  const reject = (why: string) =>
    new EventRejectedError('unsupported_content_type', `${eventType} v${version}: ${why}`, { eventType, version });
  const encoding = text(contentEncoding);
  if (encoding !== undefined && encoding.trim().toLowerCase() !== 'identity')
    throw reject(`the body must not be encoded (content encoding '${clipped(encoding)}')`);
  if (contentType === undefined || contentType === null) return;
  const declared = text(contentType);
  if (declared === undefined) throw reject('the content type is empty or not a string');
  const [mediaType = '', ...parameters] = declared.split(';').map((part) => part.trim().toLowerCase());
  if (mediaType !== EVENT_CONTENT_TYPE)
    throw reject(`the content type must be ${EVENT_CONTENT_TYPE}, not '${clipped(declared)}'`);
  for (const parameter of parameters) {
    const [name, value = ''] = parameter.split('=').map((part) => part.trim().replace(/^"|"$/g, ''));
    if (name === 'charset' && value !== 'utf-8' && value !== 'utf8')
      throw reject(`the body must be UTF-8, not charset '${clipped(value)}'`);
  }
}

/** Sender-controlled text in an error message stays short: it ends up in a header and a log line. */
function clipped(value: string): string {
  return value.length > 64 ? `${value.slice(0, 63)}…` : value;
}

const utf8 = new TextDecoder('utf-8', { fatal: true });

function parseJsonObject(content: Uint8Array, eventType: string, version: number): Record<string, unknown> {
  let parsed: unknown;
  try {
    parsed = JSON.parse(utf8.decode(content));
  } catch {
    throw new EventRejectedError('malformed_json', `${eventType} v${version}: the body is not UTF-8 JSON`, {
      eventType,
      version,
    });
  }
  if (!isRecord(parsed)) {
    throw new EventRejectedError('malformed_json', `${eventType} v${version}: the body must be a JSON object`, {
      eventType,
      version,
    });
  }
  return parsed;
}
