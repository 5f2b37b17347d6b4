import fc from 'fast-check';
import { hostileJsonValue } from './hostile-json.js';
import { hostileString } from './hostile-strings.js';

/** A message as a test publishes it: to the events exchange under a routing key, or straight into a queue. */
export interface RawMessage {
  via: 'exchange' | 'queue';
  routingKey: string;
  content: Buffer;
  /** AMQP basic properties (`messageId`, `type`, `contentType`, …) and `headers`. */
  properties: Record<string, unknown> & { headers: Record<string, unknown> };
}

/**
 * One thing that makes an otherwise valid event impossible to process, with the random part it needs. Every
 * defect alone must send the message to the DLQ with a reason; several together, too.
 */
export type MessageDefect =
  | { kind: 'random_bytes'; bytes: Uint8Array }
  | { kind: 'wrong_shape'; json: unknown }
  | { kind: 'wrong_content_type'; contentType: string }
  | { kind: 'content_encoding'; contentEncoding: string }
  | { kind: 'no_type' }
  | { kind: 'unknown_type'; type: string }
  | { kind: 'bad_id'; id: unknown }
  | { kind: 'no_id' }
  | { kind: 'bad_version'; version: unknown }
  | { kind: 'no_source' }
  | { kind: 'type_mismatch' };

/** Wrong or unusable values for `x-event-version`: strings, negatives, zero, fractions, beyond 2^53, other types. */
const BAD_VERSIONS: unknown[] = [
  'two',
  '',
  ' 2',
  '2.0',
  '02',
  '-1',
  '0x2',
  '1e0',
  -1,
  0,
  1.5,
  2 ** 53,
  99,
  1_000_000,
  true,
  ['2'],
  { v: 2 },
];

/**
 * A random list of defects (at least one). `isValidData` says whether a JSON value would be accepted as the
 * event's data, so `wrong_shape` never produces valid data by chance.
 */
export function messageDefects(isValidData: (json: unknown) => boolean): fc.Arbitrary<MessageDefect[]> {
  const defect: fc.Arbitrary<MessageDefect> = fc.oneof(
    fc
      .uint8Array({ maxLength: 256 })
      .filter((bytes) => !isJsonObject(bytes))
      .map((bytes) => ({ kind: 'random_bytes' as const, bytes })),
    hostileJsonValue(3)
      .filter((json) => !isValidData(json))
      .map((json) => ({ kind: 'wrong_shape' as const, json })),
    fc
      .oneof(
        fc.constantFrom(
          'text/plain',
          'application/octet-stream',
          'application/xml',
          'application/json; charset=utf-16',
          'application/x-protobuf',
          'Application/JSON; charset=latin1',
        ),
        hostileString({ maxLength: 30, longRuns: false }),
      )
      .filter((type) => type !== '' && !/^\s*application\/json\s*(;\s*charset\s*=\s*"?utf-?8"?\s*)?$/i.test(type))
      .map((contentType) => ({ kind: 'wrong_content_type' as const, contentType })),
    fc
      .constantFrom('gzip', 'deflate', 'br', 'x-custom')
      .map((contentEncoding) => ({ kind: 'content_encoding' as const, contentEncoding })),
    fc.constant({ kind: 'no_type' as const }),
    fc
      .oneof(
        fc.constantFrom('user.teleported', 'order.refunded', '*', '#'),
        fc.stringMatching(/^[a-z]{1,8}\.[a-z]{1,8}$/),
      )
      .map((type) => ({ kind: 'unknown_type' as const, type })),
    fc
      .oneof(
        hostileString({ maxLength: 40, longRuns: false }).filter((id) => id !== ''),
        fc.integer(),
        fc.constant('00000000-0000-0000-0000-00000000000g'),
      )
      .map((id) => ({ kind: 'bad_id' as const, id })),
    fc.constant({ kind: 'no_id' as const }),
    fc.constantFrom(...BAD_VERSIONS).map((version) => ({ kind: 'bad_version' as const, version })),
    fc.constant({ kind: 'no_source' as const }),
    fc.constant({ kind: 'type_mismatch' as const }),
  );
  return fc.array(defect, { minLength: 1, maxLength: 3 });
}

/** Applies the defects to a copy of `base` (a valid event as published); `otherType` is another type the queue is bound to. */
export function withDefects(base: RawMessage, defects: readonly MessageDefect[], otherType: string): RawMessage {
  const message: RawMessage = { ...base, properties: { ...base.properties, headers: { ...base.properties.headers } } };
  const { properties } = message;
  const { headers } = properties;
  for (const defect of defects) {
    switch (defect.kind) {
      case 'random_bytes':
        message.content = Buffer.from(defect.bytes);
        break;
      case 'wrong_shape':
        message.content = Buffer.from(JSON.stringify(defect.json) ?? 'null');
        break;
      case 'wrong_content_type':
        properties.contentType = defect.contentType;
        break;
      case 'content_encoding':
        properties.contentEncoding = defect.contentEncoding;
        break;
      case 'no_type':
        deleteAttribute(headers, 'type');
        delete properties.type;
        break;
      case 'unknown_type':
        setAttribute(headers, 'type', defect.type);
        properties.type = defect.type;
        break;
      case 'bad_id':
        setAttribute(headers, 'id', defect.id);
        delete properties.messageId;
        break;
      case 'no_id':
        deleteAttribute(headers, 'id');
        delete properties.messageId;
        break;
      case 'bad_version':
        headers['x-event-version'] = defect.version;
        break;
      case 'no_source':
        deleteAttribute(headers, 'source');
        delete properties.appId;
        break;
      case 'type_mismatch':
        // Published under its own type's routing key, but claiming to be another type.
        message.via = 'exchange';
        setAttribute(headers, 'type', otherType);
        delete properties.type;
        break;
    }
  }
  return message;
}

/**
 * Misleading headers: forged dead-letter bookkeeping and random `x-` headers, and (unless `history` is false) a
 * forged attempt count and a broker death history that lies (1000 deaths, or garbage where the broker keeps a list
 * of tables). Never put a history on a message that could fail in its handler: RabbitMQ 3.10 crashes its node-wide
 * dead-letter worker when a retry tier dead-letters a malformed one (the transport strips it from retry copies).
 */
export function misleadingHeaders(
  queue: string,
  options: { history?: boolean } = {},
): fc.Arbitrary<Record<string, unknown>> {
  const lyingDeath = fc.oneof(
    fc.constant([
      {
        count: 1000,
        reason: 'expired',
        queue: `${queue}.retry.1s`,
        exchange: '',
        'routing-keys': [queue],
        time: new Date(0),
      },
    ]),
    fc.constant([
      { count: 1000, reason: 'rejected', queue, exchange: 'switchyard.events', 'routing-keys': ['user.created'] },
      { count: -5, reason: 'delivery_limit', queue },
    ]),
    fc.constant('x-death'),
    fc.constant([1, 'two', null]),
    fc.integer(),
  );
  const bookkeeping = {
    'x-delivery-count': fc.integer({ min: 0, max: 10_000 }),
    'x-death-reason': fc.constantFrom('retries_exhausted', 'forged'),
    'x-attempts': fc.integer({ min: -5, max: 2_000 }),
    'x-first-failure-at': fc.constantFrom('yesterday', '1970-01-01T00:00:00.000Z'),
    'x-junk': hostileString({ maxLength: 60, longRuns: false }),
  };
  if (options.history === false) return fc.record(bookkeeping, { requiredKeys: [] });
  return fc.record(
    {
      ...bookkeeping,
      'x-attempt': fc.oneof(fc.integer({ min: -5, max: 2_000 }), fc.constantFrom('3', 'NaN', '', '1e9')),
      'x-death': lyingDeath,
      'x-first-death-reason': fc.constantFrom('expired', 'maxlen', 'nonsense'),
    },
    { requiredKeys: [] },
  );
}

function isJsonObject(bytes: Uint8Array): boolean {
  try {
    const parsed: unknown = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(bytes));
    return typeof parsed === 'object' && parsed !== null && !Array.isArray(parsed);
  } catch {
    return false;
  }
}

/** Every spelling of a CloudEvents attribute header consumers accept (the AMQP binding's two, and the former `ce-`). */
const CLOUDEVENTS_PREFIXES = ['cloudEvents_', 'cloudEvents:', 'ce-'];

function deleteAttribute(headers: Record<string, unknown>, attribute: string): void {
  for (const prefix of CLOUDEVENTS_PREFIXES) delete headers[`${prefix}${attribute}`];
}

function setAttribute(headers: Record<string, unknown>, attribute: string, value: unknown): void {
  deleteAttribute(headers, attribute);
  headers[`cloudEvents_${attribute}`] = value;
}
