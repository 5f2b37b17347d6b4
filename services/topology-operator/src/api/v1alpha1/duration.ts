import { z } from 'zod';
import { InvalidSubscriptionSpecError } from './invalid-spec-error.js';

/**
 * Durations in an EventSubscription: one positive integer and a unit, `500ms`, `1s`, `2m`, `1h` (a subset of Go's
 * `time.ParseDuration` syntax without fractions or compound values, so a retry tier's queue name, which shows the
 * delay, reads the same as the spec). The CRD's `pattern` is `DURATION_PATTERN`; the upper bound is checked here
 * because a regular expression cannot compare magnitudes (the CRD checks it with a CEL rule, see crd-overlay.ts).
 */
export const DURATION_PATTERN = '^[1-9][0-9]{0,8}(ms|s|m|h)$';

/**
 * Longest accepted duration: 2^31 - 1 ms (about 24.8 days). RabbitMQ keeps message TTLs in Erlang timers and
 * Node's timers overflow above this, so nothing longer behaves predictably end to end.
 */
export const MAX_DURATION_MS = 2_147_483_647;

/** Go-style duration as the CRD accepts it: an integer and one unit, e.g. `500ms`, `1s`, `2m`, `1h`. */
export type Duration = string;

const UNIT_MS = { ms: 1, s: 1_000, m: 60_000, h: 3_600_000 } as const;
const durationRegExp = new RegExp(DURATION_PATTERN);
const NOT_A_DURATION = 'must be a duration like 500ms, 1s, 2m or 1h';

/** Milliseconds, or what is wrong with the text. */
function readDuration(text: string): { ms: number } | { problem: string } {
  const match = durationRegExp.exec(text);
  if (!match) return { problem: `'${text}' is not a duration like 500ms, 1s, 2m or 1h` };
  const ms = Number(text.slice(0, -match[1]!.length)) * UNIT_MS[match[1] as keyof typeof UNIT_MS];
  if (ms > MAX_DURATION_MS)
    return { problem: `'${text}' is longer than the maximum of ${MAX_DURATION_MS} ms (about 24 days)` };
  return { ms };
}

/**
 * `500ms` → 500, `2m` → 120000. Throws `InvalidSubscriptionSpecError` naming `field` for anything else or anything
 * over `MAX_DURATION_MS`.
 */
export function parseDuration(text: string, field = 'duration'): number {
  const read = readDuration(text);
  if ('problem' in read) throw new InvalidSubscriptionSpecError(field, read.problem);
  return read.ms;
}

/**
 * A duration field of the spec: the pattern, and the length it implies (spelled out for the CRD, after the pattern
 * so a bad duration is reported by the pattern's message); the maximum is checked here, and by a CEL rule in the CRD.
 */
export const durationSchema = z
  .string()
  .regex(durationRegExp, NOT_A_DURATION)
  .max(11)
  .superRefine((text, context) => {
    const read = readDuration(text);
    // A malformed duration is already reported by the pattern.
    if ('problem' in read && durationRegExp.test(text)) context.addIssue({ code: 'custom', message: read.problem });
  });
