/**
 * The deliveries whose handling has not settled yet: a prefetch change and shutdown wait for them (bounded), since
 * they must be acked or nacked on the channel they came from.
 */
export class InFlightDeliveries {
  private readonly tasks = new Set<Promise<void>>();
  /** Wake-ups of waits for in-flight deliveries, called when `close()` starts or a channel closes. */
  private readonly waiters = new Set<() => void>();

  get size(): number {
    return this.tasks.size;
  }

  /** Tracks `task` until it settles (it must not reject). */
  track(task: Promise<void>): void {
    this.tasks.add(task);
    void task.finally(() => this.tasks.delete(task));
  }

  /**
   * Waits until no delivery is in flight, at most `timeoutMs`, and no longer than `relevant()` holds (checked at
   * every settle, at `close()` and at every channel close). Resolves to whether none is in flight.
   */
  async waitForAll(timeoutMs: number, relevant: () => boolean): Promise<boolean> {
    const deadline = Date.now() + timeoutMs;
    while (this.tasks.size > 0 && relevant() && Date.now() < deadline) {
      let timer: NodeJS.Timeout | undefined;
      let wake: (() => void) | undefined;
      const interrupted = new Promise<void>((resolve) => {
        wake = resolve;
        timer = setTimeout(resolve, deadline - Date.now());
      });
      this.waiters.add(wake!);
      await Promise.race([Promise.allSettled([...this.tasks]), interrupted]);
      clearTimeout(timer);
      this.waiters.delete(wake!);
    }
    return this.tasks.size === 0;
  }

  /** Makes every `waitForAll` look at `relevant()` again now. */
  wakeWaiters(): void {
    for (const wake of [...this.waiters]) wake();
  }
}
