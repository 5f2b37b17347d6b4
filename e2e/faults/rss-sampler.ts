import { readFileSync } from 'node:fs';
import type { ServiceProcess } from '@switchyard/testing';

const SAMPLE_INTERVAL_MS = 250;

/**
 * Peak resident memory per service, from /proc/<pid>/status: VmHWM is the kernel's own high-water mark, so a spike
 * between two samples still counts; sampling only keeps the value of processes that are later killed.
 */
export class RssSampler {
  private readonly processes: Array<{ name: string; process: ServiceProcess }> = [];
  private readonly peakKb = new Map<string, number>();
  private timer: NodeJS.Timeout | undefined;

  track(name: string, process: ServiceProcess): void {
    this.processes.push({ name, process });
    this.sample();
  }

  start(): void {
    this.timer ??= setInterval(() => this.sample(), SAMPLE_INTERVAL_MS);
  }

  stop(): void {
    this.sample();
    clearInterval(this.timer);
    this.timer = undefined;
  }

  /** Peak RSS in MiB per service name (the highest over every process that service ran as). */
  peaksMb(): Record<string, number> {
    this.sample();
    return Object.fromEntries([...this.peakKb].map(([name, kb]) => [name, Math.round(kb / 102.4) / 10]));
  }

  private sample(): void {
    for (const { name, process } of this.processes) {
      const pid = process.child.pid;
      if (pid === undefined || process.child.exitCode !== null || process.child.signalCode !== null) continue;
      let status: string;
      try {
        status = readFileSync(`/proc/${pid}/status`, 'utf8');
      } catch {
        continue;
      }
      const kb = Number(/^VmHWM:\s+(\d+)/m.exec(status)?.[1] ?? 0);
      this.peakKb.set(name, Math.max(this.peakKb.get(name) ?? 0, kb));
    }
  }
}
