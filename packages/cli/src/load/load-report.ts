import type { LatencySummary, Outcome } from './latency-recorder.js';
import type { LoadOptions } from './load-options.js';
import { OPERATIONS } from './load-options.js';
import type { LoadRunResult } from './open-loop-runner.js';

/** The JSON result of one run (`--json`); stable field names, since scripts and CI read it. */
export interface LoadReport {
  tool: 'switchyard load';
  startedAt: string;
  target: { usersUrl: string; ordersUrl: string };
  requested: { ratePerSecond: number; durationMs: number | null; count: number | null; mix: LoadOptions['mix'] };
  sent: number;
  elapsedMs: number;
  achievedRatePerSecond: number;
  operations: Partial<Record<(typeof OPERATIONS)[number], LatencySummary>>;
  total: LatencySummary;
}

export function loadReport(options: LoadOptions, startedAt: Date, result: LoadRunResult): LoadReport {
  const operations: LoadReport['operations'] = {};
  for (const operation of OPERATIONS) {
    const summary = result.recorder.summaryOf(operation);
    if (summary) operations[operation] = summary;
  }
  return {
    tool: 'switchyard load',
    startedAt: startedAt.toISOString(),
    target: { usersUrl: options.usersUrl, ordersUrl: options.ordersUrl },
    requested: {
      ratePerSecond: options.ratePerSecond,
      durationMs: options.durationMs ?? null,
      count: options.count ?? null,
      mix: options.mix,
    },
    sent: result.sent,
    elapsedMs: Math.round(result.elapsedMs),
    achievedRatePerSecond: Math.round((result.sent / result.elapsedMs) * 1000 * 10) / 10,
    operations,
    total: result.recorder.total(),
  };
}

/** The final table: one row per operation and a total. */
export function formatReportTable(report: LoadReport): string {
  const header = ['operation', 'count', 'ok', 'errors', 'p50 ms', 'p95 ms', 'p99 ms', 'max ms'];
  const row = (name: string, s: LatencySummary): string[] => [
    name,
    String(s.count),
    String(s.ok),
    formatErrors(s.errors),
    String(s.p50Ms),
    String(s.p95Ms),
    String(s.p99Ms),
    String(s.maxMs),
  ];
  const rows = [
    header,
    ...OPERATIONS.flatMap((name) => (report.operations[name] ? [row(name, report.operations[name])] : [])),
    row('total', report.total),
  ];
  const widths = header.map((_, column) => Math.max(...rows.map((cells) => cells[column]!.length)));
  const lines = rows.map((cells) =>
    cells
      .map((cell, column) => cell.padEnd(widths[column]!))
      .join('  ')
      .trimEnd(),
  );
  return [
    ...lines,
    '',
    `sent ${report.sent} in ${(report.elapsedMs / 1000).toFixed(1)} s: ${report.achievedRatePerSecond}/s achieved, ${report.requested.ratePerSecond}/s requested`,
  ].join('\n');
}

/** One live line: the last interval's rate, errors and latency. */
export function formatProgressLine(elapsedMs: number, windowMs: number, window: readonly Outcome[]): string {
  const latencies = Float64Array.from(window.map((outcome) => outcome.latencyMs)).sort();
  const at = (p: number): string =>
    latencies.length === 0 ? '-' : latencies[Math.ceil((p / 100) * latencies.length) - 1]!.toFixed(1);
  const errors = window.filter((outcome) => outcome.error !== undefined).length;
  const rate = ((window.length / windowMs) * 1000).toFixed(1);
  return `[${(elapsedMs / 1000).toFixed(0).padStart(4)} s] ${rate}/s  errors ${errors}  p50 ${at(50)} ms  p99 ${at(99)} ms`;
}

function formatErrors(errors: Record<string, number>): string {
  const entries = Object.entries(errors);
  return entries.length === 0 ? '0' : entries.map(([kind, n]) => `${n}×${kind}`).join(' ');
}
