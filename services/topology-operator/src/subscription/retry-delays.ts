import { InvalidSubscriptionSpecError, parseDuration, type RetrySpec } from '../api/v1alpha1/index.js';

/**
 * Expands a retry policy into one delay per retry (`maxAttempts - 1` of them), the form the consumer policy and
 * the topology plan take.
 *
 * - `delays`: must list exactly `maxAttempts - 1` durations. Exactly, not "at least": a list that silently ignores
 *   its tail reads as a policy it is not.
 * - `exponential`: delay i = min(initial × multiplier^i, max), rounded to whole milliseconds.
 *
 * Delays may repeat (`[1s, 30s, 30s]`, or an exponential policy that reaches `max` early and keeps retrying there):
 * the shared topology plan gives each distinct delay one tier queue (`<queue>.retry.<delay>`) and retries that wait
 * equally long share it.
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
    return delays.map((text, i) => parseDuration(text, `spec.retry.backoff.delays.${i}`));
  }
  const { initial, multiplier, max } = exponential!;
  const initialMs = parseDuration(initial, 'spec.retry.backoff.exponential.initial');
  const maxMs = parseDuration(max, 'spec.retry.backoff.exponential.max');
  if (initialMs > maxMs)
    throw new InvalidSubscriptionSpecError(
      'spec.retry.backoff.exponential',
      `initial (${initial}) must not exceed max (${max})`,
    );
  const delaysMs: number[] = [];
  for (let i = 0; i < retries; i++) {
    delaysMs.push(Math.min(Math.round(initialMs * multiplier ** i), maxMs));
  }
  return delaysMs;
}
