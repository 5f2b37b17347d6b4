// `npm run soak`: both services as processes on a private Postgres and RabbitMQ (e2e/faults' lab, a fault proxy on
// every link), driven at 50% of their measured peak for 30 minutes (configurable, see soak-options.ts) while latency
// spikes and short cuts hit their broker and database links. Samples RSS, handles, Postgres connections, outbox and
// lag over time; at the end reconciles every committed write (0 lost, 0 doubled), prints a table, writes
// e2e/soak/results/<label>.json and exits non-zero, saying which criterion failed, when one did.
import { writeFileSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import { FaultLab, FaultPlatform } from '../faults/fault-lab.js';
import { reconcile } from '../faults/ledger.js';
import { Workload } from '../faults/workload.js';
import { FaultSchedule } from './fault-schedule.js';
import { evaluateSoak } from './soak-criteria.js';
import { parseSoakOptions, type SoakOptions } from './soak-options.js';
import { renderSoakPlot } from './soak-plot.js';
import { formatSoakTable, machineInfo, type SoakResults, writeSoakResults } from './soak-report.js';
import { SoakSampler } from './soak-sampler.js';

/** The preflight drives the platform closed-loop (as fast as it answers) this long to find its peak. */
const PREFLIGHT_MS = 20_000;
const PREFLIGHT_CONCURRENCY = 16;
const SOAK_CONCURRENCY = 12;
/** How long the backlog may take to drain once the traffic stops (and after the preflight). */
const DRAIN_TIMEOUT_MS = 180_000;
const SERVICES = ['users', 'orders'] as const;
/** RSS growth is judged over at least 5 minutes after warm-up (see SoakCriteria.minRssSpanSeconds). */
const MIN_RSS_SPAN_SECONDS = 300;

function log(message: string): void {
  process.stdout.write(`soak: ${message}\n`);
}

/** Peak operations per second the platform acknowledges with 201, driven closed-loop through the fault proxies. */
async function measurePeak(platform: FaultPlatform): Promise<number> {
  const burst = new Workload(platform, { ratePerSecond: 100_000, concurrency: PREFLIGHT_CONCURRENCY, userShare: 0.25 });
  await burst.seedCustomers(20);
  const before = burst.tally.acknowledged;
  const started = Date.now();
  burst.start();
  await sleep(PREFLIGHT_MS);
  await burst.stop();
  return ((burst.tally.acknowledged - before) * 1000) / (Date.now() - started);
}

async function waitForDrain(sampler: SoakSampler, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let lag = await sampler.lag();
  while (lag > 0) {
    if (Date.now() > deadline) throw new Error(`the preflight's backlog (${lag}) did not drain in ${timeoutMs} ms`);
    await sleep(500);
    lag = await sampler.lag();
  }
}

async function soak(options: SoakOptions, platform: FaultPlatform): Promise<SoakResults> {
  const startedAt = new Date().toISOString();
  const machine = machineInfo();
  let peak: number | null = null;
  if (options.rate === undefined) {
    log(`preflight: ${PREFLIGHT_MS / 1000} s closed-loop with ${PREFLIGHT_CONCURRENCY} clients to measure the peak`);
    peak = Math.round(await measurePeak(platform));
    log(`preflight: peak ${peak} ops/s acknowledged; waiting for its backlog to drain`);
    await waitForDrain(new SoakSampler(platform, Date.now(), 1_000), DRAIN_TIMEOUT_MS);
  }
  const rate = options.rate ?? Math.max(1, Math.round(peak! / 2));
  const lagBound = options.lagBound ?? Math.max(100, Math.round(rate * 60));

  const workload = new Workload(platform, { ratePerSecond: rate, concurrency: SOAK_CONCURRENCY, userShare: 0.25 });
  await workload.seedCustomers(20);
  const began = Date.now();
  const sampler = new SoakSampler(platform, began, options.sampleEveryMs);
  const faults = new FaultSchedule(platform, began, options.faultEveryMs, options.durationMs - options.faultEveryMs);
  log(`${options.durationMs / 60_000} min at ${rate} ops/s, a fault every ${options.faultEveryMs / 1000} s`);
  sampler.start();
  workload.start();
  faults.start();
  const progress = setInterval(() => {
    const last = sampler.samples.at(-1);
    if (last) log(`t=${last.t.toFixed(0)} s lag=${last.lag} rss=${JSON.stringify(last.rssMb)}`);
  }, 60_000);
  try {
    await sleep(options.durationMs);
  } finally {
    clearInterval(progress);
    await workload.stop();
    await faults.stop();
    await sampler.stop();
  }
  const trafficEndedAt = Date.now();
  log('traffic over; reconciling every committed write against its effect');
  const ledger = await reconcile(platform, workload.tally, trafficEndedAt, DRAIN_TIMEOUT_MS);
  const soakLedger = {
    lost: ledger.lost,
    lostAcknowledged: ledger.lostAcknowledged,
    duplicated: ledger.duplicated,
    crashes: platform.crashes(),
    drainedAfterMs: ledger.caughtUpAfterMs,
    drained: ledger.lost === 0,
  };
  const verdict = evaluateSoak(
    sampler.samples,
    soakLedger,
    { warmupSeconds: options.warmupMs / 1000, maxRssGrowth: 0.1, minRssSpanSeconds: MIN_RSS_SPAN_SECONDS, lagBound },
    SERVICES,
  );
  const { attempted, acknowledged, failed, failures } = workload.tally;
  return {
    label: options.label,
    startedAt,
    finishedAt: new Date().toISOString(),
    machine,
    durationSeconds: options.durationMs / 1000,
    warmupSeconds: options.warmupMs / 1000,
    lagBound,
    rate: {
      opsPerSecond: rate,
      source: options.rate === undefined ? 'preflight' : 'flag',
      preflightPeakOpsPerSecond: peak,
    },
    operations: { attempted, acknowledged, failed, failures },
    committed: ledger.committed,
    faults: faults.injected,
    samples: sampler.samples,
    ledger: soakLedger,
    verdict: {
      ...verdict,
      failures: [...verdict.failures, ...ledger.examples.map((example) => `example: ${example}`)],
    },
  };
}

async function main(): Promise<number> {
  let options: SoakOptions;
  try {
    options = parseSoakOptions(process.argv.slice(2), process.env);
  } catch (error) {
    process.stderr.write(`${(error as Error).message}\n`);
    return 2;
  }
  log('starting a private RabbitMQ and Postgres, then both services');
  const lab = await FaultLab.start();
  let platform: FaultPlatform | undefined;
  // Ctrl-C still removes the private servers and the service processes.
  const interrupted = (): void => void Promise.allSettled([platform?.stop(), lab.stop()]).then(() => process.exit(130));
  process.once('SIGINT', interrupted).once('SIGTERM', interrupted);
  try {
    // Warnings only: a 30-minute run at info level would pile hundreds of MB of request logs into this process.
    platform = await FaultPlatform.start(lab, `soak_${Date.now().toString(36)}`, { extraEnv: { LOG_LEVEL: 'warn' } });
    const results = await soak(options, platform);
    const file = writeSoakResults(results);
    const plot = file.replace(/\.json$/, '.png');
    writeFileSync(plot, renderSoakPlot(results));
    process.stdout.write(`\n${formatSoakTable(results)}\nresults: ${file}, plot: ${plot}\n`);
    return results.verdict.passed ? 0 : 1;
  } finally {
    await platform?.stop();
    await lab.stop();
  }
}

main().then(
  (code) => process.exit(code),
  (error: unknown) => {
    process.stderr.write(`soak: FAIL: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
    process.exit(1);
  },
);
