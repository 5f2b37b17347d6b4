import { type DynamicModule, Global, Module } from '@nestjs/common';
import { ABUSE_LIMITS_CONFIG, type AbuseLimitsConfig } from './abuse-limits.config.js';
import { PasswordHashingSlots } from './password-hashing-slots.js';
import { RateLimitCounters } from './rate-limit-counters.js';
import { RateLimitGuard } from './rate-limit.guard.js';

/**
 * Rate limits (`@RateLimited`) and the password-hashing slots. Global, so every route and every password hasher in
 * the process shares one set of counters and one semaphore.
 */
@Global()
@Module({})
export class AbuseLimitsModule {
  static forRoot(config: AbuseLimitsConfig): DynamicModule {
    return {
      module: AbuseLimitsModule,
      providers: [
        { provide: ABUSE_LIMITS_CONFIG, useValue: config },
        {
          provide: RateLimitCounters,
          useValue: new RateLimitCounters(config.RATE_LIMIT_WINDOW_SECONDS * 1000, config.RATE_LIMIT_MAX_TRACKED_KEYS),
        },
        PasswordHashingSlots,
        RateLimitGuard,
      ],
      exports: [ABUSE_LIMITS_CONFIG, RateLimitCounters, PasswordHashingSlots, RateLimitGuard],
    };
  }
}
