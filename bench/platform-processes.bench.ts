// The platform as production runs it: the load generator (`switchyard load`), order-service and user-service are
// three separate processes. Orders go in over HTTP; each one's `order.placed` travels outbox → relay → RabbitMQ →
// user-service's consumer → inbox commit. Pipeline latency is read from the two databases afterwards (the outbox
// row's created_at to the inbox row's processed_at; one machine, one clock), so no process measures itself. Peak:
// a ramp of short open-loop steps, doubling the offered rate until the pipeline no longer keeps up (it delivers
// under 90% of the offer, or HTTP p99 passes a second); the best delivered rate is the peak. Then open-loop phases at
// 25%, 50% and 90% of it. Writes results/platform-processes.json.
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import { Platform } from '../e2e/test/platform.js';
import { summariseLatencies, type LatencySummary } from './lib/latency-stats.js';
import { describeMachine } from './lib/machine-info.js';
import { defaultLoadPlan } from './lib/load-driver.js';
import { writeResults } from './lib/bench-results.js';

const CLI = fileURLToPath(new URL('../packages/cli/bin/switchyard.js', import.meta.url));
/** The ramp starts here and doubles; it stops at the first step the platform cannot keep up with. */
const RAMP_START_PER_SECOND = 25;
const RAMP_MAX_PER_SECOND = 6_400;
const KEEPING_UP_SHARE = 0.9;
const KEEPING_UP_HTTP_P99_MS = 1_000;
const DRAIN_DEADLINE_MS = 120_000;

interface PhaseReport {
  phase: string;
  offeredPerSecond: number;
  /** HTTP: what the generator saw (from intended send time). */
  http: { sent: number; ok: number; errors: Record<string, number>; p50Ms: number; p99Ms: number };
  /** Events through the pipeline per second inside the phase, and their latency outbox → inbox. */
  pipeline: { events: number; eventsPerSecond: number; latency: LatencySummary; lost: number };
}

const plan = defaultLoadPlan();
const platform = await Platform.start('bench_procs', { LOG_LEVEL: 'warn' });
const dir = await mkdtemp(join(tmpdir(), 'switchyard-bench-'));
const orders = new pg.Client({ connectionString: platform.orderDb.url });
const users = new pg.Client({ connectionString: platform.userDb.url });
await Promise.all([orders.connect(), users.connect()]);
try {
  const phases: PhaseReport[] = [];
  let peak: PhaseReport | undefined;
  for (let rate = RAMP_START_PER_SECOND; rate <= RAMP_MAX_PER_SECOND; rate *= 2) {
    const step = await runPhase(`ramp ${rate}/s`, rate, plan.pacedSeconds);
    phases.push(step);
    if (!peak || step.pipeline.eventsPerSecond > peak.pipeline.eventsPerSecond) peak = step;
    const keptUp =
      step.pipeline.eventsPerSecond >= KEEPING_UP_SHARE * rate && step.http.p99Ms <= KEEPING_UP_HTTP_P99_MS;
    if (!keptUp) break;
  }
  const peakRate = peak!.pipeline.eventsPerSecond;
  console.log(`peak: ${peakRate} events/s through the pipeline (${peak!.phase})`);
  for (const share of plan.pacedShares) {
    const rate = Math.max(1, Math.round(peakRate * share));
    phases.push(await runPhase(`${Math.round(share * 100)}%`, rate, plan.pacedSeconds));
  }
  console.table(
    phases.map((p) => ({
      phase: p.phase,
      offered: p.offeredPerSecond,
      'http ok': p.http.ok,
      'http p50/p99 ms': `${p.http.p50Ms} / ${p.http.p99Ms}`,
      'pipeline events/s': p.pipeline.eventsPerSecond,
      'pipeline p50/p95/p99 ms': `${p.pipeline.latency.p50Ms} / ${p.pipeline.latency.p95Ms} / ${p.pipeline.latency.p99Ms}`,
      lost: p.pipeline.lost,
    })),
  );
  const machine = await describeMachine(platform.vhost.url, platform.orderDb.url);
  console.log(
    `results written to ${writeResults('platform-processes', { bench: 'platform-processes', machine, tracing: false, results: phases })}`,
  );
} finally {
  await Promise.allSettled([orders.end(), users.end()]);
  await platform.stop();
  await rm(dir, { recursive: true, force: true });
}

/** One open-loop phase of `switchyard load` (orders only), then the pipeline's account of what it sent. */
async function runPhase(phase: string, rate: number, seconds: number): Promise<PhaseReport> {
  const { rows: before } = await orders.query<{ at: Date }>('SELECT clock_timestamp() AS at');
  const json = join(dir, `${phase.replace(/[^\w]+/g, '-')}.json`);
  const child = spawn(
    process.execPath,
    [
      CLI,
      'load',
      ...['--users-url', platform.users.url, '--orders-url', platform.orders.url, '--mix', 'order=1'],
      ...['--rate', String(rate), '--duration', `${seconds}s`, '--seed-users', '20', '--max-in-flight', '64'],
      ...['--json', json, '--quiet'],
    ],
    { stdio: ['ignore', 'ignore', 'inherit'] },
  );
  const [code] = (await once(child, 'exit')) as [number | null];
  if (code !== 0) throw new Error(`switchyard load exited ${code} in phase ${phase}`);
  const report = JSON.parse(await readFile(json, 'utf8')) as {
    total: { count: number; ok: number; errors: Record<string, number>; p50Ms: number; p99Ms: number };
  };
  const since = before[0]!.at;
  const { rows: published } = await orders.query<{ id: string; created: Date }>(
    `SELECT id, created_at AS created FROM outbox_events WHERE event_type = 'order.placed' AND created_at >= $1`,
    [since],
  );
  const ids = published.map((row) => row.id);
  const consumed = await waitForInbox(ids);
  const createdAt = new Map(published.map((row) => [row.id, row.created.getTime()]));
  const latencies = consumed.map((row) => row.processed.getTime() - createdAt.get(row.id)!);
  // Delivered per second over the phase: from its first outbox row to its last inbox commit.
  const first = Math.min(...published.map((row) => row.created.getTime()));
  const last = Math.max(...consumed.map((row) => row.processed.getTime()));
  return {
    phase,
    offeredPerSecond: rate,
    http: {
      sent: report.total.count,
      ok: report.total.ok,
      errors: report.total.errors,
      p50Ms: report.total.p50Ms,
      p99Ms: report.total.p99Ms,
    },
    pipeline: {
      events: consumed.length,
      eventsPerSecond: Math.round((consumed.length / Math.max(1, last - first)) * 1000),
      latency: summariseLatencies(latencies),
      lost: ids.length - consumed.length,
    },
  };
}

/** user-service's inbox rows for these event ids, once all are there or the drain deadline passed. */
async function waitForInbox(ids: string[]): Promise<Array<{ id: string; processed: Date }>> {
  const deadline = performance.now() + DRAIN_DEADLINE_MS;
  for (;;) {
    const { rows } = await users.query<{ id: string; processed: Date }>(
      `SELECT event_id AS id, processed_at AS processed FROM inbox_events WHERE event_id = ANY($1::uuid[])`,
      [ids],
    );
    if (rows.length === ids.length || performance.now() > deadline) return rows;
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
}
