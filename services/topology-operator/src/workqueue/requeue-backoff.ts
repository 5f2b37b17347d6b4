/** First retry delay of a key that failed: 500 ms, so a blip (a 409, a broker reconnect) costs little. */
export const DEFAULT_REQUEUE_BASE_DELAY_MS = 500;
/** Longest retry delay: 5 minutes, so a broken subscription is still retried a dozen times an hour without hammering the broker. */
export const DEFAULT_REQUEUE_MAX_DELAY_MS = 5 * 60_000;

export interface RequeueBackoffOptions {
  baseDelayMs?: number;
  maxDelayMs?: number;
}

/**
 * Per-key exponential backoff (client-go's ItemExponentialFailureRateLimiter): each failure of a key doubles its
 * next delay, capped; a success (`forget`) starts it over. One key failing never slows another down.
 */
export class RequeueBackoff {
  private readonly failures = new Map<string, number>();
  private readonly baseDelayMs: number;
  private readonly maxDelayMs: number;

  constructor(options: RequeueBackoffOptions = {}) {
    this.baseDelayMs = options.baseDelayMs ?? DEFAULT_REQUEUE_BASE_DELAY_MS;
    this.maxDelayMs = options.maxDelayMs ?? DEFAULT_REQUEUE_MAX_DELAY_MS;
  }

  /** Counts a failure of `key` and returns how long to wait before its next attempt. */
  next(key: string): number {
    const failures = this.failures.get(key) ?? 0;
    this.failures.set(key, failures + 1);
    // 2^30 already exceeds any sane cap; bounding the exponent keeps the arithmetic finite.
    return Math.min(this.maxDelayMs, this.baseDelayMs * 2 ** Math.min(failures, 30));
  }

  /** Failures of `key` since its last success. */
  failuresOf(key: string): number {
    return this.failures.get(key) ?? 0;
  }

  forget(key: string): void {
    this.failures.delete(key);
  }
}
