import { createHash, timingSafeEqual } from 'node:crypto';
import type { HealthCheckResult, HealthIndicatorResult } from '@nestjs/terminus';

/** Options of `HealthModule.forRoot`. */
export interface HealthModuleOptions {
  /**
   * Bearer token that unlocks the full health details (error messages, consumer settings). Without it, or when unset,
   * callers get each indicator's status only: probes (kubelet sends no credentials) need nothing more, and raw
   * dependency errors (hosts, paths, driver messages) stay away from whoever can reach the port.
   */
  detailToken?: string;
}

export const HEALTH_MODULE_OPTIONS = Symbol('HEALTH_MODULE_OPTIONS');

/** Whether the `Authorization` header carries the detail token; compared in constant time. */
export function mayReadHealthDetails(authorization: string | undefined, detailToken: string | undefined): boolean {
  if (detailToken === undefined || authorization === undefined) return false;
  const [scheme, presented] = authorization.split(' ', 2);
  if (scheme?.toLowerCase() !== 'bearer' || !presented) return false;
  // Hashing first gives equal lengths, as timingSafeEqual requires, without leaking the token's length.
  return timingSafeEqual(sha256(presented), sha256(detailToken));
}

/** The result with every indicator cut down to its status: what an unauthenticated caller may see. */
export function healthStatusesOnly(result: HealthCheckResult): HealthCheckResult {
  return {
    status: result.status,
    ...(result.info ? { info: statusesOf(result.info) } : {}),
    ...(result.error ? { error: statusesOf(result.error) } : {}),
    details: statusesOf(result.details),
  };
}

function statusesOf(indicators: Partial<HealthIndicatorResult>): HealthIndicatorResult {
  return Object.fromEntries(
    Object.entries(indicators).flatMap(([name, indicator]) =>
      indicator ? [[name, { status: indicator.status }]] : [],
    ),
  );
}

function sha256(text: string): Buffer {
  return createHash('sha256').update(text).digest();
}
