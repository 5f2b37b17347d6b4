// The soak's printed table and its JSON results (e2e/soak/results/<label>.json, which the plot is rendered from).
import { mkdirSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, totalmem } from 'node:os';
import { fileURLToPath } from 'node:url';
import type { InjectedFault } from './fault-schedule.js';
import type { SoakLedger, SoakSample, SoakVerdict } from './soak-criteria.js';

export const SOAK_RESULTS_DIR = fileURLToPath(new URL('./results/', import.meta.url));

export interface SoakResults {
  label: string;
  startedAt: string;
  finishedAt: string;
  machine: { cpus: number; cpuModel: string | undefined; memoryGb: number; node: string; loadAverageAtStart: number[] };
  durationSeconds: number;
  warmupSeconds: number;
  lagBound: number;
  rate: {
    opsPerSecond: number;
    /** `preflight`: 50% of the peak measured before the soak; `flag`: given with --rate / SOAK_RATE. */
    source: 'preflight' | 'flag';
    preflightPeakOpsPerSecond: number | null;
  };
  operations: { attempted: number; acknowledged: number; failed: number; failures: Record<string, number> };
  committed: { users: number; orders: number };
  faults: InjectedFault[];
  samples: SoakSample[];
  ledger: SoakLedger;
  verdict: SoakVerdict;
}

export function machineInfo(): SoakResults['machine'] {
  return {
    cpus: cpus().length,
    cpuModel: cpus()[0]?.model,
    memoryGb: Math.round(totalmem() / 2 ** 30),
    node: process.version,
    loadAverageAtStart: loadavg().map((value) => Math.round(value * 100) / 100),
  };
}

export function writeSoakResults(results: SoakResults): string {
  mkdirSync(SOAK_RESULTS_DIR, { recursive: true });
  const file = `${SOAK_RESULTS_DIR}${results.label}.json`;
  writeFileSync(file, `${JSON.stringify(results, null, 1)}\n`);
  return file;
}

const cell = (value: number | null | undefined): string =>
  value === null || value === undefined ? '-' : String(value);

function table(header: string[], rows: string[][]): string {
  const widths = header.map((title, column) => Math.max(title.length, ...rows.map((row) => row[column]!.length)));
  const line = (cells: string[]): string => cells.map((text, column) => text.padStart(widths[column]!)).join(' | ');
  return [line(header), widths.map((width) => '-'.repeat(width)).join('-|-'), ...rows.map(line)].join('\n');
}

/** About a dozen samples spread over the run, then the verdict per criterion. */
export function formatSoakTable(results: SoakResults): string {
  const { samples } = results;
  const step = Math.max(1, Math.ceil(samples.length / 12));
  const picked = samples.filter((_, index) => index % step === 0 || index === samples.length - 1);
  const rows = picked.map((s) => [
    s.t.toFixed(0),
    cell(s.rssMb.users),
    cell(s.rssMb.orders),
    `${cell(s.handles.users)}/${cell(s.handles.orders)}`,
    `${cell(s.resources.users)}/${cell(s.resources.orders)}`,
    `${cell(s.dbConnections.users)}/${cell(s.dbConnections.orders)}`,
    `${cell(s.outboxPending.users)}/${cell(s.outboxPending.orders)}`,
    `${cell(s.queueDepth.users)}/${cell(s.queueDepth.orders)}`,
    String(s.lag),
  ]);
  const header = [
    't s',
    'RSS users MiB',
    'RSS orders MiB',
    'handles u/o',
    'resources u/o',
    'pg conns u/o',
    'outbox u/o',
    'queue u/o',
    'lag',
  ];
  const { verdict, ledger, rate, operations } = results;
  const rss = Object.entries(verdict.rss).map(
    ([service, g]) =>
      `RSS ${service}: trend ${g.baselineMb.toFixed(1)} → ${g.finalMb.toFixed(1)} MiB over ${g.spanSeconds.toFixed(0)} s after warm-up ` +
      `(${(g.growth * 100).toFixed(1)}%, ${g.judged ? 'limit < 10%' : 'not judged: under 5 min after warm-up'})`,
  );
  return [
    table(header, rows),
    '',
    `rate ${rate.opsPerSecond} ops/s (${rate.source === 'preflight' ? `50% of the preflight peak ${rate.preflightPeakOpsPerSecond} ops/s` : 'given'}); ` +
      `${operations.attempted} operations, ${operations.acknowledged} acknowledged, ${operations.failed} failed; ${results.faults.length} faults`,
    ...rss,
    `lag: max ${verdict.maxLag}, max in the last third ${verdict.maxLagLastThird} (bound ${results.lagBound}); ` +
      `drained ${ledger.drained ? `${(ledger.drainedAfterMs / 1000).toFixed(1)} s after the traffic` : 'NOT'}`,
    `lost ${ledger.lost + ledger.lostAcknowledged}, doubled ${ledger.duplicated}, crashes ${ledger.crashes.length}`,
    verdict.passed ? 'soak: PASS' : `soak: FAIL\n${verdict.failures.map((failure) => `  - ${failure}`).join('\n')}`,
  ].join('\n');
}
