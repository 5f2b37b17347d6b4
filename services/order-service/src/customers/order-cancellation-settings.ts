import { z } from 'zod';

/**
 * Orders a chunk cancels, in one transaction. 200: about a quarter of a second of work (an update and 200 outbox
 * inserts), far inside Prisma's 5 s transaction timeout even on a loaded database, while 20,000 orders still take
 * only 100 transactions.
 */
export const DEFAULT_ORDER_CANCELLATION_CHUNK_SIZE = 200;

/** Largest chunk allowed: 2,000 cancellations still commit within the 5 s transaction timeout on a slow disk. */
export const MAX_ORDER_CANCELLATION_CHUNK_SIZE = 2_000;

/** How often an idle worker looks for unfinished deletions, in ms (a busy one goes straight on to the next chunk). */
export const DEFAULT_ORDER_CANCELLATION_POLL_MS = 1_000;

/** The environment variables of the deleted-customer order cancellation, for order-service's config schema. */
export const orderCancellationConfigShape = {
  /** Orders cancelled per transaction when a deleted customer's orders are cancelled. Default 200. */
  ORDER_CANCELLATION_CHUNK_SIZE: z.coerce
    .number({ error: 'must be a number of orders' })
    .int({ error: 'must be a whole number of orders' })
    .min(1, { error: `must be between 1 and ${MAX_ORDER_CANCELLATION_CHUNK_SIZE}` })
    .max(MAX_ORDER_CANCELLATION_CHUNK_SIZE, { error: `must be between 1 and ${MAX_ORDER_CANCELLATION_CHUNK_SIZE}` })
    .default(DEFAULT_ORDER_CANCELLATION_CHUNK_SIZE),
  /** How often an idle worker looks for unfinished deletions, in ms. Default 1 s. */
  ORDER_CANCELLATION_POLL_MS: z.coerce
    .number({ error: 'must be a number of milliseconds' })
    .int({ error: 'must be a whole number of milliseconds' })
    .min(10, { error: 'must be between 10 and 600000' })
    .max(600_000, { error: 'must be between 10 and 600000' })
    .default(DEFAULT_ORDER_CANCELLATION_POLL_MS),
};

/** What the cancellation needs of order-service's configuration. */
export interface OrderCancellationSettings {
  ORDER_CANCELLATION_CHUNK_SIZE: number;
  ORDER_CANCELLATION_POLL_MS: number;
}

/** Injection token of the {@link OrderCancellationSettings}. */
export const ORDER_CANCELLATION_SETTINGS = Symbol('ORDER_CANCELLATION_SETTINGS');
