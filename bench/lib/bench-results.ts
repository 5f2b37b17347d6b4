import { mkdirSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { PhaseResult } from './load-driver.js';
import type { MachineInfo } from './machine-info.js';
import { PAYLOAD_BYTES } from './bench-event.js';

/** Where every benchmark writes its JSON; `render-performance-tables.ts` reads it back. */
export const RESULTS_DIR = fileURLToPath(new URL('../results/', import.meta.url));

/** One delivery scenario: a peak and the paced runs, with what was configured. */
export interface ScenarioResult {
  /** Stable key used by the report, e.g. `raw-window`. */
  key: string;
  title: string;
  /** Settings that shape the number (window, batch, prefetch, queue type, …). */
  settings: Record<string, string | number | boolean>;
  phases: PhaseResult[];
}

export interface ResultFile<T> {
  bench: string;
  measuredAt: string;
  payloadBytes: number;
  machine: MachineInfo;
  /** Set for runs made with tracing exported (the OpenTelemetry preload). */
  tracing: boolean;
  results: T[];
}

/** Writes `results/<name>.json`; `BENCH_RESULTS_DIR` redirects it (the runner's scratch runs). */
export function writeResults<T>(name: string, file: Omit<ResultFile<T>, 'measuredAt' | 'payloadBytes'>): string {
  const dir = process.env.BENCH_RESULTS_DIR ?? RESULTS_DIR;
  mkdirSync(dir, { recursive: true });
  const path = `${dir.replace(/\/$/, '')}/${name}.json`;
  const body: ResultFile<T> = {
    bench: file.bench,
    measuredAt: new Date().toISOString(),
    payloadBytes: PAYLOAD_BYTES,
    machine: file.machine,
    tracing: file.tracing,
    results: file.results,
  };
  writeFileSync(path, `${JSON.stringify(body, null, 2)}\n`);
  return path;
}

/** The console table every delivery benchmark prints. */
export function printScenarios(title: string, scenarios: readonly ScenarioResult[]): void {
  console.log(`\n${title}\n`);
  console.table(
    scenarios.flatMap((s) =>
      s.phases.map((p) => ({
        scenario: s.key,
        phase: p.phase,
        'events/s': p.eventsPerSecond,
        'p50 ms': p.latency.p50Ms,
        'p95 ms': p.latency.p95Ms,
        'p99 ms': p.latency.p99Ms,
        lost: p.account.lost,
        dup: p.account.duplicates,
        'cpu node/broker/pg/machine %': `${p.resources.processCpuPercent}/${p.resources.brokerCpuPercent ?? '?'}/${p.resources.postgresCpuPercent ?? '?'}/${p.resources.machineCpuPercent ?? '?'}`,
        'rss MB': p.resources.peakRssMb,
      })),
    ),
  );
  const staged = scenarios.flatMap((s) => s.phases.filter((p) => p.stages).map((p) => ({ s, p })));
  if (staged.length > 0) {
    console.log('p50 / p99 ms from due time to each stage (cumulative):');
    console.table(
      staged.map(({ s, p }) => ({
        scenario: s.key,
        phase: p.phase,
        ...Object.fromEntries(Object.entries(p.stages!).map(([stage, l]) => [stage, `${l.p50Ms} / ${l.p99Ms}`])),
        delivered: `${p.latency.p50Ms} / ${p.latency.p99Ms}`,
      })),
    );
  }
}
