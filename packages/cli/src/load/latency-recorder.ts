import type { Operation } from './load-options.js';

/** One operation's outcome: latency from its intended send time, and the error class when it failed. */
export interface Outcome {
  operation: Operation;
  latencyMs: number;
  /** `undefined` when it succeeded; else the HTTP status (`409`) or the transport failure (`ECONNREFUSED`). */
  error: string | undefined;
}

export interface LatencySummary {
  count: number;
  ok: number;
  errors: Record<string, number>;
  p50Ms: number;
  p95Ms: number;
  p99Ms: number;
  maxMs: number;
}

/**
 * Keeps every latency (8 bytes each: a million operations is 8 MB) so percentiles are exact, and a window of the
 * most recent ones for the live display.
 */
export class LatencyRecorder {
  private readonly byOperation = new Map<Operation, { latencies: number[]; ok: number; errors: Map<string, number> }>();
  private window: Outcome[] = [];

  record(outcome: Outcome): void {
    let entry = this.byOperation.get(outcome.operation);
    if (!entry) {
      entry = { latencies: [], ok: 0, errors: new Map() };
      this.byOperation.set(outcome.operation, entry);
    }
    entry.latencies.push(outcome.latencyMs);
    if (outcome.error === undefined) entry.ok += 1;
    else entry.errors.set(outcome.error, (entry.errors.get(outcome.error) ?? 0) + 1);
    this.window.push(outcome);
  }

  /** Outcomes since the last call (the live display's interval). */
  takeWindow(): Outcome[] {
    const window = this.window;
    this.window = [];
    return window;
  }

  summaryOf(operation: Operation): LatencySummary | undefined {
    const entry = this.byOperation.get(operation);
    return entry && summarise(entry.latencies, entry.ok, Object.fromEntries(entry.errors));
  }

  total(): LatencySummary {
    const latencies: number[] = [];
    const errors: Record<string, number> = {};
    let ok = 0;
    for (const entry of this.byOperation.values()) {
      latencies.push(...entry.latencies);
      ok += entry.ok;
      for (const [error, n] of entry.errors) errors[error] = (errors[error] ?? 0) + n;
    }
    return summarise(latencies, ok, errors);
  }
}

/** Nearest-rank percentiles, in ms rounded to 0.1. */
export function summarise(latencies: readonly number[], ok: number, errors: Record<string, number>): LatencySummary {
  const sorted = Float64Array.from(latencies).sort();
  const at = (p: number): number =>
    sorted.length === 0 ? 0 : round(sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]!);
  return {
    count: sorted.length,
    ok,
    errors,
    p50Ms: at(50),
    p95Ms: at(95),
    p99Ms: at(99),
    maxMs: round(sorted.at(-1) ?? 0),
  };
}

const round = (ms: number): number => Math.round(ms * 10) / 10;
