/** How long a relay leaves out of its claims a row it could not encode, before it tries (and records) it again. */
export const DEFAULT_UNENCODABLE_RECHECK_MS = 5 * 60 * 1000;
/** Rows remembered at most; past that the oldest are forgotten, which only means they are tried again sooner. */
export const UNENCODABLE_ROWS_MAX = 1_000;

/**
 * The rows this replica found it cannot encode (an event type or version its build does not know, say one a newer
 * replica wrote during a rolling deploy), kept in memory only.
 *
 * Why memory and not the row: a hold written to the row (`next_attempt_at`) hides it from every replica, including
 * the newer ones that could publish it at once, and the later rows of its key would wait behind it. Remembered here,
 * the row stays due for everyone else; this replica leaves it, and so its whole key, out of its own claims. A row
 * no build can encode stays unsent (the pending and oldest-age metrics show it) with its `last_error`, and costs each
 * replica one write per re-check, not one per poll. Bounded, so a flood of such rows cannot exhaust memory.
 */
export class UnencodableRows {
  /** Row id → when to try it again (`performance.now()` ms); insertion order is expiry order (one delay for all). */
  private readonly recheckAt = new Map<string, number>();

  constructor(
    private readonly recheckMs = DEFAULT_UNENCODABLE_RECHECK_MS,
    private readonly maxRows = UNENCODABLE_ROWS_MAX,
  ) {}

  remember(id: string): void {
    this.recheckAt.delete(id);
    this.recheckAt.set(id, performance.now() + this.recheckMs);
    for (const oldest of this.recheckAt.keys()) {
      if (this.recheckAt.size <= this.maxRows) break;
      this.recheckAt.delete(oldest);
    }
  }

  /** The ids to leave out of claims now; rows due for a re-check are forgotten. */
  ids(): string[] {
    const now = performance.now();
    for (const [id, at] of this.recheckAt) {
      if (at > now) break;
      this.recheckAt.delete(id);
    }
    return [...this.recheckAt.keys()];
  }
}
