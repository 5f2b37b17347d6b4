/** What one counted request learns: whether it is within the limit, and when its window ends. */
export interface RateLimitVerdict {
  allowed: boolean;
  /** Milliseconds until the window ends and the count starts again. */
  retryAfterMs: number;
}

/**
 * Fixed-window request counters, in memory, per pod. Bounded: at most `maxKeys` windows are kept; expired ones go
 * first, and when all are live the oldest is forgotten (its key starts a fresh window: a flood of distinct keys can
 * thin the limits, never exhaust memory).
 *
 * Windows sit in the Map in the order they started (a renewed window is deleted and re-inserted), so the expired ones
 * are always at the front and eviction never scans past a live one.
 */
export class RateLimitCounters {
  private readonly windows = new Map<string, { startedAt: number; count: number }>();

  constructor(
    private readonly windowMs: number,
    private readonly maxKeys: number,
    private readonly now: () => number = Date.now,
  ) {}

  /** Counts one request against `key` and says whether it stays within `limit` for the current window. */
  hit(key: string, limit: number): RateLimitVerdict {
    const now = this.now();
    this.evictExpired(now);
    let window = this.windows.get(key);
    if (!window) {
      if (this.windows.size >= this.maxKeys) this.windows.delete(this.windows.keys().next().value as string);
      window = { startedAt: now, count: 0 };
      this.windows.set(key, window);
    }
    window.count += 1;
    return { allowed: window.count <= limit, retryAfterMs: window.startedAt + this.windowMs - now };
  }

  /** Windows currently kept (for tests and a gauge). */
  get size(): number {
    return this.windows.size;
  }

  private evictExpired(now: number): void {
    for (const [key, window] of this.windows) {
      if (window.startedAt + this.windowMs > now) return;
      this.windows.delete(key);
    }
  }
}
