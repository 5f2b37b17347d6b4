import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { cpus, totalmem } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { LedgerResult } from './ledger.js';
import type { WorkloadTally } from './workload.js';

/** One scenario's numbers, as printed and as written to e2e/faults/results/<mode>.json. */
export interface ScenarioResult {
  scenario: string;
  fault: string;
  operations: { attempted: number; acknowledged: number; failed: number; failures: Record<string, number> };
  committed: LedgerResult['committed'];
  delivered: LedgerResult['delivered'];
  lost: number;
  lostAcknowledged: number;
  duplicated: number;
  /** From the end of the fault (restart, restore) until both services answered /health/ready with 200. */
  readyAgainAfterMs: number;
  /** From the end of the traffic (the last operation answered) until every committed write had its effect downstream. */
  caughtUpAfterMs: number;
  faultDurationMs: number;
  peakRssMb: Record<string, number>;
  /** Deliveries settled by the consumers alive at the end, by outcome; `duplicate` ones were removed by the inbox. */
  consumedByOutcome: Record<string, number>;
  /** What the fault observed when it struck (e.g. outbox rows still unsent at a SIGKILL). */
  evidence: Record<string, number>;
  crashes: string[];
  examples: string[];
  durationMs: number;
}

export const RESULTS_DIR = fileURLToPath(new URL('./results/', import.meta.url));

export function scenarioResult(
  scenario: string,
  fault: string,
  tally: WorkloadTally,
  ledger: LedgerResult,
  timings: { readyAgainAfterMs: number; faultDurationMs: number; durationMs: number },
  observed: {
    peakRssMb: Record<string, number>;
    consumedByOutcome: Record<string, number>;
    evidence: Record<string, number>;
  },
  crashes: string[],
): ScenarioResult {
  return {
    scenario,
    fault,
    operations: {
      attempted: tally.attempted,
      acknowledged: tally.acknowledged,
      failed: tally.failed,
      failures: tally.failures,
    },
    committed: ledger.committed,
    delivered: ledger.delivered,
    lost: ledger.lost,
    lostAcknowledged: ledger.lostAcknowledged,
    duplicated: ledger.duplicated,
    readyAgainAfterMs: timings.readyAgainAfterMs,
    caughtUpAfterMs: ledger.caughtUpAfterMs,
    faultDurationMs: timings.faultDurationMs,
    ...observed,
    crashes,
    examples: ledger.examples,
    durationMs: timings.durationMs,
  };
}

export function formatTable(results: ScenarioResult[]): string {
  const header = [
    'scenario',
    'ops',
    'committed',
    'delivered',
    'lost',
    'dup',
    'fault s',
    'ready s',
    'caught up s',
    'RSS users MB',
    'RSS orders MB',
    'inbox dups',
    'crashes',
  ];
  const rows = results.map((r) => [
    r.scenario,
    String(r.operations.attempted),
    String(r.committed.users + r.committed.orders),
    String(r.delivered.userCreated + r.delivered.orderPlaced),
    String(r.lost + r.lostAcknowledged),
    String(r.duplicated),
    (r.faultDurationMs / 1000).toFixed(1),
    (r.readyAgainAfterMs / 1000).toFixed(1),
    (r.caughtUpAfterMs / 1000).toFixed(1),
    String(r.peakRssMb.users ?? '-'),
    String(r.peakRssMb.orders ?? '-'),
    String(r.consumedByOutcome.duplicate ?? 0),
    String(r.crashes.length),
  ]);
  const widths = header.map((title, column) => Math.max(title.length, ...rows.map((row) => row[column]!.length)));
  const line = (cells: string[]): string => cells.map((cell, column) => cell.padEnd(widths[column]!)).join(' | ');
  return [line(header), widths.map((width) => '-'.repeat(width)).join('-|-'), ...rows.map(line)].join('\n');
}

/**
 * Writes the run's results into the mode's file, returns the file. `mode` is `bounded` or `full`. Merged by scenario
 * name: a filtered run (`-t <scenario>`) replaces the results of the scenarios it ran and keeps the others' (in their
 * place; new scenarios go last). Each result carries when it was recorded, since one file can then mix runs.
 */
export function writeResults(mode: string, results: ScenarioResult[], dir = RESULTS_DIR): string {
  mkdirSync(dir, { recursive: true });
  const file = join(dir, `${mode}.json`);
  const finishedAt = new Date().toISOString();
  const machine = {
    cpus: cpus().length,
    cpuModel: cpus()[0]?.model,
    memoryGb: Math.round(totalmem() / 2 ** 30),
    node: process.version,
  };
  const merged = mergeByScenario(
    readRecorded(file),
    results.map((result) => ({ ...result, recordedAt: finishedAt })),
  );
  writeFileSync(file, `${JSON.stringify({ mode, finishedAt, machine, results: merged }, null, 2)}\n`);
  return file;
}

/** A result as stored: older files have no `recordedAt` (their run's `finishedAt` applies). */
type RecordedResult = ScenarioResult & { recordedAt?: string };

/** The results already in `file` (none when it does not exist); a file that is not a results file is an error. */
function readRecorded(file: string): RecordedResult[] {
  if (!existsSync(file)) return [];
  const stored = JSON.parse(readFileSync(file, 'utf8')) as { results?: unknown };
  if (!Array.isArray(stored.results)) throw new Error(`${file} has no "results" array; not overwriting it`);
  return stored.results as RecordedResult[];
}

function mergeByScenario(recorded: RecordedResult[], fresh: RecordedResult[]): RecordedResult[] {
  const byName = new Map(fresh.map((result) => [result.scenario, result]));
  const merged = recorded.map((old) => byName.get(old.scenario) ?? old);
  const kept = new Set(recorded.map((old) => old.scenario));
  return [...merged, ...fresh.filter((result) => !kept.has(result.scenario))];
}
