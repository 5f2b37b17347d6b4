import { isDeepStrictEqual } from 'node:util';
import type { EventSubscriptionStatus } from '../api/v1alpha1/index.js';

/**
 * How often `status.lastObservedTime` alone is rewritten: every 5 minutes. Each status refresh (every
 * STATUS_REFRESH_SECONDS) observes the queues, but a status in which nothing else changed is not written: each write
 * is an etcd write and a watch event to every watcher, per subscription per refresh. A change of depth, DLQ depth,
 * consumers, a condition or anything else is written at once (with the new lastObservedTime); otherwise
 * lastObservedTime lags the last observation by at most this long, which still tells a reader that the operator is
 * looking.
 */
export const LAST_OBSERVED_TIME_REFRESH_MS = 5 * 60_000;

/** Whether merge-patching `next` over `current` is worth a write (see LAST_OBSERVED_TIME_REFRESH_MS). */
export function statusNeedsWrite(
  current: EventSubscriptionStatus | undefined,
  next: EventSubscriptionStatus,
  now: Date,
): boolean {
  if (current === undefined) return true;
  // A merge patch keeps top-level fields it does not mention; JSON drops undefined values, as the wire does.
  const comparable = ({ lastObservedTime: _lastObservedTime, ...rest }: EventSubscriptionStatus): unknown =>
    JSON.parse(JSON.stringify(rest)) as unknown;
  if (!isDeepStrictEqual(comparable({ ...current, ...next }), comparable(current))) return true;
  if (next.lastObservedTime === undefined || next.lastObservedTime === current.lastObservedTime) return false;
  const lastWritten = current.lastObservedTime === undefined ? Number.NaN : Date.parse(current.lastObservedTime);
  return !Number.isFinite(lastWritten) || now.getTime() - lastWritten >= LAST_OBSERVED_TIME_REFRESH_MS;
}
