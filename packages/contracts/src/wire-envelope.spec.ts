import { describe, expect, it } from '@jest/globals';
import { EVENT_ID, OCCURRED_AT, orderPlacedV1, USER_ID, userCreatedV1, userCreatedV2 } from '../test/sample-events.js';
import { EventRejectedError, type RejectionReason } from './event-rejected-error.js';
import { OrderPlacedV1 } from './events/order-placed.js';
import { UserCreatedV1, UserCreatedV2 } from './events/user-created.js';
import { eventCatalog } from './switchyard-catalog.js';
import { fromWireMessage, toWireMessage, type IncomingWireMessage, type WireMessage } from './wire-envelope.js';

const TRACEPARENT = '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01';
const TRACESTATE = 'congo=t61rcWkgMzE';
const CORRELATION_ID = '0192f5c4-9000-7000-8000-000000000001';

function userCreatedMessage(): WireMessage {
  return toWireMessage({
    eventId: EVENT_ID,
    contract: UserCreatedV2,
    data: userCreatedV2(),
    source: 'user-service',
    correlationId: CORRELATION_ID,
    traceparent: TRACEPARENT,
    tracestate: TRACESTATE,
  });
}

/** A received message as amqplib would hand it over, built from parts. */
function incoming(
  headers: Record<string, unknown>,
  properties: Record<string, unknown> = {},
  content: Uint8Array = Buffer.from(JSON.stringify(userCreatedV2())),
): IncomingWireMessage {
  return { content, properties: { ...properties, headers } };
}

const minimalHeaders = {
  'ce-id': EVENT_ID,
  'ce-type': 'user.created',
  'ce-source': 'user-service',
  'x-event-version': 2,
};

function expectRejected(run: () => unknown, reason: RejectionReason): EventRejectedError {
  let caught: unknown;
  try {
    run();
  } catch (error) {
    caught = error;
  }
  expect(caught).toBeInstanceOf(EventRejectedError);
  const error = caught as EventRejectedError;
  expect(error.reason).toBe(reason);
  return error;
}

describe('toWireMessage', () => {
  it('maps an event onto the routing key, AMQP properties and CloudEvents headers', () => {
    const message = userCreatedMessage();
    expect(message.routingKey).toBe('user.created');
    expect(JSON.parse(message.content.toString('utf8'))).toEqual(userCreatedV2());
    expect(message.properties).toEqual({
      messageId: EVENT_ID,
      type: 'user.created',
      timestamp: Math.floor(Date.parse(OCCURRED_AT) / 1000),
      contentType: 'application/json',
      appId: 'user-service',
      correlationId: CORRELATION_ID,
      headers: {
        cloudEvents_specversion: '1.0',
        cloudEvents_id: EVENT_ID,
        cloudEvents_type: 'user.created',
        cloudEvents_source: 'user-service',
        cloudEvents_time: OCCURRED_AT,
        cloudEvents_dataschema: 'https://switchyard.io/schemas/events/user.created/v2.json',
        'x-event-version': 2,
        traceparent: TRACEPARENT,
        tracestate: TRACESTATE,
      },
    });
    expect(message.properties).not.toHaveProperty('contentEncoding');
  });

  it('takes the AMQP timestamp in seconds from occurredAt, whatever its offset', () => {
    const message = toWireMessage({
      eventId: EVENT_ID,
      contract: UserCreatedV2,
      data: { ...userCreatedV2(), occurredAt: '2025-03-14T16:09:26.999+01:00' },
      source: 'user-service',
    });
    expect(message.properties.timestamp).toBe(1741964966);
    expect(message.properties.headers.cloudEvents_time).toBe('2025-03-14T16:09:26.999+01:00');
  });

  it('defaults the correlation id to the event id and leaves out absent trace context', () => {
    const message = toWireMessage({
      eventId: EVENT_ID,
      contract: UserCreatedV2,
      data: userCreatedV2(),
      source: 'user-service',
      correlationId: null,
      traceparent: null,
    });
    expect(message.properties.correlationId).toBe(EVENT_ID);
    expect(Object.keys(message.properties.headers)).not.toContain('traceparent');
    expect(Object.keys(message.properties.headers)).not.toContain('tracestate');
  });

  it('refuses invalid data with schema_invalid naming the field, before anything reaches the wire', () => {
    const error = expectRejected(
      () =>
        toWireMessage({
          eventId: EVENT_ID,
          contract: UserCreatedV2,
          data: { ...userCreatedV2(), email: 'not-an-email' },
          source: 'user-service',
        }),
      'schema_invalid',
    );
    expect(error.message).toMatch(/^user\.created v2 cannot be published: invalid data: email \(/);
  });

  it('sends only the fields the contract lists (a stray field such as a password never leaves)', () => {
    const data = { ...userCreatedV2(), passwordHash: '$argon2id$secret' };
    const message = toWireMessage({ eventId: EVENT_ID, contract: UserCreatedV2, data, source: 'user-service' });
    expect(message.content.toString('utf8')).not.toContain('argon2id');
  });

  it('refuses to publish an old version, at compile time and at run time', () => {
    expect(() =>
      // @ts-expect-error user.created v1 is not the latest version.
      toWireMessage({ eventId: EVENT_ID, contract: UserCreatedV1, data: userCreatedV1(), source: 'user-service' }),
    ).toThrow("user.created v1 is not the latest version: publish eventCatalog.latest('user.created')");
  });

  it('refuses an event id that is not a UUID and an empty source', () => {
    expect(() =>
      toWireMessage({ eventId: 'evt-1', contract: UserCreatedV2, data: userCreatedV2(), source: 'user-service' }),
    ).toThrow(/eventId must be a UUID/);
    expect(() =>
      toWireMessage({ eventId: EVENT_ID, contract: UserCreatedV2, data: userCreatedV2(), source: ' ' }),
    ).toThrow(/source/);
  });
});

describe('fromWireMessage', () => {
  it('round-trips every property and header', () => {
    const sent = userCreatedMessage();
    const received = fromWireMessage({ content: sent.content, properties: sent.properties });
    expect(received).toEqual({
      eventId: EVENT_ID,
      type: 'user.created',
      version: 2,
      data: userCreatedV2(),
      source: 'user-service',
      correlationId: CORRELATION_ID,
      occurredAt: OCCURRED_AT,
      traceparent: TRACEPARENT,
      tracestate: TRACESTATE,
      headers: sent.properties.headers,
    });
    // And back to a typed event.
    expect(eventCatalog.decode(received.type, received.version, received.data).data).toEqual(userCreatedV2());
  });

  it('round-trips every event type through the catalog', () => {
    const message = toWireMessage({
      eventId: EVENT_ID,
      contract: OrderPlacedV1,
      data: orderPlacedV1(),
      source: 'order-service',
    });
    const received = fromWireMessage(message);
    expect(eventCatalog.decodeAs(OrderPlacedV1, received).data).toEqual(orderPlacedV1());
    expect(received).toMatchObject({
      type: 'order.placed',
      version: 1,
      source: 'order-service',
      correlationId: EVENT_ID,
    });
  });

  it('keeps headers it does not know, such as x-death from a dead-letter exchange', () => {
    const xDeath = [{ count: 1, queue: 'order-service.user.created', reason: 'rejected' }];
    const received = fromWireMessage(incoming({ ...minimalHeaders, 'x-death': xDeath }));
    expect(received.headers['x-death']).toEqual(xDeath);
  });

  it('falls back to the type, messageId and appId properties of a plain AMQP publisher', () => {
    const received = fromWireMessage(
      incoming(
        { 'x-event-version': '1' },
        { type: 'user.created', messageId: EVENT_ID, appId: 'legacy-importer' },
        Buffer.from(JSON.stringify(userCreatedV1())),
      ),
    );
    expect(received).toMatchObject({
      eventId: EVENT_ID,
      type: 'user.created',
      version: 1,
      source: 'legacy-importer',
      correlationId: EVENT_ID,
    });
    expect(received).not.toHaveProperty('occurredAt');
    expect(received).not.toHaveProperty('traceparent');
    expect(eventCatalog.decode(received.type, received.version, received.data).data).toMatchObject({
      marketingOptIn: false,
      locale: 'en',
    });
  });

  it.each([
    ['cloudEvents_ (the AMQP binding, what we write)', 'cloudEvents_'],
    ['cloudEvents: (the AMQP binding, as the Go SDK writes it)', 'cloudEvents:'],
    ['ce- (what we wrote before, accepted while deprecated)', 'ce-'],
  ])('reads the CloudEvents headers spelled %s', (_spelling, prefix) => {
    const headers = {
      [`${prefix}id`]: EVENT_ID,
      [`${prefix}type`]: 'user.created',
      [`${prefix}source`]: 'user-service',
      [`${prefix}time`]: OCCURRED_AT,
      'x-event-version': 2,
    };
    expect(fromWireMessage(incoming(headers))).toMatchObject({
      eventId: EVENT_ID,
      type: 'user.created',
      source: 'user-service',
      occurredAt: OCCURRED_AT,
      version: 2,
    });
  });

  it('reads back what it writes, and accepts two spellings of one attribute only when they agree', () => {
    const wire = toWireMessage({
      eventId: EVENT_ID,
      contract: UserCreatedV2,
      data: userCreatedV2(),
      source: 'user-service',
    });
    expect(
      Object.keys(wire.properties.headers).filter((name) => name.startsWith('ce-') || name.startsWith('cloudEvents:')),
    ).toEqual([]);
    expect(fromWireMessage({ content: wire.content, properties: wire.properties })).toMatchObject({
      eventId: EVENT_ID,
      type: 'user.created',
      source: 'user-service',
    });
    expect(fromWireMessage(incoming({ ...minimalHeaders, cloudEvents_type: 'user.created' })).type).toBe(
      'user.created',
    );
    const error = expectRejected(
      () => fromWireMessage(incoming({ ...minimalHeaders, cloudEvents_type: 'order.placed' })),
      'missing_header',
    );
    expect(error.message).toBe('the event type is ambiguous: cloudEvents_type and ce-type differ');
  });

  it('accepts header values delivered as bytes', () => {
    const received = fromWireMessage(
      incoming({ ...minimalHeaders, 'ce-type': Buffer.from('user.created'), 'x-event-version': Buffer.from('2') }),
    );
    expect(received).toMatchObject({ type: 'user.created', version: 2 });
  });

  it.each([
    ['a numeric string', '12', 12],
    ['a number', 3, 3],
  ])('reads x-event-version given as %s', (_kind, raw, version) => {
    expect(fromWireMessage(incoming({ ...minimalHeaders, 'x-event-version': raw })).version).toBe(version);
  });

  it.each([
    ['the type', { 'ce-type': undefined }, /no event type/],
    ['the id', { 'ce-id': undefined }, /no event id/],
    ['the source', { 'ce-source': undefined }, /no event source/],
    ['the version', { 'x-event-version': undefined }, /no x-event-version header/],
    ['an empty type', { 'ce-type': '' }, /no event type/],
    ['a non-UUID id', { 'ce-id': '42' }, /ce-id must be a UUID/],
    ['version 0', { 'x-event-version': 0 }, /positive integer/],
    ['version 1.5', { 'x-event-version': 1.5 }, /positive integer/],
    ['version "1.5"', { 'x-event-version': '1.5' }, /positive integer/],
    ['version "v2"', { 'x-event-version': 'v2' }, /positive integer/],
    ['version "-1"', { 'x-event-version': '-1' }, /positive integer/],
    ['version true', { 'x-event-version': true }, /positive integer/],
  ])('rejects a message missing %s as missing_header', (_what, override, message) => {
    const error = expectRejected(() => fromWireMessage(incoming({ ...minimalHeaders, ...override })), 'missing_header');
    expect(error.message).toMatch(message);
  });

  it('rejects a message with no headers at all as missing_header', () => {
    expectRejected(() => fromWireMessage({ content: Buffer.from('{}'), properties: {} }), 'missing_header');
  });

  it('rejects a header and property that disagree as missing_header', () => {
    const error = expectRejected(
      () => fromWireMessage(incoming(minimalHeaders, { type: 'order.placed' })),
      'missing_header',
    );
    expect(error.message).toBe('the event type is ambiguous: ce-type and the type property differ');
    expectRejected(() => fromWireMessage(incoming(minimalHeaders, { messageId: USER_ID })), 'missing_header');
  });

  it.each([
    ['text/plain', { contentType: 'text/plain' }],
    ['JSON in another charset', { contentType: 'application/json; charset=utf-16' }],
    ['an empty content type', { contentType: '' }],
    ['a compressed body', { contentType: 'application/json', contentEncoding: 'gzip' }],
  ])('rejects %s as unsupported_content_type', (_what, properties) => {
    const error = expectRejected(
      () => fromWireMessage(incoming(minimalHeaders, properties)),
      'unsupported_content_type',
    );
    expect(error).toMatchObject({ eventType: 'user.created', version: 2 });
  });

  it.each([undefined, 'application/json', 'Application/JSON; charset=UTF-8', 'application/json;charset="utf8"'])(
    'accepts content type %s',
    (contentType) => {
      expect(fromWireMessage(incoming(minimalHeaders, { contentType, contentEncoding: 'identity' })).data).toEqual(
        userCreatedV2(),
      );
    },
  );

  it.each([
    ['not JSON', Buffer.from('{"userId": ')],
    ['empty', Buffer.alloc(0)],
    ['a JSON array', Buffer.from('[1, 2]')],
    ['a JSON string', Buffer.from('"hello"')],
    ['JSON null', Buffer.from('null')],
    ['not UTF-8', Buffer.from([0x7b, 0x22, 0xff, 0xfe, 0x22, 0x7d])],
  ])('rejects a body that is %s as malformed_json', (_what, content) => {
    const error = expectRejected(() => fromWireMessage(incoming(minimalHeaders, {}, content)), 'malformed_json');
    expect(error).toMatchObject({ eventType: 'user.created', version: 2 });
  });
});
