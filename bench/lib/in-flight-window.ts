/**
 * At most `size` operations in flight: `admit` starts one as soon as there is room and resolves then (not when
 * it finishes). How the pipelined-window subjects apply backpressure. A failed operation is reported on stderr
 * once and counted; the event it carried then shows up as lost.
 */
export class InFlightWindow {
  private readonly running = new Set<Promise<void>>();
  failures = 0;

  readonly size: number;

  constructor(size: number) {
    this.size = size;
  }

  async admit(start: () => Promise<void>): Promise<void> {
    while (this.running.size >= this.size) await Promise.race(this.running);
    const task: Promise<void> = start()
      .catch((error: unknown) => {
        if (this.failures++ === 0)
          process.stderr.write(`bench: operation failed: ${error instanceof Error ? error.message : String(error)}\n`);
      })
      .finally(() => this.running.delete(task));
    this.running.add(task);
  }

  async flush(): Promise<void> {
    while (this.running.size > 0) await Promise.allSettled([...this.running]);
  }
}
