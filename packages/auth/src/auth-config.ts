import { z } from 'zod';

/** 15 minutes: short enough that a leaked token soon stops working, long enough not to log in all the time. */
export const DEFAULT_TOKEN_TTL_SECONDS = 900;
/** Where order-service finds user-service's keys when run side by side (`npm start`); the charts set the Service URL. */
export const DEFAULT_JWKS_URL = 'http://127.0.0.1:3001/.well-known/jwks.json';
/** One JWKS request may take this long before verification answers 503. */
export const DEFAULT_JWKS_TIMEOUT_MS = 5_000;
/** jose's default: at most one JWKS fetch per 30 s, however many unknown kids arrive. */
export const DEFAULT_JWKS_COOLDOWN_MS = 30_000;

const emailList = z
  .string()
  .default('')
  .transform((text) =>
    text
      .split(',')
      .map((email) => email.trim().toLowerCase())
      .filter((email) => email !== ''),
  )
  .pipe(z.array(z.email({ error: 'must be a comma-separated list of email addresses' })));

/** Settings of the service that issues tokens (user-service). */
export const tokenIssuerConfigShape = {
  /** PEM private key (EC P-256; PKCS#8 or SEC1) that signs tokens. Required: a default key would be a shared secret. */
  AUTH_SIGNING_KEY_FILE: z.string({ error: 'must be the path of a PEM EC P-256 private key' }).min(1),
  /** The key signing before the last rotation: published in the JWKS so its tokens stay valid, never used to sign. */
  AUTH_PREVIOUS_SIGNING_KEY_FILE: z.string().min(1).optional(),
  /** Lifetime of an access token in seconds; 900 (15 min). */
  AUTH_TOKEN_TTL_SECONDS: z.coerce
    .number({ error: 'must be a number of seconds' })
    .int()
    .min(30)
    .max(86_400)
    .default(DEFAULT_TOKEN_TTL_SECONDS),
  /** Users whose tokens carry the `admin` role, decided when the token is issued. Empty by default: no admins. */
  ADMIN_EMAILS: emailList,
};

/** Settings of a service that only verifies tokens (order-service). */
export const tokenVerifierConfigShape = {
  /** user-service's JWKS. */
  AUTH_JWKS_URL: z.url({ protocol: /^https?$/, error: 'must be an http:// or https:// URL' }).default(DEFAULT_JWKS_URL),
  /** Timeout of one JWKS request, in milliseconds; 5 s. */
  AUTH_JWKS_TIMEOUT_MS: z.coerce
    .number({ error: 'must be a number of milliseconds' })
    .int()
    .min(100)
    .max(60_000)
    .default(DEFAULT_JWKS_TIMEOUT_MS),
  /** Least time between two JWKS fetches (an unknown kid triggers one), in milliseconds; 30 s. */
  AUTH_JWKS_COOLDOWN_MS: z.coerce
    .number({ error: 'must be a number of milliseconds' })
    .int()
    .min(0)
    .max(600_000)
    .default(DEFAULT_JWKS_COOLDOWN_MS),
};
