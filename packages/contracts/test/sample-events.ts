import type { EventData } from '../src/event-contract.js';
import type { OrderCancelledV1 } from '../src/events/order-cancelled.js';
import type { OrderPlacedV1 } from '../src/events/order-placed.js';
import type { UserCreatedV1, UserCreatedV2 } from '../src/events/user-created.js';
import type { UserDeletedV1 } from '../src/events/user-deleted.js';
import type { UserUpdatedV1 } from '../src/events/user-updated.js';

// Valid sample data for tests (not exported from the package).

export const USER_ID = '0192f5c4-6a1e-7b3c-9d2e-4f5a6b7c8d9e';
export const ORDER_ID = '0192f5c4-7000-7abc-8def-0123456789ab';
export const EVENT_ID = '0192f5c4-8000-7123-a456-789abcdef012';
export const OCCURRED_AT = '2025-03-14T15:09:26.535Z';

export function userCreatedV1(): EventData<typeof UserCreatedV1> {
  return { userId: USER_ID, email: 'ada@example.com', name: 'Ada Lovelace', occurredAt: OCCURRED_AT };
}

export function userCreatedV2(): EventData<typeof UserCreatedV2> {
  return { ...userCreatedV1(), marketingOptIn: true, locale: 'en-GB' };
}

export function userUpdatedV1(): EventData<typeof UserUpdatedV1> {
  return { userId: USER_ID, changes: { name: 'Ada King' }, occurredAt: OCCURRED_AT };
}

export function userDeletedV1(): EventData<typeof UserDeletedV1> {
  return { userId: USER_ID, occurredAt: OCCURRED_AT };
}

export function orderPlacedV1(): EventData<typeof OrderPlacedV1> {
  return {
    orderId: ORDER_ID,
    userId: USER_ID,
    items: [
      { sku: 'BOOK-001', quantity: 2, unitPriceCents: 1250 },
      { sku: 'PEN-7', quantity: 1, unitPriceCents: 0 },
    ],
    totalCents: 2500,
    occurredAt: OCCURRED_AT,
  };
}

export function orderCancelledV1(): EventData<typeof OrderCancelledV1> {
  return { orderId: ORDER_ID, userId: USER_ID, reason: 'requested', occurredAt: OCCURRED_AT };
}
