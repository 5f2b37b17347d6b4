import { describe, expect, it } from '@jest/globals';
import { z } from 'zod';
import { USER_ID, OCCURRED_AT, userCreatedV1, userCreatedV2, orderPlacedV1 } from '../test/sample-events.js';
import { defineCatalog } from './event-catalog.js';
import { defineEvent } from './event-contract.js';
import { EventRejectedError, type RejectionReason } from './event-rejected-error.js';
import { OrderPlacedV1 } from './events/order-placed.js';
import { DEFAULT_LOCALE, DEFAULT_MARKETING_OPT_IN, UserCreatedV1, UserCreatedV2 } from './events/user-created.js';
import { UserUpdatedV1 } from './events/user-updated.js';
import { eventCatalog } from './switchyard-catalog.js';
import { defineUpcaster } from './upcaster.js';

function rejectionOf(run: () => unknown): EventRejectedError {
  try {
    run();
  } catch (error) {
    if (error instanceof EventRejectedError) return error;
    throw error;
  }
  throw new Error('expected an EventRejectedError, nothing was thrown');
}

function expectRejected(run: () => unknown, reason: RejectionReason): EventRejectedError {
  const error = rejectionOf(run);
  expect(error.reason).toBe(reason);
  return error;
}

// A three-version event whose v1 is retired: v2 → v3 has an upcaster, v1 has no path.
const base = { id: z.uuid(), occurredAt: z.iso.datetime() };
const ThingV2 = defineEvent({
  type: 'test.thing',
  version: 2,
  description: 'v2',
  schema: z.object({ ...base, size: z.int() }),
});
const ThingV3 = defineEvent({
  type: 'test.thing',
  version: 3,
  description: 'v3',
  schema: z.object({ ...base, size: z.int().positive(), unit: z.enum(['cm', 'in']) }),
});
const thingV2ToV3 = defineUpcaster(ThingV2, ThingV3, (data) => ({ ...data, unit: 'cm' as const }));
const things = defineCatalog({
  'test.thing': { producer: 'test-service', versions: [ThingV2, ThingV3], upcasters: [thingV2ToV3] },
});

describe('event catalog', () => {
  it('knows every event type and its producer', () => {
    expect(eventCatalog.types).toEqual([
      'user.created',
      'user.updated',
      'user.deleted',
      'order.placed',
      'order.cancelled',
    ]);
    expect(eventCatalog.eventFamilies.map((family) => [family.type, family.producer])).toEqual([
      ['user.created', 'user-service'],
      ['user.updated', 'user-service'],
      ['user.deleted', 'user-service'],
      ['order.placed', 'order-service'],
      ['order.cancelled', 'order-service'],
    ]);
  });

  it('returns the latest contract of a type, which is the only publishable one', () => {
    expect(eventCatalog.latest('user.created')).toBe(UserCreatedV2);
    expect(eventCatalog.latest('user.updated')).toBe(UserUpdatedV1);
    expect(eventCatalog.versions('user.created')).toEqual([UserCreatedV1, UserCreatedV2]);
    expect(eventCatalog.isLatest(UserCreatedV2)).toBe(true);
    expect(eventCatalog.isLatest(UserCreatedV1)).toBe(false);
    // A look-alike is not the catalog's contract.
    expect(eventCatalog.isLatest({ ...UserCreatedV2 })).toBe(false);
  });

  it('decodes the latest version as is, dropping unknown fields', () => {
    const decoded = eventCatalog.decode('user.created', 2, { ...userCreatedV2(), futureField: true });
    expect(decoded).toEqual({
      type: 'user.created',
      version: 2,
      contract: UserCreatedV2,
      data: userCreatedV2(),
      receivedVersion: 2,
    });
  });

  it('upcasts user.created v1 to v2 with the documented defaults', () => {
    const decoded = eventCatalog.decode('user.created', 1, userCreatedV1());
    expect(decoded.contract).toBe(UserCreatedV2);
    expect(decoded.receivedVersion).toBe(1);
    expect(decoded.data).toEqual({ ...userCreatedV1(), marketingOptIn: false, locale: 'en' });
    expect([DEFAULT_MARKETING_OPT_IN, DEFAULT_LOCALE]).toEqual([false, 'en']);
  });

  it('validates against the version the event arrived as, before upcasting', () => {
    // Valid v2 data sent as v1 is still checked as v1 (and would have passed); a broken v1 is named as v1.
    const error = expectRejected(
      () => eventCatalog.decode('user.created', 1, { ...userCreatedV1(), email: 'nope' }),
      'schema_invalid',
    );
    expect(error.message).toMatch(/^user\.created v1: invalid data: email \(/);
    expect(error).toMatchObject({ eventType: 'user.created', version: 1 });
    expect(error.issues).toEqual([{ path: 'email', message: expect.any(String) }]);
  });

  it('names every bad field path in a schema_invalid rejection', () => {
    const error = expectRejected(
      () =>
        eventCatalog.decode('order.placed', 1, {
          ...orderPlacedV1(),
          userId: 7,
          items: [{ sku: 'A', quantity: 0, unitPriceCents: 1 }],
        }),
      'schema_invalid',
    );
    expect(error.issues.map((issue) => issue.path)).toEqual(['userId', 'items.0.quantity']);
    expect(error.message).toContain('userId (');
    expect(error.message).toContain('items.0.quantity (');
  });

  it('rejects a version newer than the catalog knows as unsupported_version', () => {
    const error = expectRejected(() => eventCatalog.decode('user.created', 3, userCreatedV2()), 'unsupported_version');
    expect(error.message).toContain('v3 is newer than this build knows (v1, v2)');
    expect(error).toMatchObject({ eventType: 'user.created', version: 3 });
  });

  it.each([0, -1, 1.5, Number.NaN])('rejects version %p as unsupported_version', (version) => {
    expectRejected(() => eventCatalog.decode('user.created', version, userCreatedV1()), 'unsupported_version');
  });

  it('rejects an older version with no upcaster path as unsupported_version', () => {
    const error = expectRejected(
      () => things.decode('test.thing', 1, { id: USER_ID, occurredAt: OCCURRED_AT, size: 1 }),
      'unsupported_version',
    );
    expect(error.message).toContain('no upcaster path');
  });

  it('validates what an upcaster produces against the next version', () => {
    const v2 = { id: USER_ID, occurredAt: OCCURRED_AT, size: 0 };
    expect(things.decode('test.thing', 2, { ...v2, size: 4 }).data).toEqual({ ...v2, size: 4, unit: 'cm' });
    // size 0 is valid v2 but not valid v3.
    const error = expectRejected(() => things.decode('test.thing', 2, v2), 'schema_invalid');
    expect(error.message).toContain('test.thing v3 (upcast from v2): invalid data: size');
  });

  it('rejects an unknown event type', () => {
    const error = expectRejected(() => eventCatalog.decode('user.exploded', 1, {}), 'unknown_event_type');
    expect(error.eventType).toBe('user.exploded');
  });

  describe('decodeAs', () => {
    it('returns data typed by the contract asked for, upcast to it', () => {
      const decoded = eventCatalog.decodeAs(UserCreatedV2, { type: 'user.created', version: 1, data: userCreatedV1() });
      // Typed access, no cast: this line would not compile if data were not user.created v2.
      const locale: string = decoded.data.locale;
      expect(locale).toBe('en');
    });

    it('can decode to an older version a consumer still pins, but never downcasts', () => {
      expect(
        eventCatalog.decodeAs(UserCreatedV1, { type: 'user.created', version: 1, data: userCreatedV1() }).data,
      ).toEqual(userCreatedV1());
      const error = expectRejected(
        () => eventCatalog.decodeAs(UserCreatedV1, { type: 'user.created', version: 2, data: userCreatedV2() }),
        'unsupported_version',
      );
      expect(error.message).toContain('upcasting only goes forward');
    });

    it('rejects an event of another type', () => {
      const error = expectRejected(
        () => eventCatalog.decodeAs(OrderPlacedV1, { type: 'user.created', version: 1, data: userCreatedV1() }),
        'unknown_event_type',
      );
      expect(error.message).toBe('expected a order.placed event, got user.created');
    });

    it('refuses a contract the catalog does not hold', () => {
      // @ts-expect-error ThingV3 is not one of the Switchyard contracts.
      expect(() => eventCatalog.decodeAs(ThingV3, { type: 'test.thing', version: 3, data: {} })).toThrow(
        /unknown event type "test.thing"/,
      );
    });
  });

  it('narrows a decoded union by type without casts', () => {
    const decoded = eventCatalog.decode('order.placed', 1, orderPlacedV1());
    let firstSku = '';
    if (decoded.type === 'order.placed') firstSku = decoded.data.items[0]?.sku ?? '';
    expect(firstSku).toBe('BOOK-001');
  });

  describe('declaration checks', () => {
    it('refuses a contract listed under another type', () => {
      // @ts-expect-error user.created contracts under order.placed.
      expect(() => defineCatalog({ 'order.placed': { producer: 'x', versions: [UserCreatedV1] } })).toThrow(
        /listed under order.placed/,
      );
    });

    it('refuses a version gap and a missing upcaster', () => {
      const ThingV4 = defineEvent({ type: 'test.thing', version: 4, description: 'v4', schema: ThingV3.schema });
      expect(() => defineCatalog({ 'test.thing': { producer: 'x', versions: [ThingV2, ThingV4] } })).toThrow(
        /consecutive/,
      );
      expect(() => defineCatalog({ 'test.thing': { producer: 'x', versions: [ThingV2, ThingV3] } })).toThrow(
        /v2 has no upcaster to v3/,
      );
    });

    it('refuses an upcaster that skips a version or changes type', () => {
      expect(() => defineUpcaster(UserCreatedV1, UserCreatedV1, (data) => data)).toThrow(/one version up/);
      // @ts-expect-error an upcaster stays within one event type.
      expect(() => defineUpcaster(ThingV2, UserCreatedV2, () => userCreatedV2())).toThrow(
        /cannot turn test.thing into user.created/,
      );
    });

    it('refuses malformed event definitions', () => {
      const schema = z.object({ occurredAt: z.string() });
      expect(() => defineEvent({ type: 'UserCreated', version: 1, description: 'x', schema })).toThrow(
        /dotted lower-case/,
      );
      expect(() => defineEvent({ type: 'user.#', version: 1, description: 'x', schema })).toThrow(/dotted lower-case/);
      expect(() => defineEvent({ type: 'user.created', version: 0, description: 'x', schema })).toThrow(
        /positive integer/,
      );
      expect(() => defineEvent({ type: 'user.created', version: 1, description: ' ', schema })).toThrow(/description/);
    });
  });
});
