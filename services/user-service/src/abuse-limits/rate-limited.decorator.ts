import { applyDecorators, SetMetadata, UseGuards } from '@nestjs/common';
import { ApiErrorResponses } from '@switchyard/service-kit';
import { RATE_LIMIT_BUCKET, RateLimitGuard } from './rate-limit.guard.js';

/**
 * Limits a route per client address and per body `email` (`RATE_LIMIT_*`, per pod): 429 with `Retry-After` beyond.
 * `bucket` names the route's own counters, e.g. `@RateLimited('sign-up')`, `@RateLimited('token')`.
 */
export const RateLimited = (bucket: string) =>
  applyDecorators(
    SetMetadata(RATE_LIMIT_BUCKET, bucket),
    UseGuards(RateLimitGuard),
    ApiErrorResponses({
      429: 'Too many requests from this address or for this email; `Retry-After` says when to try again',
    }),
  );
