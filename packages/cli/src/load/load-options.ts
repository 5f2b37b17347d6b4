import { parseArgs } from 'node:util';

/** What one load run does. Rates are operations per second of intended send time (open loop). */
export interface LoadOptions {
  usersUrl: string;
  ordersUrl: string;
  ratePerSecond: number;
  /** The run stops after this long or after `count` operations, whichever is set (exactly one is). */
  durationMs: number | undefined;
  count: number | undefined;
  mix: OperationMix;
  /** Customers created (and known to order-service) before the clock starts, so orders have someone to be for. */
  seedUsers: number;
  /** Requests allowed in flight at once; later ones wait (and their wait counts as latency). */
  maxInFlight: number;
  /** Where the JSON result goes: a file path, `-` for stdout, or nowhere. */
  jsonOut: string | undefined;
  /** A live progress line every this many ms (0: none). */
  progressEveryMs: number;
}

export const OPERATIONS = ['signup', 'login', 'order', 'cancel', 'delete'] as const;
export type Operation = (typeof OPERATIONS)[number];
/** Relative weights of the operations. */
export type OperationMix = Record<Operation, number>;

/**
 * Mostly orders, as a shop sees: a sign-up per four orders, a login per sign-up (a new user acts only once logged in;
 * later logins renew tokens or are users logging in again), the odd cancellation and account deletion.
 */
export const DEFAULT_MIX: OperationMix = { signup: 2, login: 2, order: 8, cancel: 1, delete: 0.2 };

export const LOAD_USAGE = `usage: switchyard load [options]

Sends open-loop HTTP traffic to a running platform and reports rate, errors and latency.
Latency runs from each request's intended send time, so a slow platform cannot hide its backlog.

options:
  --users-url <url>       user-service (default http://localhost:3001, env SWITCHYARD_USERS_URL)
  --orders-url <url>      order-service (default http://localhost:3002, env SWITCHYARD_ORDERS_URL)
  --rate <n>              operations per second (default 50)
  --duration <d>          how long to send: 30s, 5m, 1h (default 30s)
  --count <n>             send this many operations instead of running for a duration
  --mix <w>               weights, e.g. signup=2,login=2,order=8,cancel=1,delete=0.2 (the default);
                          every operation but a sign-up acts as a logged-in user, with its own token
  --seed-users <n>        customers created before the clock starts (default 20)
  --max-in-flight <n>     requests in flight at once (default 256)
  --json <file|->         write the result as JSON to a file, or to stdout with -
  --quiet                 no live progress line
exit codes: 0 ran (errors are reported, not fatal), 1 the platform is unreachable, 2 usage`;

export class LoadUsageError extends Error {}

/** Parses `switchyard load` arguments; throws {@link LoadUsageError} naming the bad option. */
export function parseLoadOptions(argv: readonly string[], env: Record<string, string | undefined> = {}): LoadOptions {
  let values;
  try {
    ({ values } = parseArgs({
      args: [...argv],
      options: {
        'users-url': { type: 'string' },
        'orders-url': { type: 'string' },
        rate: { type: 'string' },
        duration: { type: 'string' },
        count: { type: 'string' },
        mix: { type: 'string' },
        'seed-users': { type: 'string' },
        'max-in-flight': { type: 'string' },
        json: { type: 'string' },
        quiet: { type: 'boolean' },
      },
      strict: true,
      allowPositionals: false,
    }));
  } catch (error) {
    throw new LoadUsageError(error instanceof Error ? error.message : String(error));
  }
  if (values.duration !== undefined && values.count !== undefined) {
    throw new LoadUsageError('--duration and --count: give one of them, not both');
  }
  const count = values.count === undefined ? undefined : positiveInt('--count', values.count);
  return {
    usersUrl: url('--users-url', values['users-url'] ?? env.SWITCHYARD_USERS_URL ?? 'http://localhost:3001'),
    ordersUrl: url('--orders-url', values['orders-url'] ?? env.SWITCHYARD_ORDERS_URL ?? 'http://localhost:3002'),
    ratePerSecond: positiveNumber('--rate', values.rate ?? '50'),
    durationMs: count === undefined ? duration('--duration', values.duration ?? '30s') : undefined,
    count,
    mix: values.mix === undefined ? DEFAULT_MIX : parseMix(values.mix),
    seedUsers: nonNegativeInt('--seed-users', values['seed-users'] ?? '20'),
    maxInFlight: positiveInt('--max-in-flight', values['max-in-flight'] ?? '256'),
    jsonOut: values.json,
    progressEveryMs: values.quiet ? 0 : 1_000,
  };
}

/** `signup=2,order=8`: operations left out weigh 0; at least one must weigh more than 0. */
export function parseMix(text: string): OperationMix {
  const mix: OperationMix = { signup: 0, login: 0, order: 0, cancel: 0, delete: 0 };
  for (const part of text.split(',')) {
    const [name, weight, extra] = part.split('=');
    if (!OPERATIONS.includes(name as Operation) || weight === undefined || extra !== undefined) {
      throw new LoadUsageError(
        `--mix: '${part}' is not <operation>=<weight> with operation one of ${OPERATIONS.join(', ')}`,
      );
    }
    const value = Number(weight);
    if (!Number.isFinite(value) || value < 0)
      throw new LoadUsageError(`--mix: the weight of ${name} must be a number ≥ 0`);
    mix[name as Operation] = value;
  }
  if (OPERATIONS.every((operation) => mix[operation] === 0)) {
    throw new LoadUsageError('--mix: at least one operation needs a weight above 0');
  }
  return mix;
}

const DURATION_UNITS_MS: Record<string, number> = { ms: 1, s: 1_000, m: 60_000, h: 3_600_000 };

function duration(flag: string, text: string): number {
  const match = /^(\d+(?:\.\d+)?)(ms|s|m|h)$/.exec(text.trim());
  if (!match) throw new LoadUsageError(`${flag}: '${text}' is not a duration such as 30s, 5m or 1h`);
  const ms = Number(match[1]) * DURATION_UNITS_MS[match[2]!]!;
  if (ms <= 0) throw new LoadUsageError(`${flag}: must be longer than 0`);
  return ms;
}

function positiveNumber(flag: string, text: string): number {
  const value = Number(text);
  if (!Number.isFinite(value) || value <= 0) throw new LoadUsageError(`${flag}: '${text}' must be a number above 0`);
  return value;
}

function positiveInt(flag: string, text: string): number {
  const value = Number(text);
  if (!Number.isSafeInteger(value) || value <= 0)
    throw new LoadUsageError(`${flag}: '${text}' must be an integer above 0`);
  return value;
}

function nonNegativeInt(flag: string, text: string): number {
  const value = Number(text);
  if (!Number.isSafeInteger(value) || value < 0) throw new LoadUsageError(`${flag}: '${text}' must be an integer ≥ 0`);
  return value;
}

function url(flag: string, text: string): string {
  try {
    const parsed = new URL(text);
    if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') throw new Error('not http');
    return text.replace(/\/+$/, '');
  } catch {
    throw new LoadUsageError(`${flag}: '${text}' is not an http(s) URL`);
  }
}
