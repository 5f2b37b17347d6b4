import { describe, expect, it } from '@jest/globals';
import { InvalidDurationError, MAX_DURATION_MS, parseDuration } from './duration.js';

describe('parseDuration', () => {
  it.each([
    ['500ms', 500],
    ['1s', 1_000],
    ['2m', 120_000],
    ['1h', 3_600_000],
    ['596h', 596 * 3_600_000],
  ])('reads %s as %d ms', (text, ms) => {
    expect(parseDuration(text)).toBe(ms);
  });

  it.each(['', '0s', '1', '1.5s', '1h30m', '5 seconds', '-1s', '1d', 's', '01s'])(
    'refuses %j with an example of the format',
    (text) => {
      expect(() => parseDuration(text)).toThrow(InvalidDurationError);
      expect(() => parseDuration(text)).toThrow(/like 500ms, 1s, 2m or 1h/);
    },
  );

  it('refuses durations over the maximum, naming it', () => {
    expect(parseDuration('596h')).toBeLessThanOrEqual(MAX_DURATION_MS);
    expect(() => parseDuration('597h')).toThrow(/longer than the maximum of 2147483647 ms/);
  });
});
