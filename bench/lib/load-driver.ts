import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import { type DeliveryAccount, DeliveryTracker } from './delivery-tracker.js';
import { type LatencySummary, summariseLatencies } from './latency-stats.js';
import { measureResources, type ResourceUsage } from './resource-usage.js';

/**
 * The system under test as the driver sees it: a way in (send) and, wired at construction, a way out (the
 * consumer calls `tracker.delivered(id)`). `send` applies the subject's own backpressure: it resolves when the
 * subject can take the next event (after the confirm for wait-per-message, when the window has room, …).
 */
export interface BenchSubject {
  send(id: string): Promise<void>;
  /** Nothing more is due right now: push out a partial batch. */
  idle?(): Promise<void>;
  /** Resolves once everything sent has been accepted (confirmed, committed). */
  flush(): Promise<void>;
  close(): Promise<void>;
}

function stageSummaries(
  tracker: DeliveryTracker,
  from?: number,
  to?: number,
): Record<string, LatencySummary> | undefined {
  const stages = tracker.stageLatencies(from, to);
  if (stages.size === 0) return undefined;
  return Object.fromEntries([...stages].map(([stage, list]) => [stage, summariseLatencies(list)]));
}

/** Builds a fresh subject around a tracker (one per phase, so phases never count each other's deliveries). */
export type SubjectFactory = (tracker: DeliveryTracker) => Promise<BenchSubject>;

export interface PhaseResult {
  /** `peak` (closed loop) or the paced share of the peak, e.g. `50%`. */
  phase: string;
  /** Offered rate in events/s (paced phases only). */
  targetRate: number | null;
  /** Deliveries per second inside the measured window. */
  eventsPerSecond: number;
  seconds: number;
  latency: LatencySummary;
  /** Due time → each intermediate stage the subject reports (cumulative), for subjects with stages. */
  stages?: Record<string, LatencySummary>;
  account: DeliveryAccount;
  resources: ResourceUsage;
}

export interface LoadPlan {
  /** Measured seconds of the closed-loop peak run (after the warm-up). */
  peakSeconds: number;
  warmupSeconds: number;
  /** Seconds of each paced run. */
  pacedSeconds: number;
  /** Shares of the peak to pace at. */
  pacedShares: readonly number[];
  /** Closed loop: at most this many events sent but not yet delivered, so the peak is sustained, not a backlog. */
  maxInFlight: number;
  /** How long a drain may go without progress before the missing events count as lost. */
  drainTimeoutMs: number;
}

/** Default plan: about 25 s per scenario, so `npm run bench` stays within its budget. `BENCH_SCALE` scales the durations. */
export function defaultLoadPlan(): LoadPlan {
  const scale = Number(process.env.BENCH_SCALE ?? 1);
  return {
    peakSeconds: 6 * scale,
    warmupSeconds: Math.max(0.5, 1.5 * scale),
    pacedSeconds: 4 * scale,
    pacedShares: [0.25, 0.5, 0.9],
    maxInFlight: 1_000,
    drainTimeoutMs: 15_000,
  };
}

/**
 * Closed loop: sends as fast as the subject accepts, holding at most `maxInFlight` events undelivered, for the
 * warm-up plus the measured window; the rate is the deliveries inside the window.
 */
async function runPeak(factory: SubjectFactory, plan: LoadPlan): Promise<PhaseResult> {
  const tracker = new DeliveryTracker();
  const subject = await factory(tracker);
  const start = performance.now();
  const measureFrom = start + plan.warmupSeconds * 1000;
  const measureTo = measureFrom + plan.peakSeconds * 1000;
  let resources: ReturnType<typeof measureResources> | undefined;
  let sinceYield = 0;
  while (performance.now() < measureTo) {
    if (!resources && performance.now() >= measureFrom) resources = measureResources();
    if (tracker.sentCount - tracker.deliveredCount >= plan.maxInFlight) {
      await subject.idle?.();
      await tracker.nextDelivery(50);
      continue;
    }
    await subject.send(tracker.next());
    // Let socket I/O in: a subject that accepts synchronously must not starve its own consumer.
    if (++sinceYield >= 64) {
      sinceYield = 0;
      await new Promise((resolve) => setImmediate(resolve));
    }
  }
  const usage = (resources ?? measureResources()).stop();
  await subject.idle?.();
  await subject.flush();
  await tracker.drained(plan.drainTimeoutMs);
  await subject.close();
  return {
    phase: 'peak',
    targetRate: null,
    eventsPerSecond: Math.round(tracker.deliveredBetween(measureFrom, measureTo) / plan.peakSeconds),
    seconds: plan.peakSeconds,
    latency: summariseLatencies(tracker.latencies(measureFrom, measureTo)),
    stages: stageSummaries(tracker, measureFrom, measureTo),
    account: tracker.account(),
    resources: usage,
  };
}

/** Open loop: event i is due at start + i/rate whatever happened before; latency counts from that due time. */
async function runPaced(factory: SubjectFactory, plan: LoadPlan, share: number, rate: number): Promise<PhaseResult> {
  const tracker = new DeliveryTracker();
  const subject = await factory(tracker);
  const total = Math.max(1, Math.round(rate * plan.pacedSeconds));
  const interval = 1000 / rate;
  const resources = measureResources();
  const start = performance.now();
  let i = 0;
  while (i < total) {
    const due = Math.min(total, Math.floor((performance.now() - start) / interval) + 1);
    while (i < due) {
      await subject.send(tracker.next(start + i * interval));
      i++;
    }
    await subject.idle?.();
    // Never a busy loop: at high rates one timer tick sends every event that fell due meanwhile.
    await sleep(Math.max(1, start + i * interval - performance.now()));
  }
  await subject.flush();
  await tracker.drained(plan.drainTimeoutMs);
  const seconds = (performance.now() - start) / 1000;
  const usage = resources.stop();
  await subject.close();
  return {
    phase: `${Math.round(share * 100)}%`,
    targetRate: Math.round(rate),
    eventsPerSecond: Math.round(tracker.deliveredCount / seconds),
    seconds: Math.round(seconds * 100) / 100,
    latency: summariseLatencies(tracker.latencies()),
    stages: stageSummaries(tracker),
    account: tracker.account(),
    resources: usage,
  };
}

/** The peak, then paced runs at each share of it. */
export async function runLoad(factory: SubjectFactory, plan: LoadPlan = defaultLoadPlan()): Promise<PhaseResult[]> {
  const peak = await runPeak(factory, plan);
  const phases = [peak];
  for (const share of plan.pacedShares) {
    if (peak.eventsPerSecond <= 0) break;
    phases.push(await runPaced(factory, plan, share, peak.eventsPerSecond * share));
  }
  return phases;
}
