import { describe, expect, it } from '@jest/globals';
import { RateLimitCounters } from './rate-limit-counters.js';

/** Counters on a clock the test moves. */
function countersAt(windowMs: number, maxKeys: number) {
  let now = 1_000_000;
  const counters = new RateLimitCounters(windowMs, maxKeys, () => now);
  return { counters, advance: (ms: number) => (now += ms) };
}

describe('RateLimitCounters', () => {
  it('allows up to the limit in one window, refuses beyond it with the time left, and starts again after it', () => {
    const { counters, advance } = countersAt(60_000, 100);
    expect(counters.hit('a', 2)).toEqual({ allowed: true, retryAfterMs: 60_000 });
    advance(10_000);
    expect(counters.hit('a', 2).allowed).toBe(true);
    expect(counters.hit('a', 2)).toEqual({ allowed: false, retryAfterMs: 50_000 });
    expect(counters.hit('b', 2).allowed).toBe(true);
    advance(50_000);
    expect(counters.hit('a', 2)).toEqual({ allowed: true, retryAfterMs: 60_000 });
  });

  it('keeps at most maxKeys windows, dropping expired ones first and then the oldest live one', () => {
    const { counters, advance } = countersAt(1_000, 100);
    for (let i = 0; i < 100; i += 1) counters.hit(`old-${i}`, 1);
    advance(1_000);
    for (let i = 0; i < 50; i += 1) counters.hit(`new-${i}`, 1);
    expect(counters.size).toBe(50);
    for (let i = 0; i < 10_000; i += 1) counters.hit(`flood-${i}`, 1);
    expect(counters.size).toBe(100);
    // The newest windows are the ones kept: the last flooded key is still counted.
    expect(counters.hit('flood-9999', 1).allowed).toBe(false);
  });
});
