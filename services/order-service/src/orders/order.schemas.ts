import { paginationQueryShape } from '@switchyard/service-kit';
import { z } from 'zod';

/** Bounds keep every total below 2^53 cents (100 items x 10 000 x 100 000 000), so it is exact as a JSON number. */
export const MAX_ITEMS = 100;
export const MAX_QUANTITY = 10_000;
export const MAX_UNIT_PRICE_CENTS = 100_000_000;

/**
 * Text Postgres can store as sent: it refuses NUL in `text`, and an unpaired UTF-16 surrogate has no UTF-8 form
 * (it would silently become U+FFFD). Rejected here as a 400 rather than failing in the database as a 500.
 */
const storableText = (text: string) => text.isWellFormed() && !text.includes('\u0000');

const orderItem = z.strictObject({
  sku: z
    .string({ error: 'must be a string' })
    .trim()
    .min(1, { error: 'must be a non-empty string' })
    .max(64, { error: 'must be at most 64 characters' })
    .refine(storableText, { error: 'must not contain NUL characters or unpaired surrogates' }),
  quantity: z
    .number({ error: 'must be a number' })
    .int({ error: 'must be a positive integer' })
    .positive({ error: 'must be a positive integer' })
    .max(MAX_QUANTITY, { error: `must be at most ${MAX_QUANTITY}` }),
  unitPriceCents: z
    .number({ error: 'must be a number' })
    .int({ error: 'must be a non-negative integer (cents)' })
    .nonnegative({ error: 'must be a non-negative integer (cents)' })
    .max(MAX_UNIT_PRICE_CENTS, { error: `must be at most ${MAX_UNIT_PRICE_CENTS}` }),
});

export const placeOrderBody = z.strictObject({
  /** Optional: the order is always the caller's (the token's `sub`); a different userId is refused with 403. */
  userId: z.uuid({ error: 'must be a UUID' }).optional(),
  items: z
    .array(orderItem, { error: 'must be an array of items' })
    .min(1, { error: 'must contain at least one item' })
    .max(MAX_ITEMS, { error: `must contain at most ${MAX_ITEMS} items` }),
});
export type PlaceOrderBody = z.infer<typeof placeOrderBody>;

export const listOrdersQuery = z.strictObject({
  /** Whose orders: the caller's when left out; another user's only for an admin. */
  userId: z.uuid({ error: 'must be a UUID' }).optional(),
  ...paginationQueryShape,
});
export type ListOrdersQuery = z.infer<typeof listOrdersQuery>;
