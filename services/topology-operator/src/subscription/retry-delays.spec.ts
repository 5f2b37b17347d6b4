import { describe, expect, it } from '@jest/globals';
import { InvalidSubscriptionSpecError } from '../api/v1alpha1/index.js';
import { retryDelaysOf } from './retry-delays.js';

function fieldOf(run: () => unknown): string {
  try {
    run();
  } catch (error) {
    if (error instanceof InvalidSubscriptionSpecError) return `${error.field}: ${error.problem}`;
    throw error;
  }
  throw new Error('expected an InvalidSubscriptionSpecError');
}

describe('retryDelaysOf', () => {
  it('turns listed delays into milliseconds, in order', () => {
    expect(retryDelaysOf({ maxAttempts: 4, backoff: { delays: ['500ms', '2m', '1s'] } })).toEqual([
      500, 120_000, 1_000,
    ]);
  });

  it('gives no retries for a single attempt', () => {
    expect(retryDelaysOf({ maxAttempts: 1, backoff: { delays: [] } })).toEqual([]);
    expect(
      retryDelaysOf({ maxAttempts: 1, backoff: { exponential: { initial: '1s', multiplier: 2, max: '1m' } } }),
    ).toEqual([]);
  });

  it('requires exactly maxAttempts - 1 listed delays', () => {
    expect(fieldOf(() => retryDelaysOf({ maxAttempts: 3, backoff: { delays: ['1s'] } }))).toBe(
      'spec.retry.backoff.delays: must list maxAttempts - 1 = 2 delays (one per retry), got 1',
    );
    expect(fieldOf(() => retryDelaysOf({ maxAttempts: 2, backoff: { delays: ['1s', '2s'] } }))).toMatch(
      /^spec\.retry\.backoff\.delays: must list maxAttempts - 1 = 1/,
    );
  });

  it('names the malformed delay, and lets delays repeat (they share a tier)', () => {
    expect(fieldOf(() => retryDelaysOf({ maxAttempts: 3, backoff: { delays: ['1s', 'soon'] } }))).toMatch(
      /^spec\.retry\.backoff\.delays\.1: 'soon' is not a duration/,
    );
    expect(retryDelaysOf({ maxAttempts: 4, backoff: { delays: ['1s', '1000ms', '30s'] } })).toEqual([
      1_000, 1_000, 30_000,
    ]);
  });

  it('expands exponential backoff: initial × multiplier^i, capped at max', () => {
    expect(
      retryDelaysOf({ maxAttempts: 6, backoff: { exponential: { initial: '1s', multiplier: 3, max: '10m' } } }),
    ).toEqual([1_000, 3_000, 9_000, 27_000, 81_000]);
    expect(
      retryDelaysOf({ maxAttempts: 5, backoff: { exponential: { initial: '100ms', multiplier: 1.5, max: '300ms' } } }),
    ).toEqual([100, 150, 225, 300]);
  });

  it('keeps retrying at max once exponential backoff reaches it', () => {
    expect(
      retryDelaysOf({ maxAttempts: 6, backoff: { exponential: { initial: '1s', multiplier: 2, max: '4s' } } }),
    ).toEqual([1_000, 2_000, 4_000, 4_000, 4_000]);
  });

  it('refuses an initial delay above max, and both or neither backoff form', () => {
    expect(
      fieldOf(() =>
        retryDelaysOf({ maxAttempts: 2, backoff: { exponential: { initial: '1m', multiplier: 2, max: '1s' } } }),
      ),
    ).toMatch(/initial \(1m\) must not exceed max \(1s\)/);
    expect(fieldOf(() => retryDelaysOf({ maxAttempts: 2, backoff: {} }))).toBe(
      'spec.retry.backoff: set exactly one of delays or exponential',
    );
    expect(
      fieldOf(() =>
        retryDelaysOf({
          maxAttempts: 2,
          backoff: { delays: ['1s'], exponential: { initial: '1s', multiplier: 2, max: '1m' } },
        }),
      ),
    ).toBe('spec.retry.backoff: set exactly one of delays or exponential');
  });
});
