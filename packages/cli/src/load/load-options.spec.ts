import { describe, expect, it } from '@jest/globals';
import { DEFAULT_MIX, LoadUsageError, parseLoadOptions, parseMix } from './load-options.js';

describe('switchyard load options', () => {
  it('defaults to 50/s for 30 s against the local NodePorts, with the default mix', () => {
    const options = parseLoadOptions([]);
    expect(options).toMatchObject({
      usersUrl: 'http://localhost:3001',
      ordersUrl: 'http://localhost:3002',
      ratePerSecond: 50,
      durationMs: 30_000,
      count: undefined,
      mix: DEFAULT_MIX,
      progressEveryMs: 1_000,
    });
  });

  it('takes a count instead of a duration, URLs from flags or the environment, and a mix', () => {
    const options = parseLoadOptions(['--count', '500', '--rate', '12.5', '--mix', 'order=3,cancel=1', '--quiet'], {
      SWITCHYARD_USERS_URL: 'http://users:8080/',
    });
    expect(options).toMatchObject({
      usersUrl: 'http://users:8080',
      count: 500,
      durationMs: undefined,
      ratePerSecond: 12.5,
      mix: { signup: 0, login: 0, order: 3, cancel: 1, delete: 0 },
      progressEveryMs: 0,
    });
    expect(parseLoadOptions(['--duration', '2m']).durationMs).toBe(120_000);
  });

  it.each([
    [['--rate', '0'], '--rate'],
    [['--rate', 'fast'], '--rate'],
    [['--duration', '10'], '--duration'],
    [['--count', '1.5'], '--count'],
    [['--count', '5', '--duration', '1m'], 'not both'],
    [['--users-url', 'ftp://x'], '--users-url'],
    [['--mix', 'order'], '--mix'],
    [['--mix', 'refund=1'], '--mix'],
    [['--mix', 'order=0'], 'at least one'],
    [['--bogus'], 'bogus'],
  ])('refuses %j naming the problem', (argv, named) => {
    expect(() => parseLoadOptions(argv)).toThrow(LoadUsageError);
    expect(() => parseLoadOptions(argv)).toThrow(named);
  });

  it('reads weights as numbers', () => {
    expect(parseMix('signup=0.5,login=1,delete=2')).toEqual({ signup: 0.5, login: 1, order: 0, cancel: 0, delete: 2 });
  });
});
