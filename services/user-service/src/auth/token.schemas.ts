import { z } from 'zod';

/**
 * `POST /auth/token`. The email is normalised as at sign-up (trimmed, lower-cased) but not checked for format: an
 * address that cannot exist simply fails like any unknown one. The password's upper bound matches sign-up's.
 */
export const tokenRequestBody = z.strictObject({
  email: z
    .string({ error: 'must be a string' })
    .trim()
    .toLowerCase()
    .min(1, { error: 'must not be empty' })
    .max(254, { error: 'must be at most 254 characters' })
    // Postgres text cannot hold NUL: the lookup would fail with 22021 (a 500), so refuse it here.
    .refine((email) => !email.includes('\u0000'), { error: 'must not contain NUL characters' }),
  password: z
    .string({ error: 'must be a string' })
    .min(1, { error: 'must not be empty' })
    .max(256, { error: 'must be at most 256 characters' }),
});
export type TokenRequestBody = z.infer<typeof tokenRequestBody>;

/** What `POST /auth/token` answers; documented in OpenAPI from this schema. */
export const tokenResponse = z.object({
  access_token: z.string(),
  token_type: z.literal('Bearer'),
  /** Seconds until the token expires. */
  expires_in: z.int().positive(),
});
