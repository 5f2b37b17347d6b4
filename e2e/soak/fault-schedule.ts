// The faults a soak injects while it runs: a latency spike or a short cut on one of the services' broker and
// database links, one at a time, at a fixed interval, in rotation so every link gets each kind.
import { setTimeout as sleep } from 'node:timers/promises';
import type { FaultPlatform, ServiceName } from '../faults/fault-lab.js';

export interface InjectedFault {
  /** Seconds since the soak traffic started. */
  t: number;
  link: string;
  kind: 'latency' | 'cut';
  /** Extra delay per chunk for a latency spike. */
  latencyMs?: number;
  durationMs: number;
}

interface FaultStep {
  service: ServiceName;
  link: 'brokerLink' | 'databaseLink';
  kind: 'latency' | 'cut';
  latencyMs?: number;
}

/** Latency spikes last 8 s; cuts 3 s (every connection reset, new ones refused), short enough to be "short". */
const SPIKE_MS = 8_000;
const CUT_MS = 3_000;

const ROTATION: FaultStep[] = [
  { service: 'orders', link: 'brokerLink', kind: 'latency', latencyMs: 250 },
  { service: 'users', link: 'databaseLink', kind: 'cut' },
  { service: 'users', link: 'brokerLink', kind: 'latency', latencyMs: 250 },
  { service: 'orders', link: 'databaseLink', kind: 'cut' },
  { service: 'orders', link: 'brokerLink', kind: 'cut' },
  { service: 'users', link: 'databaseLink', kind: 'latency', latencyMs: 100 },
  { service: 'users', link: 'brokerLink', kind: 'cut' },
  { service: 'orders', link: 'databaseLink', kind: 'latency', latencyMs: 100 },
];

/**
 * Injects one fault every `everyMs` from the first interval on, until `stop()`; the last one starts no later than
 * `lastStartMs` after `startedAt`, so the run ends on healthy links. Each fault restores its link when it is over.
 */
export class FaultSchedule {
  readonly injected: InjectedFault[] = [];
  private stopped = false;
  private loop: Promise<void> | undefined;
  private wake: AbortController = new AbortController();

  constructor(
    private readonly platform: FaultPlatform,
    private readonly startedAt: number,
    private readonly everyMs: number,
    private readonly lastStartMs: number,
  ) {}

  start(): void {
    this.loop = this.run();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.wake.abort();
    await this.loop;
  }

  private async run(): Promise<void> {
    for (let index = 0; !this.stopped; index++) {
      const due = this.startedAt + (index + 1) * this.everyMs;
      if (due - this.startedAt > this.lastStartMs) return;
      await sleep(Math.max(0, due - Date.now()), undefined, { signal: this.wake.signal }).catch(() => undefined);
      if (this.stopped) return;
      await this.inject(ROTATION[index % ROTATION.length]!);
    }
  }

  private async inject(step: FaultStep): Promise<void> {
    const proxy = this.platform.services[step.service][step.link];
    const durationMs = step.kind === 'cut' ? CUT_MS : SPIKE_MS;
    this.injected.push({
      t: (Date.now() - this.startedAt) / 1000,
      link: proxy.name,
      kind: step.kind,
      ...(step.latencyMs === undefined ? {} : { latencyMs: step.latencyMs }),
      durationMs,
    });
    if (step.kind === 'cut') proxy.setMode({ kind: 'reset' });
    else proxy.latency(step.latencyMs!);
    try {
      // Not cut short by stop(): the link is always restored after the fault's full length.
      await sleep(durationMs);
    } finally {
      proxy.passThrough();
    }
  }
}
