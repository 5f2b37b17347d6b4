import { existsSync, readFileSync } from 'node:fs';
import type { ResultFile, ScenarioResult } from './bench-results.js';
import { RESULTS_DIR } from './bench-results.js';
import type { PhaseResult } from './load-driver.js';
import type { OperationRate } from './operation-rate.js';

/** Everything `npm run bench` wrote, read back (a missing file is a bench that did not run). */
export interface BenchResults {
  raw?: ResultFile<ScenarioResult>;
  nest?: ResultFile<ScenarioResult>;
  transport?: ResultFile<ScenarioResult>;
  pipeline?: ResultFile<ScenarioResult & { databaseCheck?: Record<string, number> }>;
  pipelineTraced?: ResultFile<ScenarioResult & { databaseCheck?: Record<string, number> }>;
  sql?: ResultFile<OperationRate>;
  perftest?: ResultFile<ScenarioResult>;
  run?: RunRecord;
}

/** What the runner itself records about a run. */
export interface RunRecord {
  startedAt: string;
  finishedAt: string;
  seconds: number;
  benches: Array<{ name: string; seconds: number; exitCode: number | null }>;
  /** Spans the traced pipeline run exported to the runner's OTLP receiver. */
  spansExported: number;
}

function read<T>(dir: string, name: string): T | undefined {
  const path = `${dir.replace(/\/$/, '')}/${name}.json`;
  return existsSync(path) ? (JSON.parse(readFileSync(path, 'utf8')) as T) : undefined;
}

export function loadResults(dir = process.env.BENCH_RESULTS_DIR ?? RESULTS_DIR): BenchResults {
  return {
    raw: read(dir, 'raw-amqplib'),
    nest: read(dir, 'nest-rmq'),
    transport: read(dir, 'switchyard-transport'),
    pipeline: read(dir, 'full-pipeline'),
    pipelineTraced: read(dir, 'full-pipeline-traced'),
    sql: read(dir, 'sql-hot-path'),
    perftest: read(dir, 'rabbitmq-perftest'),
    run: read(dir, 'run'),
  };
}

/** Every delivery scenario in report order. */
export function allScenarios(results: BenchResults): ScenarioResult[] {
  return [
    results.perftest,
    results.raw,
    results.nest,
    results.transport,
    results.pipeline,
    results.pipelineTraced,
  ].flatMap((file) => file?.results ?? []);
}

export function phase(scenario: ScenarioResult | undefined, name: string): PhaseResult | undefined {
  return scenario?.phases.find((p) => p.phase === name);
}

export function scenario(results: BenchResults, key: string): ScenarioResult | undefined {
  return allScenarios(results).find((s) => s.key === key);
}

export interface TargetCheck {
  target: string;
  measured: string;
  met: boolean | null;
}

const peakOf = (s: ScenarioResult | undefined): number | undefined => phase(s, 'peak')?.eventsPerSecond;
const lossFree = (s: ScenarioResult | undefined): boolean => (s?.phases ?? []).every((p) => p.account.lost === 0);

/** The targets against the measured numbers; `met` is null when the bench behind it did not run. */
export function targetChecks(results: BenchResults): TargetCheck[] {
  const raws = (results.raw?.results ?? []).filter((s) => peakOf(s) !== undefined);
  const bestRaw = raws.sort((a, b) => peakOf(b)! - peakOf(a)!)[0];
  const transport = scenario(results, 'transport');
  const nest = scenario(results, 'nest-rmq');
  const pipeline = scenario(results, 'pipeline-prisma');
  const checks: TargetCheck[] = [];
  const pipelinePeak = peakOf(pipeline);
  checks.push({
    target: 'full pipeline (Prisma, as the services run) ≥ 2,000 events/s sustained, zero loss',
    measured:
      pipelinePeak === undefined
        ? 'not run'
        : `${pipelinePeak} events/s, ${lossFree(pipeline) ? 'zero loss' : 'LOSS'} in every phase`,
    met: pipelinePeak === undefined ? null : pipelinePeak >= 2000 && lossFree(pipeline),
  });
  const half = phase(pipeline, '50%');
  checks.push({
    target: 'full pipeline p99 delivery latency ≤ 50 ms at 50% of peak',
    measured: half ? `p99 ${half.latency.p99Ms} ms at ${half.targetRate} events/s` : 'not run',
    met: half ? half.latency.p99Ms <= 50 : null,
  });
  const transportPeak = peakOf(transport);
  const bestRawPeak = peakOf(bestRaw);
  checks.push({
    target: 'our transport without outbox ≥ 70% of the best raw amqplib figure',
    measured:
      transportPeak === undefined || bestRawPeak === undefined
        ? 'not run'
        : `${transportPeak} vs ${bestRawPeak} events/s (${bestRaw!.key}): ${Math.round((transportPeak / bestRawPeak) * 100)}%`,
    met: transportPeak === undefined || bestRawPeak === undefined ? null : transportPeak >= 0.7 * bestRawPeak,
  });
  const nestPeak = peakOf(nest);
  checks.push({
    target: "our transport without outbox above NestJS's built-in transport",
    measured:
      transportPeak === undefined || nestPeak === undefined ? 'not run' : `${transportPeak} vs ${nestPeak} events/s`,
    met: transportPeak === undefined || nestPeak === undefined ? null : transportPeak > nestPeak,
  });
  return checks;
}
