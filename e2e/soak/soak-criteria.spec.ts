import { describe, expect, it } from '@jest/globals';
import { evaluateSoak, rssGrowth, type SoakCriteria, type SoakLedger, type SoakSample } from './soak-criteria.js';
import { parseDuration, parseSoakOptions } from './soak-options.js';

const SERVICES = ['users', 'orders'] as const;
const CRITERIA: SoakCriteria = { warmupSeconds: 60, maxRssGrowth: 0.1, minRssSpanSeconds: 300, lagBound: 100 };
const CLEAN: SoakLedger = {
  lost: 0,
  lostAcknowledged: 0,
  duplicated: 0,
  crashes: [],
  drainedAfterMs: 800,
  drained: true,
};

/** 10 minutes, a sample every 5 s; `rss(t)` and `lag(t)` give each service's RSS and the lag at t seconds. */
function run(rss: (t: number, service: string) => number, lag: (t: number) => number = () => 3): SoakSample[] {
  return Array.from({ length: 121 }, (_, index) => {
    const t = index * 5;
    const perService = <T>(value: (service: string) => T): Record<string, T> =>
      Object.fromEntries(SERVICES.map((service) => [service, value(service)]));
    return {
      t,
      rssMb: perService((service) => rss(t, service)),
      heapUsedMb: perService(() => 50),
      handles: perService(() => 30),
      resources: perService(() => 50),
      dbConnections: perService(() => 12),
      dbConnectionsByApp: perService(() => ({ 'outbox-relay': 2, '(unnamed)': 10 })),
      outboxPending: perService(() => 0),
      queueDepth: perService(() => 0),
      lag: lag(t),
    };
  });
}

/** Fast growth during warm-up, then flat with a GC sawtooth of ±8 MiB. */
const healthy = (t: number): number => (t < 60 ? 150 + t * 2 : 270) + (t % 20 === 0 ? 8 : -8);

describe('soak verdict', () => {
  it('passes a run that grows only during warm-up, with bounded lag and nothing lost or doubled', () => {
    const verdict = evaluateSoak(run(healthy), CLEAN, CRITERIA, SERVICES);
    expect(verdict.failures).toEqual([]);
    expect(verdict.passed).toBe(true);
    expect(Math.abs(verdict.rss.users!.growth)).toBeLessThan(0.07);
  });

  it('fails RSS growing 10% or more after warm-up, naming the service and the growth', () => {
    // orders leaks: +12% linearly between the end of warm-up and the end of the run.
    const leaking = (t: number, service: string): number =>
      service === 'orders' && t >= 60 ? 270 * (1 + (0.12 * (t - 60)) / 540) : healthy(t);
    const verdict = evaluateSoak(run(leaking), CLEAN, CRITERIA, SERVICES);
    expect(verdict.passed).toBe(false);
    expect(verdict.failures).toEqual([expect.stringMatching(/^RSS of orders grew 1\d\.\d% after warm-up/)]);
  });

  it('does not count warm-up growth: the baseline is taken after the warm-up', () => {
    // RSS doubles during the first minute only.
    const verdict = evaluateSoak(
      run((t) => (t < 60 ? 100 + t * 3 : 280)),
      CLEAN,
      CRITERIA,
      SERVICES,
    );
    expect(verdict.passed).toBe(true);
    expect(verdict.rss.orders).toMatchObject({ baselineMb: 280, finalMb: 280, growth: 0, spanSeconds: 540 });
  });

  it('reads a sawtooth, even the allocator handing memory back at once, by its trend, not by single samples', () => {
    // RSS climbs 120 MiB and drops back at once every minute after warm-up (as the services' RSS does); the last
    // sample, at a peak, is 25% above the first one: a rise of the floor it is not.
    const samples = run((t) => (t < 60 ? 150 + t * 2 : 210 + ((t - 60) % 60) * 2));
    samples.at(-1)!.rssMb.users = 302;
    const growth = rssGrowth(samples, 'users', 60)!;
    expect(samples.at(-2)!.rssMb.orders! / samples.find((sample) => sample.t === 60)!.rssMb.orders!).toBeGreaterThan(
      1.5,
    );
    // A least-squares line through a sawtooth leans a little (here 9 cycles: ~6%); fewer cycles, more lean.
    expect(Math.abs(growth.growth)).toBeLessThan(0.07);
    expect(evaluateSoak(samples, CLEAN, CRITERIA, SERVICES).passed).toBe(true);
  });

  it('reports, without judging, the RSS growth of a run with under 5 minutes after warm-up', () => {
    // 3 minutes, leaking 30% after warm-up: too short to tell a leak from the sawtooth, so not a failure.
    const short = run((t) => (t < 60 ? 200 : 200 * (1 + (0.3 * (t - 60)) / 120))).slice(0, 37);
    const verdict = evaluateSoak(short, CLEAN, CRITERIA, SERVICES);
    expect(verdict.rss.users).toMatchObject({ spanSeconds: 120, judged: false });
    expect(verdict.rss.users!.growth).toBeCloseTo(0.3, 5);
    expect(verdict.passed).toBe(true);
  });

  it('fails a lag above the bound in the last third, but not one above it earlier', () => {
    const lateSpike = evaluateSoak(
      run(healthy, (t) => (t === 500 ? 101 : 3)),
      CLEAN,
      CRITERIA,
      SERVICES,
    );
    expect(lateSpike.failures).toEqual(['lag not bounded: 101 events in the last third of the run (bound 100)']);
    const earlySpike = evaluateSoak(
      run(healthy, (t) => (t === 300 ? 5_000 : 3)),
      CLEAN,
      CRITERIA,
      SERVICES,
    );
    expect(earlySpike.passed).toBe(true);
    expect(earlySpike.maxLag).toBe(5_000);
    expect(earlySpike.maxLagLastThird).toBe(3);
  });

  it('fails a backlog that did not drain after the traffic', () => {
    const verdict = evaluateSoak(
      run(healthy),
      { ...CLEAN, drained: false, drainedAfterMs: 180_000 },
      CRITERIA,
      SERVICES,
    );
    expect(verdict.failures).toEqual(['lag did not drain: backlog left 180000 ms after the traffic']);
  });

  it('fails one lost, one unacknowledged-but-committed, one doubled event, and a crash', () => {
    expect(evaluateSoak(run(healthy), { ...CLEAN, lost: 1 }, CRITERIA, SERVICES).failures).toEqual([
      '1 events lost, 0 acknowledged writes not committed',
    ]);
    expect(evaluateSoak(run(healthy), { ...CLEAN, lostAcknowledged: 1 }, CRITERIA, SERVICES).passed).toBe(false);
    expect(evaluateSoak(run(healthy), { ...CLEAN, duplicated: 1 }, CRITERIA, SERVICES).failures).toEqual([
      '1 events doubled',
    ]);
    expect(
      evaluateSoak(run(healthy), { ...CLEAN, crashes: ['users#0 exited (1)'] }, CRITERIA, SERVICES).failures,
    ).toEqual(['1 crashes: users#0 exited (1)']);
  });

  it('fails, rather than passes, a run with too few samples after warm-up to judge RSS', () => {
    const verdict = evaluateSoak(run(healthy).slice(0, 15), CLEAN, CRITERIA, SERVICES);
    expect(verdict.failures).toContain('RSS of users: fewer than 6 samples after the 60 s warm-up');
  });
});

describe('soak options', () => {
  it('defaults to 30 minutes at 50% of the preflight peak', () => {
    const options = parseSoakOptions([], {});
    expect(options).toMatchObject({ durationMs: 1_800_000, rate: undefined, label: 'soak-30m', warmupMs: 600_000 });
  });

  it('takes flags, as `--flag value` or `--flag=value`, over the environment', () => {
    const options = parseSoakOptions(['--duration', '2m', '--rate=40', '--label', 'ci'], { SOAK_RATE: '10' });
    expect(options).toMatchObject({ durationMs: 120_000, rate: 40, label: 'ci', warmupMs: 40_000 });
    expect(parseDuration('90s')).toBe(90_000);
    expect(parseDuration('1h')).toBe(3_600_000);
  });

  it('refuses bad input with a message', () => {
    expect(() => parseSoakOptions(['--duration', 'ten'], {})).toThrow(/duration "ten" is not a number/);
    expect(() => parseSoakOptions(['--rate', '-3'], {})).toThrow(/rate "-3" is not a positive number/);
    expect(() => parseSoakOptions(['--speed', '3'], {})).toThrow(/unknown argument "--speed"/);
    expect(() => parseSoakOptions(['--duration', '30s'], {})).toThrow(/at least 1m/);
    expect(() => parseSoakOptions(['--label', '../x'], {})).toThrow(/label/);
    expect(() => parseSoakOptions(['--rate'], {})).toThrow(/--rate needs a value/);
  });
});
