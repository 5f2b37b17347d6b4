import { randomUUID } from 'node:crypto';
import { performance } from 'node:perf_hooks';

/** What became of every event sent in one phase: the zero-loss check counts exact ids, not totals. */
export interface DeliveryAccount {
  sent: number;
  delivered: number;
  /** Sent ids never delivered before the drain deadline. */
  lost: number;
  /** Deliveries of an id already delivered (at-least-once redelivery; the inbox makes the effect single). */
  duplicates: number;
  /** Deliveries of ids this phase never sent (leftovers of an earlier phase would show here). */
  unexpected: number;
}

/**
 * Hands out event ids with the time each event was due, and records when each one reached the consumer.
 * Latency is delivery time minus due time, so an open-loop run that falls behind shows the wait it caused
 * (no coordinated omission).
 */
export class DeliveryTracker {
  private readonly dueAt = new Map<string, number>();
  private readonly deliveredAt = new Map<string, number>();
  private duplicates = 0;
  private unexpected = 0;
  private waiters: Array<() => void> = [];
  /** Intermediate stages some subjects report (outbox committed, relay confirmed, …), in the order first seen. */
  private readonly stages = new Map<string, Map<string, number>>();

  /** A new event id, due at `dueAt` (performance.now() time; default now). */
  next(dueAt: number = performance.now()): string {
    const id = randomUUID();
    this.dueAt.set(id, dueAt);
    return id;
  }

  /** Call from the consumer once the event is handled (after the ack decision, or the inbox commit). */
  delivered(id: string): void {
    const now = performance.now();
    if (!this.dueAt.has(id)) this.unexpected++;
    else if (this.deliveredAt.has(id)) this.duplicates++;
    else this.deliveredAt.set(id, now);
    const waiters = this.waiters;
    this.waiters = [];
    for (const wake of waiters) wake();
  }

  /** Records that event `id` passed `stage` now (for a per-stage latency breakdown). */
  stage(stage: string, id: string): void {
    let times = this.stages.get(stage);
    if (!times) this.stages.set(stage, (times = new Map()));
    if (!times.has(id)) times.set(id, performance.now());
  }

  /** Per stage, the latencies (ms) from due time to that stage, of events delivered inside [from, to). */
  stageLatencies(from = -Infinity, to = Infinity): Map<string, number[]> {
    const out = new Map<string, number[]>();
    for (const [stage, times] of this.stages) {
      const list: number[] = [];
      for (const [id, at] of this.deliveredAt) {
        const reached = times.get(id);
        if (at >= from && at < to && reached !== undefined) list.push(reached - this.dueAt.get(id)!);
      }
      out.set(stage, list);
    }
    return out;
  }

  get sentCount(): number {
    return this.dueAt.size;
  }

  get deliveredCount(): number {
    return this.deliveredAt.size;
  }

  /** Resolves at the next delivery, or after `timeoutMs` (so a lost event cannot hang the driver). */
  nextDelivery(timeoutMs = 1_000): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(resolve, timeoutMs);
      this.waiters.push(() => {
        clearTimeout(timer);
        resolve();
      });
    });
  }

  /** Waits until every sent id is delivered or `timeoutMs` passes without any progress. */
  async drained(timeoutMs: number): Promise<void> {
    let last = this.deliveredCount;
    let lastProgressAt = performance.now();
    while (this.deliveredCount < this.sentCount) {
      await this.nextDelivery(250);
      if (this.deliveredCount !== last) {
        last = this.deliveredCount;
        lastProgressAt = performance.now();
      } else if (performance.now() - lastProgressAt > timeoutMs) {
        return;
      }
    }
  }

  /** Latencies (ms) of the events delivered inside [from, to) (all when omitted). */
  latencies(from = -Infinity, to = Infinity): number[] {
    const out: number[] = [];
    for (const [id, at] of this.deliveredAt) if (at >= from && at < to) out.push(at - this.dueAt.get(id)!);
    return out;
  }

  /** Deliveries that happened inside [from, to). */
  deliveredBetween(from: number, to: number): number {
    let n = 0;
    for (const at of this.deliveredAt.values()) if (at >= from && at < to) n++;
    return n;
  }

  account(): DeliveryAccount {
    return {
      sent: this.sentCount,
      delivered: this.deliveredCount,
      lost: this.sentCount - this.deliveredCount,
      duplicates: this.duplicates,
      unexpected: this.unexpected,
    };
  }
}
