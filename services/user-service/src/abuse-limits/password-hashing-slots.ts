import { Inject, Injectable } from '@nestjs/common';
import { RetryLaterException } from '@switchyard/service-kit';
import { ABUSE_LIMITS_CONFIG, type AbuseLimitsConfig } from './abuse-limits.config.js';

/** What a client is told to wait when every hashing slot and queue place is taken: one hash takes ~20 ms. */
const QUEUE_FULL_RETRY_AFTER_SECONDS = 1;

/**
 * A semaphore with a bounded queue around argon2 (hash and verify): at most `PASSWORD_HASH_CONCURRENCY` run at once,
 * at most `PASSWORD_HASH_QUEUE_MAX` wait, and anything beyond is refused with 503 + `Retry-After` right away. One per
 * process (the module is global), whichever service asks.
 */
@Injectable()
export class PasswordHashingSlots {
  private running = 0;
  private readonly waiting: Array<() => void> = [];
  /** Hashes and verifications started since the process began. */
  private startedCount = 0;

  constructor(@Inject(ABUSE_LIMITS_CONFIG) private readonly config: AbuseLimitsConfig) {}

  async run<T>(work: () => Promise<T>): Promise<T> {
    if (this.running < this.config.PASSWORD_HASH_CONCURRENCY) {
      this.running += 1;
    } else {
      if (this.waiting.length >= this.config.PASSWORD_HASH_QUEUE_MAX) {
        throw new RetryLaterException(
          503,
          'too many password checks in progress, retry shortly',
          QUEUE_FULL_RETRY_AFTER_SECONDS,
        );
      }
      // The releasing caller hands its slot over: `running` stays as it is.
      await new Promise<void>((resolve) => this.waiting.push(resolve));
    }
    this.startedCount += 1;
    try {
      return await work();
    } finally {
      const next = this.waiting.shift();
      if (next) next();
      else this.running -= 1;
    }
  }

  /** Slots in use, requests queued, and work started so far (for tests and gauges). */
  stats(): { running: number; waiting: number; started: number } {
    return { running: this.running, waiting: this.waiting.length, started: this.startedCount };
  }
}
