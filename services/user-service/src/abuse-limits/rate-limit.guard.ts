import { type CanActivate, type ExecutionContext, Inject, Injectable } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import { RetryLaterException } from '@switchyard/service-kit';
import type { Request } from 'express';
import { ABUSE_LIMITS_CONFIG, type AbuseLimitsConfig } from './abuse-limits.config.js';
import { clientAddressOf } from './client-address.js';
import { RateLimitCounters } from './rate-limit-counters.js';

/** Metadata key holding the limited route's bucket name (`sign-up`, `token`): each route counts on its own. */
export const RATE_LIMIT_BUCKET = 'switchyard:rate-limit-bucket';

/** Emails longer than this are not valid (RFC 5321) and are not worth a counter of their own. */
const MAX_EMAIL_LENGTH = 254;

/**
 * Counts a request against its client address and, when the body names one, its email; past either limit the
 * answer is 429 with `Retry-After`. Runs before validation (guards precede pipes), so it reads the raw JSON body.
 */
@Injectable()
export class RateLimitGuard implements CanActivate {
  constructor(
    private readonly reflector: Reflector,
    private readonly counters: RateLimitCounters,
    @Inject(ABUSE_LIMITS_CONFIG) private readonly config: AbuseLimitsConfig,
  ) {}

  canActivate(context: ExecutionContext): boolean {
    const bucket = this.reflector.get<string | undefined>(RATE_LIMIT_BUCKET, context.getHandler()) ?? 'default';
    const request = context.switchToHttp().getRequest<Request>();
    const address = clientAddressOf(request, this.config.TRUST_PROXY);
    const email = emailOf(request.body);
    const verdicts = [
      this.counters.hit(`${bucket} address ${address}`, this.config.RATE_LIMIT_PER_ADDRESS),
      ...(email ? [this.counters.hit(`${bucket} email ${email}`, this.config.RATE_LIMIT_PER_EMAIL)] : []),
    ];
    const refused = verdicts.filter((verdict) => !verdict.allowed);
    if (refused.length === 0) return true;
    const retryAfterMs = Math.max(...refused.map((verdict) => verdict.retryAfterMs));
    throw new RetryLaterException(
      429,
      'too many requests from this address or for this email, retry later',
      Math.max(1, Math.ceil(retryAfterMs / 1000)),
    );
  }
}

/** The email as the schemas store it (trimmed, lower-cased), when the body has one worth counting. */
function emailOf(body: unknown): string | undefined {
  if (typeof body !== 'object' || body === null || !('email' in body) || typeof body.email !== 'string')
    return undefined;
  const email = body.email.trim().toLowerCase();
  return email.length > 0 && email.length <= MAX_EMAIL_LENGTH ? email : undefined;
}
