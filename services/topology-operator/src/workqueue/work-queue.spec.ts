import { describe, expect, it } from '@jest/globals';
import { RequeueBackoff } from './requeue-backoff.js';
import { type QueueTimers, WorkQueue } from './work-queue.js';

/** Timers that only move when the test says so. */
class FakeTimers implements QueueTimers {
  private time = 0;
  private nextId = 0;
  private readonly pending = new Map<number, { dueAt: number; callback: () => void }>();

  setTimeout(callback: () => void, ms: number): unknown {
    const id = ++this.nextId;
    this.pending.set(id, { dueAt: this.time + ms, callback });
    return id;
  }

  clearTimeout(handle: unknown): void {
    this.pending.delete(handle as number);
  }

  now(): number {
    return this.time;
  }

  get scheduled(): number {
    return this.pending.size;
  }

  advance(ms: number): void {
    this.time += ms;
    for (const [id, timer] of [...this.pending].sort((a, b) => a[1].dueAt - b[1].dueAt)) {
      if (timer.dueAt > this.time) continue;
      this.pending.delete(id);
      timer.callback();
    }
  }
}

describe('WorkQueue', () => {
  it('queues a key once however many times it is added', async () => {
    const queue = new WorkQueue();
    queue.add('ns/a');
    queue.add('ns/a');
    queue.add('ns/b');
    queue.add('ns/a');
    expect(queue.depth).toBe(2);
    expect(await queue.get()).toBe('ns/a');
    expect(await queue.get()).toBe('ns/b');
    expect(queue.depth).toBe(0);
  });

  it('never hands a key to a second worker while the first still processes it, and re-queues it after done', async () => {
    const queue = new WorkQueue();
    queue.add('ns/a');
    const first = await queue.get();
    queue.add('ns/a');
    queue.add('ns/a');
    expect(queue.depth).toBe(0);
    queue.done(first!);
    expect(queue.depth).toBe(1);
    expect(await queue.get()).toBe('ns/a');
  });

  it('gives a key added during processing to a waiting worker as soon as the first worker is done', async () => {
    const queue = new WorkQueue();
    queue.add('ns/a');
    const first = await queue.get();
    const second = queue.get();
    queue.add('ns/a');
    let handedOut: string | undefined;
    void second.then((key) => (handedOut = key));
    await new Promise((resolve) => setImmediate(resolve));
    expect(handedOut).toBeUndefined();
    queue.done(first!);
    expect(await second).toBe('ns/a');
  });

  it('adds a delayed key when its time comes, keeping the earliest of several delays', async () => {
    const timers = new FakeTimers();
    const queue = new WorkQueue({ timers });
    queue.addAfter('ns/a', 1000);
    queue.addAfter('ns/a', 5000);
    queue.addAfter('ns/a', 300);
    expect(timers.scheduled).toBe(1);
    timers.advance(299);
    expect(queue.depth).toBe(0);
    timers.advance(1);
    expect(queue.depth).toBe(1);
    expect(await queue.get()).toBe('ns/a');
  });

  it('doubles the delay of a key that keeps failing, up to the cap, and starts over after forget', () => {
    const timers = new FakeTimers();
    const queue = new WorkQueue({ timers, backoff: new RequeueBackoff({ baseDelayMs: 500, maxDelayMs: 5000 }) });
    const delays = Array.from({ length: 6 }, () => queue.addRateLimited('ns/a'));
    expect(delays).toEqual([500, 1000, 2000, 4000, 5000, 5000]);
    expect(queue.retriesOf('ns/a')).toBe(6);
    expect(queue.addRateLimited('ns/b')).toBe(500);
    queue.forget('ns/a');
    expect(queue.retriesOf('ns/a')).toBe(0);
    expect(queue.addRateLimited('ns/a')).toBe(500);
  });

  it('uses the default backoff of 500 ms doubling to 5 minutes', () => {
    const backoff = new RequeueBackoff();
    const delays = Array.from({ length: 12 }, () => backoff.next('k'));
    expect(delays.slice(0, 4)).toEqual([500, 1000, 2000, 4000]);
    expect(delays.at(-1)).toBe(300_000);
  });

  it('wakes waiting workers with undefined on shutdown, drops delayed adds and ignores later adds', async () => {
    const timers = new FakeTimers();
    const queue = new WorkQueue({ timers });
    const waiting = queue.get();
    queue.addAfter('ns/late', 100);
    queue.shutDown();
    expect(await waiting).toBeUndefined();
    expect(timers.scheduled).toBe(0);
    queue.add('ns/a');
    expect(queue.depth).toBe(0);
    expect(await queue.get()).toBeUndefined();
  });

  it('lets shutdown wait until the keys in process are done', async () => {
    const queue = new WorkQueue();
    queue.add('ns/a');
    const key = await queue.get();
    queue.shutDown();
    let idle = false;
    const whenIdle = queue.whenIdle().then(() => (idle = true));
    await new Promise((resolve) => setImmediate(resolve));
    expect(idle).toBe(false);
    queue.done(key!);
    await whenIdle;
    expect(idle).toBe(true);
  });

  it('runs delayed re-adds with real timers too', async () => {
    const queue = new WorkQueue();
    const started = Date.now();
    queue.addAfter('ns/a', 30);
    expect(await queue.get()).toBe('ns/a');
    expect(Date.now() - started).toBeGreaterThanOrEqual(25);
  });
});
