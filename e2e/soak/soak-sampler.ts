// What the soak records over time, per service: RSS from /proc, handles and heap from its /metrics, the
// connections it holds on Postgres and its unsent outbox from the databases (read directly, never through a
// fault proxy), and the end-to-end lag. A probe that does not answer in time leaves a gap (null), never a hang.
import { readFileSync } from 'node:fs';
import type { FaultPlatform, ServiceName } from '../faults/fault-lab.js';
import type { SoakSample } from './soak-criteria.js';

const SERVICES: readonly ServiceName[] = ['users', 'orders'];
/** A sample is a handful of small reads: a probe slower than this is left out of the sample. */
const PROBE_TIMEOUT_MS = 5_000;

function withDeadline<T>(what: string, promise: Promise<T>): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what}: no answer within ${PROBE_TIMEOUT_MS} ms`)), PROBE_TIMEOUT_MS);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

/** VmRSS (current, unlike the fault suite's VmHWM peak) of a process, MiB; undefined once it has exited. */
function rssMb(pid: number | undefined): number | undefined {
  if (pid === undefined) return undefined;
  try {
    const kb = Number(/^VmRSS:\s+(\d+)/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1]);
    return Number.isFinite(kb) ? Math.round(kb / 102.4) / 10 : undefined;
  } catch {
    return undefined;
  }
}

/** Sum of every series of one metric in a Prometheus text exposition, optionally only series whose labels pass. */
export function sumMetric(text: string, name: string, keep: (labels: string) => boolean = () => true): number | null {
  let total: number | null = null;
  for (const match of text.matchAll(new RegExp(`^${name}(?:\\{([^}]*)\\})? ([0-9.eE+-]+)$`, 'gm'))) {
    if (!keep(match[1] ?? '')) continue;
    total = (total ?? 0) + Number(match[2]);
  }
  return total;
}

const notDeadLetter = (labels: string): boolean => !/queue="[^"]*(dlq|dead)[^"]*"/i.test(labels);

export class SoakSampler {
  readonly samples: SoakSample[] = [];
  private timer: NodeJS.Timeout | undefined;
  private sampling: Promise<void> | undefined;

  constructor(
    private readonly platform: FaultPlatform,
    private readonly startedAt: number,
    private readonly everyMs: number,
  ) {}

  start(): void {
    void this.sample();
    this.timer = setInterval(() => void this.sample(), this.everyMs);
  }

  async stop(): Promise<void> {
    clearInterval(this.timer);
    await this.sampling;
  }

  /** The end-to-end lag now: committed writes whose effect has not arrived downstream. */
  async lag(): Promise<number> {
    // Effects first, sources after: a write committed and applied between two counts can then only add to the lag,
    // never make it negative (counting sources first gave -1 now and then in the first 30-minute run).
    const [profiles] = await this.count('orders', 'SELECT count(*)::int AS n FROM customer_profiles');
    const [placed] = await this.count(
      'users',
      'SELECT count(*)::int AS n FROM user_orders WHERE placed_at IS NOT NULL',
    );
    const [users] = await this.count('users', 'SELECT count(*)::int AS n FROM users');
    const [orders] = await this.count('orders', 'SELECT count(*)::int AS n FROM orders');
    return users!.n - profiles!.n + (orders!.n - placed!.n);
  }

  private count(service: ServiceName, sql: string, params: unknown[] = []): Promise<Array<{ n: number }>> {
    return withDeadline(`${service}: ${sql}`, this.platform.query<{ n: number }>(service, sql, params));
  }

  private sample(): Promise<void> {
    // A sample still running when the next is due is not doubled up: the next interval is skipped instead.
    this.sampling ??= this.take()
      .catch((error: unknown) => {
        process.stderr.write(`soak: sample skipped: ${String(error)}\n`);
      })
      .finally(() => {
        this.sampling = undefined;
      });
    return this.sampling;
  }

  private async take(): Promise<void> {
    const t = Math.round((Date.now() - this.startedAt) / 100) / 10;
    const sample: SoakSample = {
      t,
      rssMb: {},
      heapUsedMb: {},
      handles: {},
      resources: {},
      dbConnections: {},
      dbConnectionsByApp: {},
      outboxPending: {},
      queueDepth: {},
      lag: 0,
    };
    for (const name of SERVICES) {
      const service = this.platform.services[name];
      const rss = rssMb(service.process.child.pid);
      if (rss !== undefined) sample.rssMb[name] = rss;
      const metrics = await fetch(`${service.metricsUrl}/metrics`, { signal: AbortSignal.timeout(PROBE_TIMEOUT_MS) })
        .then((response) => response.text())
        .catch(() => '');
      const heap = sumMetric(metrics, 'nodejs_heap_size_used_bytes');
      sample.heapUsedMb[name] = heap === null ? null : Math.round(heap / 104_857.6) / 10;
      sample.handles[name] = sumMetric(metrics, 'nodejs_active_handles');
      sample.resources[name] = sumMetric(metrics, 'nodejs_active_resources');
      sample.queueDepth[name] = sumMetric(metrics, 'messaging_queue_depth', notDeadLetter);
      // Every pool of the service at once (Prisma's, the relay's, LISTEN, metrics), by the application name it sets.
      const pools = await withDeadline(
        `${name}: pg_stat_activity`,
        this.platform.query<{ app: string; n: number }>(
          name,
          `SELECT application_name AS app, count(*)::int AS n FROM pg_stat_activity
            WHERE datname = $1 AND pid <> pg_backend_pid() GROUP BY 1 ORDER BY 1`,
          [service.database],
        ),
      );
      sample.dbConnections[name] = pools.reduce((sum, row) => sum + row.n, 0);
      sample.dbConnectionsByApp[name] = Object.fromEntries(pools.map((row) => [row.app || '(unnamed)', row.n]));
      const [pending] = await this.count(name, 'SELECT count(*)::int AS n FROM outbox_events WHERE sent_at IS NULL');
      sample.outboxPending[name] = pending!.n;
    }
    sample.lag = await this.lag();
    this.samples.push(sample);
  }
}
