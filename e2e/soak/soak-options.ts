// `npm run soak -- [--duration 30m] [--rate <ops/s>] [--label <name>] [--lag-bound <events>]`, or the same as
// SOAK_DURATION, SOAK_RATE, SOAK_LABEL, SOAK_LAG_BOUND. Bad values are refused with a message, never defaulted.

export interface SoakOptions {
  durationMs: number;
  /** Operations per second; undefined: 50% of the peak measured by the preflight. */
  rate: number | undefined;
  /** Results go to e2e/soak/results/<label>.json. */
  label: string;
  /** Largest lag allowed in the last third; undefined: a minute of traffic at the soak's rate. */
  lagBound: number | undefined;
  sampleEveryMs: number;
  faultEveryMs: number;
  warmupMs: number;
}

/** `30m`, `2m`, `90s`, `1h`, or plain seconds. */
export function parseDuration(text: string): number {
  const match = /^(\d+(?:\.\d+)?)(ms|s|m|h)?$/.exec(text.trim());
  if (!match) throw new Error(`soak: duration "${text}" is not a number with an optional unit (ms, s, m, h), e.g. 30m`);
  const unit = { ms: 1, s: 1_000, m: 60_000, h: 3_600_000 }[(match[2] ?? 's') as 'ms' | 's' | 'm' | 'h'];
  return Number(match[1]) * unit;
}

function positive(name: string, text: string): number {
  const value = Number(text);
  if (!Number.isFinite(value) || value <= 0) throw new Error(`soak: ${name} "${text}" is not a positive number`);
  return value;
}

const clamp = (value: number, low: number, high: number): number => Math.min(high, Math.max(low, value));

export function parseSoakOptions(argv: string[], env: NodeJS.ProcessEnv): SoakOptions {
  const given: Record<string, string | undefined> = {
    duration: env.SOAK_DURATION,
    rate: env.SOAK_RATE,
    label: env.SOAK_LABEL,
    'lag-bound': env.SOAK_LAG_BOUND,
  };
  for (let i = 0; i < argv.length; i++) {
    const [flag, inline] = argv[i]!.split('=', 2) as [string, string | undefined];
    const name = flag.replace(/^--/, '');
    if (!flag.startsWith('--') || !(name in given))
      throw new Error(`soak: unknown argument "${argv[i]}" (flags: --duration, --rate, --label, --lag-bound)`);
    const value = inline ?? argv[++i];
    if (value === undefined) throw new Error(`soak: ${flag} needs a value`);
    given[name] = value;
  }
  const durationMs = parseDuration(given.duration ?? '30m');
  if (durationMs < 60_000) throw new Error('soak: the duration must be at least 1m (warm-up and three thirds)');
  const label = given.label ?? `soak-${Math.round(durationMs / 60_000)}m`;
  if (!/^[\w.-]+$/.test(label)) throw new Error(`soak: label "${label}" may hold only letters, digits, _ . -`);
  return {
    durationMs,
    rate: given.rate === undefined ? undefined : positive('rate', given.rate),
    label,
    lagBound: given['lag-bound'] === undefined ? undefined : positive('lag bound', given['lag-bound']),
    // About 180 samples whatever the length, every 2 to 10 s.
    sampleEveryMs: clamp(durationMs / 180, 2_000, 10_000),
    // A fault every minute in a long run; a short one still gets about eight.
    faultEveryMs: clamp(durationMs / 8, 15_000, 60_000),
    // A third of the run: in the first 30-minute run RSS settled only after about 8 minutes (docs/reliability.md).
    warmupMs: Math.max(30_000, durationMs / 3),
  };
}
