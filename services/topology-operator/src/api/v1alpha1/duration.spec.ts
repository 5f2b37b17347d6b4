import { describe, expect, it } from '@jest/globals';
import { durationSchema, MAX_DURATION_MS, parseDuration } from './duration.js';
import { InvalidSubscriptionSpecError } from './invalid-spec-error.js';

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
      expect(() => parseDuration(text)).toThrow(InvalidSubscriptionSpecError);
      expect(() => parseDuration(text)).toThrow(/like 500ms, 1s, 2m or 1h/);
    },
  );

  it('refuses durations over the maximum, naming it', () => {
    expect(parseDuration('596h')).toBeLessThanOrEqual(MAX_DURATION_MS);
    expect(() => parseDuration('597h')).toThrow(/longer than the maximum of 2147483647 ms/);
  });

  it('names the field it reads', () => {
    expect(() => parseDuration('soon', 'spec.deadLetter.messageTtl')).toThrow(
      /^spec\.deadLetter\.messageTtl: 'soon' is not a duration/,
    );
  });
});

describe('durationSchema', () => {
  it('accepts what parseDuration reads and refuses the rest with one message each', () => {
    expect(durationSchema.safeParse('596h').success).toBe(true);
    expect(durationSchema.safeParse('1 s').error?.issues.map((issue) => issue.message)).toEqual([
      'must be a duration like 500ms, 1s, 2m or 1h',
    ]);
    // Too long for the pattern too: the pattern's message comes first.
    expect(durationSchema.safeParse('1234567890ms').error?.issues[0]?.message).toBe(
      'must be a duration like 500ms, 1s, 2m or 1h',
    );
    expect(durationSchema.safeParse('597h').error?.issues.map((issue) => issue.message)).toEqual([
      "'597h' is longer than the maximum of 2147483647 ms (about 24 days)",
    ]);
  });
});
