import { z } from 'zod';

// Field schemas shared by several events, so the same field means the same thing everywhere.

export const userId = z.uuid().describe('The user (a UUID assigned by user-service).');

export const orderId = z.uuid().describe('The order (a UUID assigned by order-service).');

/**
 * Any ISO 8601 instant with a zone (`Z` or an offset): producers write `Date.toISOString()`. The instant must fall in
 * the years 1 to 9999 (UTC): `0000-01-01T00:00:00Z` is valid ISO 8601 but no database timestamp, and a consumer that
 * stores it would fail on every retry instead of rejecting it once.
 */
export const occurredAt = z.iso
  .datetime({ offset: true })
  .refine(
    (value) => {
      const year = new Date(value).getUTCFullYear();
      return year >= 1 && year <= 9999;
    },
    { error: 'must be an instant between the years 1 and 9999 (UTC)' },
  )
  .describe('When it happened: an ISO 8601 date-time with a zone.');

export const email = z.email().describe("The user's email address, as user-service stores it (trimmed, lower-cased).");

/**
 * Text a consumer can store as it came: Postgres refuses NUL in text, and an unpaired UTF-16 surrogate has no UTF-8
 * form. user-service accepts neither, so the contract is not stricter than its producer.
 */
const storableText = (text: string) => text.isWellFormed() && !text.includes('\u0000');

export const userName = z
  .string()
  .min(1)
  .refine(storableText, { error: 'must not contain NUL characters or unpaired surrogates' })
  .describe("The user's display name.");
