// `npm run bench:report`: renders bench/results/*.json into the tables of docs/performance.md, between its
// `<!-- bench:<name> -->` and `<!-- /bench:<name> -->` markers, so no number in the document is typed by hand.
// Everything outside the markers (method, commentary) is left as it is. `--check` exits 1 when the document
// is not up to date with the results, without writing.
import { readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { ScenarioResult } from './lib/bench-results.js';
import type { LatencySummary } from './lib/latency-stats.js';
import type { PhaseResult } from './lib/load-driver.js';
import {
  allScenarios,
  type BenchResults,
  loadResults,
  phase,
  scenario,
  targetChecks,
} from './lib/performance-summary.js';

const DOC = fileURLToPath(new URL('../docs/performance.md', import.meta.url));
const NO_RESULTS = '_No results yet: run `npm run bench`._';

function table(header: string[], rows: Array<Array<string | number>>): string {
  const line = (cells: Array<string | number>): string =>
    `| ${cells.map((c) => String(c).replace(/\|/g, '\\|')).join(' | ')} |`;
  return [line(header), line(header.map(() => '---')), ...rows.map(line)].join('\n');
}

const ms = (l: LatencySummary | undefined): string =>
  l && l.samples > 0 ? `${fmt(l.p50Ms)} / ${fmt(l.p95Ms)} / ${fmt(l.p99Ms)}` : '–';
const fmt = (n: number): string => (n >= 100 ? String(Math.round(n)) : n >= 10 ? n.toFixed(1) : n.toFixed(2));
const pct = (n: number | null | undefined): string => (n === null || n === undefined ? '?' : `${n}%`);
const settingsOf = (s: ScenarioResult): string =>
  Object.entries(s.settings)
    .filter(([k]) => !['queueType', 'persistent', 'confirms', 'tracing'].includes(k))
    .map(([k, v]) => `${k} ${String(v)}`)
    .join(', ');

/**
 * CPU milliseconds the whole path spends per event at peak (this process + broker + postgres): the number that
 * says how far two cores can go, whatever else the run was waiting for.
 */
function cpuPerEvent(p: PhaseResult): string {
  const { processCpuPercent, brokerCpuPercent, postgresCpuPercent } = p.resources;
  if (p.eventsPerSecond <= 0) return '–';
  const total = processCpuPercent + (brokerCpuPercent ?? 0) + (postgresCpuPercent ?? 0);
  return ((total * 10) / p.eventsPerSecond).toFixed(2);
}

/** Machine CPU not spent by the benchmark process, the broker or postgres: load that disturbed the measurement. */
function otherCpu(p: PhaseResult): number | null {
  const { machineCpuPercent, processCpuPercent, brokerCpuPercent, postgresCpuPercent } = p.resources;
  if (machineCpuPercent === null || machineCpuPercent === undefined) return null;
  return Math.max(0, machineCpuPercent - processCpuPercent - (brokerCpuPercent ?? 0) - (postgresCpuPercent ?? 0));
}

function machine(r: BenchResults): string {
  const file = r.raw ?? r.transport ?? r.pipeline ?? r.sql ?? r.nest;
  if (!file) return NO_RESULTS;
  const m = file.machine;
  const run = r.run
    ? `; whole run ${r.run.seconds} s (${r.run.benches.map((b) => `${b.name} ${b.seconds} s`).join(', ')})`
    : '';
  return [
    `- CPU: ${m.cpuModel}, ${m.cpus} logical CPUs; memory ${m.memoryGb} GB; Linux ${m.kernel}`,
    `- Node ${m.node}; RabbitMQ ${m.rabbitmq} on Erlang/OTP ${m.erlang}; PostgreSQL ${m.postgres} (all on this machine, over loopback)`,
    `- Measured ${file.measuredAt.slice(0, 16).replace('T', ' ')} UTC${run}; 1-minute load average when the run started: ${m.loadAverage1m}`,
    `- Payload: ${file.payloadBytes}-byte JSON event body in every scenario`,
  ].join('\n');
}

function targets(r: BenchResults): string {
  if (targetChecks(r).every((c) => c.met === null)) return NO_RESULTS;
  return table(
    ['target', 'measured', 'met'],
    targetChecks(r).map((c) => [c.target, c.measured, c.met === null ? 'not run' : c.met ? 'yes' : '**no**']),
  );
}

function throughput(r: BenchResults): string {
  const scenarios = allScenarios(r);
  if (scenarios.length === 0) return NO_RESULTS;
  const bestRaw = Math.max(0, ...(r.raw?.results ?? []).map((s) => phase(s, 'peak')?.eventsPerSecond ?? 0));
  return table(
    [
      'scenario',
      'settings',
      'peak events/s',
      'vs best raw',
      'p50 / p95 / p99 ms at peak',
      'CPU node / broker / postgres / other at peak',
      'CPU ms per event',
      'peak RSS',
      'lost / duplicated (all phases)',
    ],
    scenarios.map((s) => {
      const peak = phase(s, 'peak');
      const lost = s.phases.reduce((n, p) => n + p.account.lost, 0);
      const dup = s.phases.reduce((n, p) => n + p.account.duplicates, 0);
      // Redeliveries of an earlier phase's events (acked, but the ack was lost when that phase's connection closed).
      const late = s.phases.reduce((n, p) => n + p.account.unexpected, 0);
      const sent = s.phases.reduce((n, p) => n + p.account.sent, 0);
      return [
        s.title,
        settingsOf(s),
        peak?.eventsPerSecond ?? '–',
        peak && bestRaw ? `${Math.round((peak.eventsPerSecond / bestRaw) * 100)}%` : '–',
        ms(peak?.latency),
        peak
          ? `${pct(peak.resources.processCpuPercent)} / ${pct(peak.resources.brokerCpuPercent)} / ${pct(peak.resources.postgresCpuPercent)} / ${pct(otherCpu(peak))}`
          : '–',
        peak ? cpuPerEvent(peak) : '–',
        peak ? `${peak.resources.peakRssMb} MB` : '–',
        `${lost} / ${dup} of ${sent}${late > 0 ? ` (+${late} late redeliveries)` : ''}`,
      ];
    }),
  );
}

function latency(r: BenchResults): string {
  const shares = ['25%', '50%', '90%'];
  if (allScenarios(r).length === 0) return NO_RESULTS;
  return table(
    ['scenario', ...shares.map((s) => `${s} of peak: events/s, p50 / p95 / p99 ms`)],
    allScenarios(r).map((s) => [
      s.key,
      ...shares.map((share) => {
        const p = phase(s, share);
        return p ? `${p.eventsPerSecond}: ${ms(p.latency)}` : '–';
      }),
    ]),
  );
}

function stages(r: BenchResults): string {
  const rows: Array<Array<string | number>> = [];
  for (const s of [...(r.pipeline?.results ?? []), ...(r.pipelineTraced?.results ?? [])]) {
    for (const p of s.phases) {
      const st = p.stages ?? {};
      const at = (name: string): string => (st[name] ? `${fmt(st[name].p50Ms)} / ${fmt(st[name].p99Ms)}` : '–');
      rows.push([
        s.key,
        p.phase,
        at('committed'),
        at('claimed'),
        at('confirmed'),
        at('received'),
        `${fmt(p.latency.p50Ms)} / ${fmt(p.latency.p99Ms)}`,
      ]);
    }
  }
  return rows.length === 0
    ? '_The full-pipeline bench has not run._'
    : table(
        [
          'scenario',
          'phase',
          'outbox committed',
          'claimed by relay',
          'publish confirmed',
          'consumer received',
          'inbox committed (delivered)',
        ],
        rows,
      );
}

function tracing(r: BenchResults): string {
  const off = scenario(r, 'pipeline-prisma');
  const on = scenario(r, 'pipeline-prisma-traced');
  if (!off || !on) return '_Needs both the full-pipeline and full-pipeline-traced benches._';
  const rows = ['peak', '25%', '50%', '90%'].map((name) => {
    const a = phase(off, name);
    const b = phase(on, name);
    return [
      name,
      `${a?.eventsPerSecond ?? '–'} → ${b?.eventsPerSecond ?? '–'}`,
      `${a ? fmt(a.latency.p50Ms) : '–'} → ${b ? fmt(b.latency.p50Ms) : '–'}`,
      `${a ? fmt(a.latency.p99Ms) : '–'} → ${b ? fmt(b.latency.p99Ms) : '–'}`,
      `${pct(a?.resources.processCpuPercent)} → ${pct(b?.resources.processCpuPercent)}`,
      `${a?.resources.peakRssMb ?? '–'} → ${b?.resources.peakRssMb ?? '–'} MB`,
    ];
  });
  const spans = r.run?.spansExported
    ? `\n\nThe traced run exported ${r.run.spansExported} spans to the OTLP receiver.`
    : '';
  return `${table(['phase', 'events/s off → on', 'p50 ms off → on', 'p99 ms off → on', 'node CPU off → on', 'RSS off → on'], rows)}${spans}`;
}

function sql(r: BenchResults): string {
  if (!r.sql) return '_The sql-hot-path bench has not run._';
  return table(
    [
      'operation',
      'variant',
      'concurrency',
      'per second',
      'p50 / p95 / p99 ms per operation',
      'node / postgres CPU',
      'errors',
    ],
    r.sql.results.map((o) => [
      o.operation,
      o.variant,
      o.concurrency,
      `${o.perSecond}${o.operation === 'outbox claim' ? ' rows' : ''}`,
      ms(o.latency),
      `${pct(o.resources.processCpuPercent)} / ${pct(o.resources.postgresCpuPercent)}`,
      o.errors,
    ]),
  );
}

function databaseCheck(r: BenchResults): string {
  const rows = [...(r.pipeline?.results ?? []), ...(r.pipelineTraced?.results ?? [])].map((s) => {
    const c = (s as ScenarioResult & { databaseCheck?: Record<string, number> }).databaseCheck ?? {};
    const delivered = s.phases.reduce((n, p) => n + p.account.delivered, 0);
    return [s.key, c.outboxRows ?? '–', c.unsent ?? '–', c.inboxRows ?? '–', c.profiles ?? '–', delivered];
  });
  return rows.length === 0
    ? '_The full-pipeline bench has not run._'
    : table(['scenario', 'outbox rows', 'unsent', 'inbox rows', 'profiles written', 'deliveries counted'], rows);
}

const sections: Record<string, (r: BenchResults) => string> = {
  machine,
  targets,
  throughput,
  latency,
  stages,
  tracing,
  sql,
  'database-check': databaseCheck,
};

const results = loadResults();
let doc = readFileSync(DOC, 'utf8');
const original = doc;
for (const [name, render] of Object.entries(sections)) {
  const open = `<!-- bench:${name} -->`;
  const close = `<!-- /bench:${name} -->`;
  const start = doc.indexOf(open);
  const end = doc.indexOf(close);
  if (start < 0 || end < start) throw new Error(`docs/performance.md has no ${open} … ${close} block`);
  doc = `${doc.slice(0, start + open.length)}\n${render(results)}\n${doc.slice(end)}`;
}
if (process.argv.includes('--check')) {
  if (doc !== original) {
    console.error('docs/performance.md is not up to date with bench/results: run npm run bench:report');
    process.exitCode = 1;
  }
} else {
  writeFileSync(DOC, doc);
  console.log(`docs/performance.md: ${Object.keys(sections).length} tables rendered from bench/results`);
}
