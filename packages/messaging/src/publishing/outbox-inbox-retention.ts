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
/**
 * Rows one DELETE removes. A purge of months of rows in one statement would hold the relay loop (it runs between
 * batches) and could outlast the statement timeout, failing the same way every time and so never purging; chunks
 * keep each statement short and let the relay publish between them.
 */
export const DEFAULT_PURGE_CHUNK_ROWS = 5_000;

export interface OutboxInboxRetentionOptions {
  /** Default {@link DEFAULT_OUTBOX_RETENTION_MS}. */
  outboxRetentionMs?: number;
  /** Default {@link DEFAULT_INBOX_RETENTION_MS}. */
  inboxRetentionMs?: number;
  /** Default {@link DEFAULT_PURGE_CHUNK_ROWS}. */
  chunkRows?: number;
  logger: MessagingLogger;
}

/**
 * Keeps both messaging tables of a service's database trimmed: sent `outbox_events` rows and `inbox_events` ids
 * past their retention are deleted, at most every {@link PURGE_INTERVAL_MS}. The relay runs it between batches,
 * one chunk per call: while a chunk comes back full the purge stays due, so the next call takes the next chunk.
 */
export class OutboxInboxRetention {
  private readonly outboxRetentionMs: number;
  private readonly inboxRetentionMs: number;
  private readonly chunkRows: number;
  private lastPurgeAt = 0;
  /** The last chunk came back full: the purge stays due until a chunk is not. */
  private moreToPurge = false;
  /** Rows deleted since this purge round began, logged once the round is done. */
  private purgedInRound = { outbox: 0, inbox: 0 };

  constructor(private readonly options: OutboxInboxRetentionOptions) {
    this.outboxRetentionMs = options.outboxRetentionMs ?? DEFAULT_OUTBOX_RETENTION_MS;
    this.inboxRetentionMs = options.inboxRetentionMs ?? DEFAULT_INBOX_RETENTION_MS;
    this.chunkRows = options.chunkRows ?? DEFAULT_PURGE_CHUNK_ROWS;
  }

  /** Deletes one chunk of each table when a purge is due; returns how many rows it deleted. */
  async purgeIfDue(pool: pg.Pool): Promise<{ outbox: number; inbox: number }> {
    if (!this.moreToPurge && Date.now() - this.lastPurgeAt < PURGE_INTERVAL_MS) return { outbox: 0, inbox: 0 };
    // Set first: a purge that fails (say, at the statement timeout) waits a full interval instead of every batch.
    this.lastPurgeAt = Date.now();
    this.moreToPurge = false;
    // Both lookups walk an index on the timestamp (sent_at, sequence) and (processed_at).
    const outbox = await pool.query(
      `DELETE FROM outbox_events WHERE id IN (
         SELECT id FROM outbox_events WHERE sent_at < now() - ($1 || ' milliseconds')::interval LIMIT $2)`,
      [String(this.outboxRetentionMs), this.chunkRows],
    );
    const inbox = await pool.query(
      `DELETE FROM inbox_events WHERE (consumer, event_id) IN (
         SELECT consumer, event_id FROM inbox_events WHERE processed_at < now() - ($1 || ' milliseconds')::interval LIMIT $2)`,
      [String(this.inboxRetentionMs), this.chunkRows],
    );
    const deleted = { outbox: outbox.rowCount ?? 0, inbox: inbox.rowCount ?? 0 };
    this.purgedInRound.outbox += deleted.outbox;
    this.purgedInRound.inbox += deleted.inbox;
    this.moreToPurge = deleted.outbox === this.chunkRows || deleted.inbox === this.chunkRows;
    if (this.moreToPurge) return deleted;
    const round = this.purgedInRound;
    this.purgedInRound = { outbox: 0, inbox: 0 };
    if (round.outbox || round.inbox) {
      this.options.logger.info(
        { outboxPurged: round.outbox, inboxPurged: round.inbox },
        'outbox relay: purged messaging rows past retention',
      );
    }
    return deleted;
  }
}
