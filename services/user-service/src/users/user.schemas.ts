import { paginationQueryShape } from '@switchyard/service-kit';
import { z } from 'zod';

/** Emails are compared case-insensitively: stored trimmed and lower-cased. 254 is the longest deliverable address (RFC 5321). */
const email = z
  .string({ error: 'must be a string' })
  .trim()
  .toLowerCase()
  .max(254, { error: 'must be at most 254 characters' })
  .pipe(z.email({ error: 'must be an email address' }));

/**
 * Text Postgres can store as sent: it refuses NUL in `text`, and an unpaired UTF-16 surrogate has no UTF-8 form
 * (it would silently become U+FFFD). Rejected here as a 400 rather than failing in the database as a 500.
 */
const storableText = (text: string) => text.isWellFormed() && !text.includes('\u0000');
const STORABLE_TEXT_ERROR = 'must not contain NUL characters or unpaired surrogates';

const name = z
  .string({ error: 'must be a string' })
  .trim()
  .min(1, { error: 'must not be empty' })
  .max(200, { error: 'must be at most 200 characters' })
  .refine(storableText, { error: STORABLE_TEXT_ERROR });

/** The upper bound keeps a hash request from becoming a denial of service; the lower one follows NIST SP 800-63B. */
const password = z
  .string({ error: 'must be a string' })
  .min(8, { error: 'must be at least 8 characters' })
  .max(256, { error: 'must be at most 256 characters' })
  // Two passwords differing only in an unpaired surrogate would hash alike (both encode as U+FFFD).
  .refine((text) => text.isWellFormed(), { error: 'must not contain unpaired surrogates' });

/** BCP 47 language tag, loosely checked (`en`, `en-US`, `zh-Hant-TW`). */
const locale = z
  .string({ error: 'must be a string' })
  .regex(/^[A-Za-z]{2,3}(-[A-Za-z0-9]{2,8})*$/, { error: 'must be a BCP 47 language tag such as en or en-US' });

export const createUserBody = z.strictObject({
  email,
  name,
  password,
  marketingOptIn: z.boolean({ error: 'must be a boolean' }).default(false),
  locale: locale.default('en'),
});
export type CreateUserBody = z.infer<typeof createUserBody>;

export const updateUserBody = z
  .strictObject({ email: email.optional(), name: name.optional() })
  .refine((body) => body.email !== undefined || body.name !== undefined, { error: 'must contain email or name' });
export type UpdateUserBody = z.infer<typeof updateUserBody>;

export const listUsersQuery = z.strictObject(paginationQueryShape);
export type ListUsersQuery = z.infer<typeof listUsersQuery>;
