// The soak's pass/fail verdict, from its samples and its ledger alone (no I/O), so a unit test can check it.

/** One sampling instant of the soak. */
export interface SoakSample {
  /** Seconds since the soak traffic started. */
  t: number;
  /** Resident set size (VmRSS) per service, MiB. */
  rssMb: Record<string, number>;
  /** Heap used per service, MiB (prom-client's `nodejs_heap_size_used_bytes`). */
  heapUsedMb: Record<string, number | null>;
  /** Open handles and active resources per service (prom-client's `nodejs_active_handles`/`_resources`, summed). */
  handles: Record<string, number | null>;
  resources: Record<string, number | null>;
  /** Connections the service holds on Postgres (pg_stat_activity of its database): all its pools together. */
  dbConnections: Record<string, number>;
  /** The same by `application_name`: one entry per pool or client (the Prisma adapter's, the relay's, …). */
  dbConnectionsByApp: Record<string, Record<string, number>>;
  /** Outbox rows committed but not yet published, per service (read directly from its database). */
  outboxPending: Record<string, number>;
  /** Messages ready in the service's work and retry queues (its `messaging_queue_depth`, dead-letter queues aside). */
  queueDepth: Record<string, number | null>;
  /**
   * Consumer lag end to end: writes committed at the source whose effect has not reached the consumer yet
   * (users without a customer profile + orders without a statistics row). Counts outbox, broker and retries alike.
   */
  lag: number;
}

export interface SoakLedger {
  lost: number;
  lostAcknowledged: number;
  duplicated: number;
  crashes: string[];
  /** From the end of the traffic until the lag was 0 (or the wait ran out: then `drained` is false). */
  drainedAfterMs: number;
  drained: boolean;
}

export interface SoakCriteria {
  /** Samples before this many seconds are warm-up: JIT, pools and caches filling up are not growth. */
  warmupSeconds: number;
  /** RSS after warm-up must grow less than this fraction (0.1 = 10%). */
  maxRssGrowth: number;
  /**
   * RSS growth is judged only over at least this many seconds after warm-up: over a minute or two the sawtooth
   * (±20% here) is larger than any leak could be, so a short run (CI's 2 minutes) reports it without judging it.
   */
  minRssSpanSeconds: number;
  /** The largest lag allowed in the last third of the run (events). */
  lagBound: number;
}

export interface RssGrowth {
  /** The least-squares line through the post-warm-up samples, at the end of the warm-up and at the last sample. */
  baselineMb: number;
  finalMb: number;
  growth: number;
  /** Seconds from the end of the warm-up to the last sample. */
  spanSeconds: number;
  /** False when the span is shorter than `minRssSpanSeconds`: the growth is reported, not judged. */
  judged: boolean;
}

export interface SoakVerdict {
  passed: boolean;
  /** One line per failed criterion, saying which and by how much. */
  failures: string[];
  rss: Record<string, RssGrowth>;
  maxLagLastThird: number;
  maxLag: number;
}

/**
 * RSS growth of one service after warm-up, from the least-squares line through every post-warm-up sample rather
 * than from two samples or windows: a Node service's RSS is a sawtooth (GC, and the allocator handing 100+ MiB back
 * to the OS at once), and only a trend across the whole run says whether its floor rises.
 */
export function rssGrowth(
  samples: SoakSample[],
  service: string,
  warmupSeconds: number,
  minSpanSeconds = 0,
): RssGrowth | undefined {
  const points = samples
    .filter((sample) => sample.t >= warmupSeconds && sample.rssMb[service] !== undefined)
    .map((sample) => [sample.t, sample.rssMb[service]!] as const);
  if (points.length < 6) return undefined;
  const meanT = points.reduce((sum, [t]) => sum + t, 0) / points.length;
  const meanMb = points.reduce((sum, [, mb]) => sum + mb, 0) / points.length;
  const slope =
    points.reduce((sum, [t, mb]) => sum + (t - meanT) * (mb - meanMb), 0) /
    points.reduce((sum, [t]) => sum + (t - meanT) ** 2, 0);
  const at = (t: number): number => meanMb + slope * (t - meanT);
  const start = points[0]![0];
  const end = points.at(-1)![0];
  const baselineMb = at(start);
  const finalMb = at(end);
  return {
    baselineMb,
    finalMb,
    growth: finalMb / baselineMb - 1,
    spanSeconds: end - start,
    judged: end - start >= minSpanSeconds,
  };
}

export function evaluateSoak(
  samples: SoakSample[],
  ledger: SoakLedger,
  criteria: SoakCriteria,
  services: readonly string[],
): SoakVerdict {
  const failures: string[] = [];
  const rss: Record<string, RssGrowth> = {};
  for (const service of services) {
    const growth = rssGrowth(samples, service, criteria.warmupSeconds, criteria.minRssSpanSeconds);
    if (!growth) {
      failures.push(`RSS of ${service}: fewer than 6 samples after the ${criteria.warmupSeconds} s warm-up`);
      continue;
    }
    rss[service] = growth;
    if (growth.judged && growth.growth >= criteria.maxRssGrowth)
      failures.push(
        `RSS of ${service} grew ${(growth.growth * 100).toFixed(1)}% after warm-up ` +
          `(${growth.baselineMb.toFixed(1)} → ${growth.finalMb.toFixed(1)} MiB; limit ${criteria.maxRssGrowth * 100}%)`,
      );
  }

  const end = samples.at(-1)?.t ?? 0;
  const lastThird = samples.filter((sample) => sample.t >= (end * 2) / 3);
  const maxLagLastThird = Math.max(0, ...lastThird.map((sample) => sample.lag));
  const maxLag = Math.max(0, ...samples.map((sample) => sample.lag));
  if (maxLagLastThird > criteria.lagBound)
    failures.push(
      `lag not bounded: ${maxLagLastThird} events in the last third of the run (bound ${criteria.lagBound})`,
    );
  if (!ledger.drained) failures.push(`lag did not drain: backlog left ${ledger.drainedAfterMs} ms after the traffic`);

  if (ledger.lost + ledger.lostAcknowledged > 0)
    failures.push(`${ledger.lost} events lost, ${ledger.lostAcknowledged} acknowledged writes not committed`);
  if (ledger.duplicated > 0) failures.push(`${ledger.duplicated} events doubled`);
  if (ledger.crashes.length > 0) failures.push(`${ledger.crashes.length} crashes: ${ledger.crashes[0]}`);

  return { passed: failures.length === 0, failures, rss, maxLagLastThird, maxLag };
}
