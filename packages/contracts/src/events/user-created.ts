import { z } from 'zod';
import { defineEvent } from '../event-contract.js';
import { defineUpcaster } from '../upcaster.js';
import { email, occurredAt, userId, userName } from './event-fields.js';

export const UserCreatedV1 = defineEvent({
  type: 'user.created',
  version: 1,
  orderingKey: 'userId',
  description: 'A user signed up.',
  schema: z.object({ userId, email, name: userName, occurredAt }),
});

/**
 * BCP 47 language tag, loosely checked: at least everything user-service accepts (`en`, `en-US`,
 * `zh-Hant-TW`); the contract must never be stricter than its producer.
 */
const locale = z
  .string()
  .regex(/^[A-Za-z]{2,8}(-[A-Za-z0-9]{1,8})*$/, { error: 'must be a BCP 47 language tag such as en or en-US' })
  .describe('Preferred language: a BCP 47 tag such as en or en-US.');

export const UserCreatedV2 = defineEvent({
  type: 'user.created',
  version: 2,
  orderingKey: 'userId',
  description: 'A user signed up. v2 adds the marketing consent and the preferred locale.',
  schema: z.object({
    userId,
    email,
    name: userName,
    marketingOptIn: z.boolean().describe('Whether the user agreed to marketing messages.'),
    locale,
    occurredAt,
  }),
});

/**
 * v1 sign-ups were never asked for marketing consent, so none may be assumed (consent must be opt-in);
 * upgrading a v1 event must not opt anyone in.
 */
export const DEFAULT_MARKETING_OPT_IN = false;

/** v1 users signed up before locales existed, when the product spoke English only. */
export const DEFAULT_LOCALE = 'en';

export const userCreatedV1ToV2 = defineUpcaster(UserCreatedV1, UserCreatedV2, (data) => ({
  ...data,
  marketingOptIn: DEFAULT_MARKETING_OPT_IN,
  locale: DEFAULT_LOCALE,
}));
