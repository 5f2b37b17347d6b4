import { RequeueBackoff } from './requeue-backoff.js';

/** How a queue schedules delayed work; tests pass fake timers. */
export interface QueueTimers {
  setTimeout(callback: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
  now(): number;
}

const realTimers: QueueTimers = {
  setTimeout: (callback, ms) => setTimeout(callback, ms),
  clearTimeout: (handle) => clearTimeout(handle as NodeJS.Timeout),
  now: () => Date.now(),
};

export interface WorkQueueOptions {
  backoff?: RequeueBackoff;
  timers?: QueueTimers;
}

interface DelayedAdd {
  handle: unknown;
  dueAt: number;
}

/**
 * The controller work queue, with client-go's guarantees: a key is queued once however many events name it
 * (`dirty`), a key is never handed to two workers at once (`processing`: a key added while being processed is
 * queued again when its worker calls `done`), delayed and rate-limited re-adds, and a shutdown that wakes every
 * waiting worker. Keys are `<namespace>/<name>`.
 */
export class WorkQueue {
  private readonly queue: string[] = [];
  private readonly dirty = new Set<string>();
  private readonly processing = new Set<string>();
  private readonly delayed = new Map<string, DelayedAdd>();
  private readonly waiters: Array<(key: string | undefined) => void> = [];
  private readonly idleWaiters: Array<() => void> = [];
  private readonly backoff: RequeueBackoff;
  private readonly timers: QueueTimers;
  private shuttingDown = false;

  constructor(options: WorkQueueOptions = {}) {
    this.backoff = options.backoff ?? new RequeueBackoff();
    this.timers = options.timers ?? realTimers;
  }

  /** Queues `key` unless it is already waiting; a key being processed is queued again once it is done. */
  add(key: string): void {
    if (this.shuttingDown || this.dirty.has(key)) return;
    this.dirty.add(key);
    if (this.processing.has(key)) return;
    this.push(key);
  }

  /** Adds `key` after `delayMs`; of several pending delayed adds of one key, the earliest wins. */
  addAfter(key: string, delayMs: number): void {
    if (this.shuttingDown) return;
    if (delayMs <= 0) return this.add(key);
    const dueAt = this.timers.now() + delayMs;
    const pending = this.delayed.get(key);
    if (pending && pending.dueAt <= dueAt) return;
    if (pending) this.timers.clearTimeout(pending.handle);
    const handle = this.timers.setTimeout(() => {
      if (this.delayed.get(key)?.handle !== handle) return;
      this.delayed.delete(key);
      this.add(key);
    }, delayMs);
    this.delayed.set(key, { handle, dueAt });
  }

  /** Adds `key` after its per-key exponential backoff; returns the delay chosen. */
  addRateLimited(key: string): number {
    const delayMs = this.backoff.next(key);
    this.addAfter(key, delayMs);
    return delayMs;
  }

  /** `key` succeeded: its next failure starts the backoff from the beginning. */
  forget(key: string): void {
    this.backoff.forget(key);
  }

  /** Failures of `key` since it last succeeded. */
  retriesOf(key: string): number {
    return this.backoff.failuresOf(key);
  }

  /** The next key to work on, marked as processing; undefined once the queue shuts down. */
  get(): Promise<string | undefined> {
    if (this.shuttingDown) return Promise.resolve(undefined);
    const key = this.queue.shift();
    if (key !== undefined) return Promise.resolve(this.startProcessing(key));
    return new Promise((resolve) => this.waiters.push(resolve));
  }

  /** A worker finished `key` (whatever the result); it is queued again if it was added meanwhile. */
  done(key: string): void {
    this.processing.delete(key);
    if (this.dirty.has(key) && !this.shuttingDown) this.push(key);
    if (this.processing.size === 0) for (const idle of this.idleWaiters.splice(0)) idle();
  }

  /** Keys waiting to be processed now (not the delayed ones): the `topology_operator_workqueue_depth` gauge. */
  get depth(): number {
    return this.queue.length;
  }

  get isShuttingDown(): boolean {
    return this.shuttingDown;
  }

  /** Stops handing out keys: waiting workers get undefined, delayed adds are dropped. Keys in process finish. */
  shutDown(): void {
    if (this.shuttingDown) return;
    this.shuttingDown = true;
    for (const { handle } of this.delayed.values()) this.timers.clearTimeout(handle);
    this.delayed.clear();
    this.queue.length = 0;
    this.dirty.clear();
    for (const waiter of this.waiters.splice(0)) waiter(undefined);
  }

  /** Resolves when no key is being processed (after `shutDown`, when the last worker is done). */
  whenIdle(): Promise<void> {
    if (this.processing.size === 0) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  private push(key: string): void {
    const waiter = this.waiters.shift();
    if (waiter) waiter(this.startProcessing(key));
    else this.queue.push(key);
  }

  private startProcessing(key: string): string {
    this.dirty.delete(key);
    this.processing.add(key);
    return key;
  }
}
