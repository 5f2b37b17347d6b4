import { z } from 'zod';

// Field schemas shared by several events, so the same field means the same thing everywhere.

export const userId = z.uuid().describe('The user (a UUID assigned by user-service).');

export const orderId = z.uuid().describe('The order (a UUID assigned by order-service).');

/** Any ISO 8601 instant with a zone (`Z` or an offset): producers write `Date.toISOString()`. */
export const occurredAt = z.iso.datetime({ offset: true }).describe('When it happened: an ISO 8601 date-time with a zone.');

export const email = z.email().describe("The user's email address, as user-service stores it (trimmed, lower-cased).");

export const userName = z.string().min(1).describe("The user's display name.");
