import type pg from 'pg';
import { type MessagingLogger } from '../observability/messaging-logger.js';

/** Sent rows are kept this long for inspection and replay, then deleted. */
export const DEFAULT_OUTBOX_RETENTION_MS = 3 * 24 * 60 * 60 * 1000;
/**
 * Handled event ids are kept this long: the window in which a redelivered or replayed event is recognised as a
 * duplicate. 30 days covers the longest retry tier and a DLQ replay weeks later, at a few bytes per event.
 */
export const DEFAULT_INBOX_RETENTION_MS = 30 * 24 * 60 * 60 * 1000;
/** How often sent rows past retention are purged. */
const PURGE_INTERVAL_MS = 10 * 60 * 1000;

export interface OutboxInboxRetentionOptions {
  /** Default {@link DEFAULT_OUTBOX_RETENTION_MS}. */
  outboxRetentionMs?: number;
  /** Default {@link DEFAULT_INBOX_RETENTION_MS}. */
  inboxRetentionMs?: number;
  logger: MessagingLogger;
}

/**
 * Keeps both messaging tables of a service's database trimmed: sent `outbox_events` rows and `inbox_events` ids
 * past their retention are deleted, at most every {@link PURGE_INTERVAL_MS}. The relay runs it between batches.
 */
export class OutboxInboxRetention {
  private readonly outboxRetentionMs: number;
  private readonly inboxRetentionMs: number;
  private lastPurgeAt = 0;

  constructor(private readonly options: OutboxInboxRetentionOptions) {
    this.outboxRetentionMs = options.outboxRetentionMs ?? DEFAULT_OUTBOX_RETENTION_MS;
    this.inboxRetentionMs = options.inboxRetentionMs ?? DEFAULT_INBOX_RETENTION_MS;
  }

  /** Purges when the last purge is long enough ago. */
  async purgeIfDue(pool: pg.Pool): Promise<void> {
    if (Date.now() - this.lastPurgeAt < PURGE_INTERVAL_MS) return;
    this.lastPurgeAt = Date.now();
    const outbox = await pool.query(
      `DELETE FROM outbox_events WHERE sent_at < now() - ($1 || ' milliseconds')::interval`,
      [String(this.outboxRetentionMs)],
    );
    const inbox = await pool.query(
      `DELETE FROM inbox_events WHERE processed_at < now() - ($1 || ' milliseconds')::interval`,
      [String(this.inboxRetentionMs)],
    );
    if (outbox.rowCount || inbox.rowCount) {
      this.options.logger.info(
        { outboxPurged: outbox.rowCount ?? 0, inboxPurged: inbox.rowCount ?? 0 },
        'outbox relay: purged messaging rows past retention',
      );
    }
  }
}
