import { describe, expect, it } from '@jest/globals';
import type { EventContract } from './event-contract.js';
import { EventRejectedError } from './event-rejected-error.js';
import { validateEventData } from './event-validation.js';
import { OrderCancelledV1 } from './events/order-cancelled.js';
import { OrderPlacedV1 } from './events/order-placed.js';
import { UserCreatedV1, UserCreatedV2 } from './events/user-created.js';
import { UserDeletedV1 } from './events/user-deleted.js';
import { UserUpdatedV1 } from './events/user-updated.js';
import {
  orderCancelledV1,
  orderPlacedV1,
  userCreatedV1,
  userCreatedV2,
  userDeletedV1,
  userUpdatedV1,
} from '../test/sample-events.js';

function rejection(contract: EventContract, data: unknown): EventRejectedError {
  try {
    validateEventData(contract, data);
  } catch (error) {
    if (error instanceof EventRejectedError) return error;
    throw error;
  }
  throw new Error(`${contract.type} v${contract.version} accepted invalid data`);
}

type Case = [name: string, contract: EventContract, valid: () => Record<string, unknown>];

const cases: Case[] = [
  ['user.created v1', UserCreatedV1, userCreatedV1],
  ['user.created v2', UserCreatedV2, userCreatedV2],
  ['user.updated v1', UserUpdatedV1, userUpdatedV1],
  ['user.deleted v1', UserDeletedV1, userDeletedV1],
  ['order.placed v1', OrderPlacedV1, orderPlacedV1],
  ['order.cancelled v1', OrderCancelledV1, orderCancelledV1],
];

describe('event schemas', () => {
  it.each(cases)('%s accepts a valid event', (_name, contract, valid) => {
    expect(validateEventData(contract, valid())).toEqual(valid());
  });

  it.each(cases)('%s drops unknown fields from newer producers', (_name, contract, valid) => {
    expect(validateEventData(contract, { ...valid(), addedLater: 'x' })).toEqual(valid());
  });

  it.each(cases)('%s rejects a bad userId and a missing occurredAt, naming both', (_name, contract, valid) => {
    const data: Record<string, unknown> = { ...valid(), userId: 'not-a-uuid' };
    delete data['occurredAt'];
    const error = rejection(contract, data);
    expect(error.reason).toBe('schema_invalid');
    expect(error.issues.map((issue) => issue.path)).toEqual(['userId', 'occurredAt']);
    expect(error.message).toContain('userId');
    expect(error.message).toContain('occurredAt');
  });

  it.each([
    ['user.created v1', 'email', UserCreatedV1, { ...userCreatedV1(), email: 'nope' }],
    ['user.created v1', 'name', UserCreatedV1, { ...userCreatedV1(), name: '' }],
    ['user.created v1', 'occurredAt', UserCreatedV1, { ...userCreatedV1(), occurredAt: '2025-03-14 15:09' }],
    ['user.created v1', 'occurredAt', UserCreatedV1, { ...userCreatedV1(), occurredAt: '2025-03-14T15:09:26' }],
    ['user.created v2', 'marketingOptIn', UserCreatedV2, { ...userCreatedV2(), marketingOptIn: 'yes' }],
    ['user.created v2', 'locale', UserCreatedV2, { ...userCreatedV2(), locale: 'english please' }],
    ['user.created v2', 'marketingOptIn,locale', UserCreatedV2, userCreatedV1()],
    ['user.updated v1', 'changes', UserUpdatedV1, { ...userUpdatedV1(), changes: {} }],
    ['user.updated v1', 'changes', UserUpdatedV1, { ...userUpdatedV1(), changes: { unrelated: 1 } }],
    ['user.updated v1', 'changes.email', UserUpdatedV1, { ...userUpdatedV1(), changes: { email: 'x' } }],
    ['order.placed v1', 'items', OrderPlacedV1, { ...orderPlacedV1(), items: [] }],
    [
      'order.placed v1',
      'items.0.quantity',
      OrderPlacedV1,
      { ...orderPlacedV1(), items: [{ sku: 'A', quantity: 0, unitPriceCents: 1 }] },
    ],
    [
      'order.placed v1',
      'items.0.quantity',
      OrderPlacedV1,
      { ...orderPlacedV1(), items: [{ sku: 'A', quantity: 1.5, unitPriceCents: 1 }] },
    ],
    [
      'order.placed v1',
      'items.0.unitPriceCents',
      OrderPlacedV1,
      { ...orderPlacedV1(), items: [{ sku: 'A', quantity: 1, unitPriceCents: -1 }] },
    ],
    [
      'order.placed v1',
      'items.0.sku',
      OrderPlacedV1,
      { ...orderPlacedV1(), items: [{ sku: '', quantity: 1, unitPriceCents: 1 }] },
    ],
    ['order.placed v1', 'totalCents', OrderPlacedV1, { ...orderPlacedV1(), totalCents: '2500' }],
    ['order.placed v1', 'orderId', OrderPlacedV1, { ...orderPlacedV1(), orderId: 42 }],
    ['order.cancelled v1', 'reason', OrderCancelledV1, { ...orderCancelledV1(), reason: null }],
    // Valid ISO 8601 and valid strings, but nothing a consumer's database can store: rejected once, not retried.
    ['user.created v2', 'name', UserCreatedV2, { ...userCreatedV2(), name: 'Eve\u0000' }],
    ['user.created v2', 'name', UserCreatedV2, { ...userCreatedV2(), name: 'Eve\ud800' }],
    ['user.updated v1', 'changes.name', UserUpdatedV1, { ...userUpdatedV1(), changes: { name: '\u0000' } }],
    ['user.deleted v1', 'occurredAt', UserDeletedV1, { ...userDeletedV1(), occurredAt: '0000-06-01T00:00:00Z' }],
    ['order.placed v1', 'occurredAt', OrderPlacedV1, { ...orderPlacedV1(), occurredAt: '0001-01-01T00:30:00+01:00' }],
  ])('%s rejects a bad %s, naming it', (_name, fields, contract, data) => {
    const error = rejection(contract, data);
    expect(error.reason).toBe('schema_invalid');
    expect(error.issues.map((issue) => issue.path)).toEqual(fields.split(','));
    for (const field of fields.split(',')) expect(error.message).toContain(`${field} (`);
  });

  it('names the payload itself when it is not an object', () => {
    const error = rejection(UserDeletedV1, ['a']);
    expect(error.issues.map((issue) => issue.path)).toEqual(['data']);
  });

  it('accepts an occurredAt with an offset and BCP 47 locales user-service accepts', () => {
    expect(() =>
      validateEventData(UserCreatedV1, { ...userCreatedV1(), occurredAt: '2025-03-14T16:09:26+01:00' }),
    ).not.toThrow();
    for (const locale of ['en', 'en-US', 'zh-Hant-TW', 'de-CH-1996', 'es-419']) {
      expect(() => validateEventData(UserCreatedV2, { ...userCreatedV2(), locale })).not.toThrow();
    }
  });

  it('never echoes field values in the rejection message (they may be personal data)', () => {
    const error = rejection(UserCreatedV1, { ...userCreatedV1(), email: 'secret-person@nowhere' });
    expect(error.message).not.toContain('secret-person');
  });

  it('gives every contract its stable dataschema URI', () => {
    expect(cases.map(([, contract]) => contract.dataschema)).toEqual([
      'https://switchyard.io/schemas/events/user.created/v1.json',
      'https://switchyard.io/schemas/events/user.created/v2.json',
      'https://switchyard.io/schemas/events/user.updated/v1.json',
      'https://switchyard.io/schemas/events/user.deleted/v1.json',
      'https://switchyard.io/schemas/events/order.placed/v1.json',
      'https://switchyard.io/schemas/events/order.cancelled/v1.json',
    ]);
  });
});
