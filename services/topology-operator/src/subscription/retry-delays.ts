import { formatDelay } from '@switchyard/messaging';
import type { RetrySpec } from './event-subscription.js';
import { durationField, InvalidSubscriptionSpecError } from './invalid-spec-error.js';

/**
 * Expands a retry policy into one delay per retry (`maxAttempts - 1` of them), the form the consumer policy and
 * the topology plan take.
 *
 * - `delays`: must list exactly `maxAttempts - 1` durations. Exactly, not "at least": a list that silently ignores
 *   its tail reads as a policy it is not.
 * - `exponential`: delay i = min(initial × multiplier^i, max), rounded to whole milliseconds.
 *
 * Every delay must be distinct: the shared topology plan gives each delay its own tier queue
 * (`<queue>.retry.<delay>`) and refuses duplicates, so an exponential policy may not reach `max` before its last
 * retry. The error says how to fix it.
 */
export function retryDelaysOf(retry: RetrySpec): number[] {
  const retries = retry.maxAttempts - 1;
  const { delays, exponential } = retry.backoff;
  if ((delays === undefined) === (exponential === undefined)) {
    throw new InvalidSubscriptionSpecError('spec.retry.backoff', 'set exactly one of delays or exponential');
  }
  if (delays !== undefined) {
    if (delays.length !== retries) {
      throw new InvalidSubscriptionSpecError(
        'spec.retry.backoff.delays',
        `must list maxAttempts - 1 = ${retries} delays (one per retry), got ${delays.length}`,
      );
    }
    const delaysMs = delays.map((text, i) => durationField(`spec.retry.backoff.delays.${i}`, text));
    const repeated = delaysMs.findIndex((ms, i) => delaysMs.indexOf(ms) !== i);
    if (repeated !== -1) {
      throw new InvalidSubscriptionSpecError(`spec.retry.backoff.delays.${repeated}`, `repeats the delay ${formatDelay(delaysMs[repeated]!)}: each retry needs a distinct delay (one tier queue per delay)`);
    }
    return delaysMs;
  }
  const { initial, multiplier, max } = exponential!;
  const initialMs = durationField('spec.retry.backoff.exponential.initial', initial);
  const maxMs = durationField('spec.retry.backoff.exponential.max', max);
  if (initialMs > maxMs) throw new InvalidSubscriptionSpecError('spec.retry.backoff.exponential', `initial (${initial}) must not exceed max (${max})`);
  const delaysMs: number[] = [];
  for (let i = 0; i < retries; i++) {
    const ms = Math.min(Math.round(initialMs * multiplier ** i), maxMs);
    if (delaysMs.includes(ms)) {
      throw new InvalidSubscriptionSpecError(
        'spec.retry.backoff.exponential',
        `reaches ${formatDelay(ms)} again at retry ${i + 1} of ${retries}; each retry needs a distinct delay (one tier queue per delay): ` +
          `raise max, raise the multiplier, or lower maxAttempts to ${i + 1}`,
      );
    }
    delaysMs.push(ms);
  }
  return delaysMs;
}
