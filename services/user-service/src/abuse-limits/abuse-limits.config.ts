import { z } from 'zod';

/** Length of one rate-limit window: counts start again after it. A minute is short enough to forgive a typo. */
export const DEFAULT_RATE_LIMIT_WINDOW_SECONDS = 60;
/** Requests per window per client address, per limited route: room for a household or an office behind one NAT. */
export const DEFAULT_RATE_LIMIT_PER_ADDRESS = 30;
/** Requests per window per email, per limited route: a person retyping a password, not a guessing script. */
export const DEFAULT_RATE_LIMIT_PER_EMAIL = 10;
/** Counters kept per pod; past this the oldest window is forgotten. ~100 bytes each: about 10 MB at most. */
export const DEFAULT_RATE_LIMIT_MAX_TRACKED_KEYS = 100_000;
/**
 * argon2 hashes and verifications run at once. Each takes a libuv thread (4 by default) and 19 MiB; 2 leaves threads
 * for DNS lookups and file reads, so a flood of sign-ups cannot starve readiness or the broker's reconnects.
 */
export const DEFAULT_PASSWORD_HASH_CONCURRENCY = 2;
/** Password hashes waiting for a slot; beyond this a request gets 503 at once instead of queueing without bound. */
export const DEFAULT_PASSWORD_HASH_QUEUE_MAX = 32;

const count = (unit: string) => z.coerce.number({ error: `must be a number of ${unit}` }).int();

/** Settings of the abuse limits: rate limits on sign-up and token requests, and the password-hashing slots. */
export const abuseLimitsConfigShape = {
  /**
   * `true` when a reverse proxy or ingress that overwrites `X-Forwarded-For` stands in front: the client address is
   * then that header's first hop. Otherwise (default) it is the socket's peer, and the header is ignored (anyone can
   * send it).
   */
  TRUST_PROXY: z
    .enum(['true', 'false'], { error: 'must be true or false' })
    .default('false')
    .transform((value) => value === 'true'),
  RATE_LIMIT_WINDOW_SECONDS: count('seconds').min(1).max(86_400).default(DEFAULT_RATE_LIMIT_WINDOW_SECONDS),
  RATE_LIMIT_PER_ADDRESS: count('requests').min(1).default(DEFAULT_RATE_LIMIT_PER_ADDRESS),
  RATE_LIMIT_PER_EMAIL: count('requests').min(1).default(DEFAULT_RATE_LIMIT_PER_EMAIL),
  RATE_LIMIT_MAX_TRACKED_KEYS: count('keys').min(100).max(10_000_000).default(DEFAULT_RATE_LIMIT_MAX_TRACKED_KEYS),
  PASSWORD_HASH_CONCURRENCY: count('hashes').min(1).max(64).default(DEFAULT_PASSWORD_HASH_CONCURRENCY),
  PASSWORD_HASH_QUEUE_MAX: count('requests').min(0).max(10_000).default(DEFAULT_PASSWORD_HASH_QUEUE_MAX),
};

export type AbuseLimitsConfig = {
  [K in keyof typeof abuseLimitsConfigShape]: z.output<(typeof abuseLimitsConfigShape)[K]>;
};

/** Injection token of the resolved `AbuseLimitsConfig`. */
export const ABUSE_LIMITS_CONFIG = Symbol('ABUSE_LIMITS_CONFIG');
