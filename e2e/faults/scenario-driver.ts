// Runs one scenario the same way every time: fresh platform, seeded customers, a stream of operations, the fault
// once a third of them has started, recovery, the rest of the stream, then the ledger against the databases.
import { setTimeout as sleep } from 'node:timers/promises';
import { type FaultLab, FaultPlatform, type PlatformOptions } from './fault-lab.js';
import { scenarioResult, type ScenarioResult } from './fault-report.js';
import { reconcile } from './ledger.js';
import { Workload, type WorkloadOptions } from './workload.js';

/** `FAULTS_FULL=1`: thousands of operations and the full 30 s outages; otherwise a bounded run for CI and `npm test`. */
export const FULL = process.env.FAULTS_FULL === '1';
export const MODE = FULL ? 'full' : 'bounded';

export const SETTINGS = FULL
  ? {
      operations: 3_000,
      seededCustomers: 50,
      blackholeMs: 30_000,
      memoryAlarmMs: 30_000,
      brokerDownMs: 15_000,
      catchUpTimeoutMs: 240_000,
    }
  : // Bounded: hundreds of operations; the blackhole still outlasts two heartbeats (2 × 5 s), so the dead link is really detected.
    {
      operations: 300,
      seededCustomers: 20,
      blackholeMs: 15_000,
      memoryAlarmMs: 10_000,
      brokerDownMs: 5_000,
      catchUpTimeoutMs: 120_000,
    };

const WORKLOAD: WorkloadOptions = FULL
  ? { ratePerSecond: 120, concurrency: 12, userShare: 0.25 }
  : { ratePerSecond: 60, concurrency: 8, userShare: 0.25 };

/** What a scenario does to the platform; it returns once the fault is over (restarted, restored). */
export type Fault = (platform: FaultPlatform, workload: Workload) => Promise<void>;

export async function runScenario(
  lab: FaultLab,
  scenario: string,
  description: string,
  fault: Fault,
  platformOptions: PlatformOptions = {},
): Promise<ScenarioResult> {
  const started = Date.now();
  const label = `${scenario.replace(/\W/g, '_')}_${started.toString(36)}`;
  const platform = await FaultPlatform.start(lab, label, platformOptions);
  try {
    const workload = new Workload(platform, WORKLOAD);
    await workload.seedCustomers(SETTINGS.seededCustomers);
    workload.start();
    let faultStartedAt = 0;
    let faultEndedAt = 0;
    let readyAgainAt = 0;
    try {
      await workload.untilAttempted(Math.round(SETTINGS.operations / 3));
      faultStartedAt = Date.now();
      await fault(platform, workload);
      faultEndedAt = Date.now();
      await waitUntil('both services ready again', () => platform.ready(), 120_000).catch(async (error: unknown) => {
        throw new Error(`${String(error)}\n${await platform.diagnose()}`);
      });
      readyAgainAt = Date.now();
    } finally {
      await workload.untilAttempted(SETTINGS.operations).catch(() => undefined);
      await workload.stop();
    }
    const readyAgainAfterMs = readyAgainAt - faultEndedAt;
    const ledger = await reconcile(platform, workload.tally, Date.now(), SETTINGS.catchUpTimeoutMs);
    return scenarioResult(
      scenario,
      description,
      workload.tally,
      ledger,
      { readyAgainAfterMs, faultDurationMs: faultEndedAt - faultStartedAt, durationMs: Date.now() - started },
      {
        peakRssMb: platform.rss.peaksMb(),
        consumedByOutcome: await platform.consumedByOutcome(),
        evidence: platform.evidence,
      },
      platform.crashes(),
    );
  } finally {
    await platform.stop();
  }
}

export async function waitUntil(
  what: string,
  probe: () => Promise<boolean>,
  timeoutMs: number,
  intervalMs = 100,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await probe())) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting until ${what}`);
    await sleep(intervalMs);
  }
}
