import pg from 'pg';
import { postgresConnectionOptions, type PostgresTimeouts } from '@switchyard/service-kit';
import { RELAY_POOL_MAX } from '../database-connections.js';
import {
  ChannelClosedError,
  ConnectionClosedError,
  PublishNackError,
  PublishTimeoutError,
  UnroutableMessageError,
} from '../messaging-errors.js';
import { errorFields, type MessagingLogger, silentLogger } from '../observability/messaging-logger.js';
import {
  DEFAULT_OUTBOX_UNROUTABLE_MAX_ATTEMPTS,
  type FailedPublish,
  recordFailedPublish,
} from './outbox-failed-publish.js';
import { publishInKeyOrder } from './key-ordered-publishing.js';
import { claimOutboxBatch, type ClaimedRow } from './outbox-claim.js';
import { OutboxInboxRetention } from './outbox-inbox-retention.js';
import { OutboxListener } from './outbox-listener.js';
import { UnencodableRows } from './unencodable-rows.js';

/** How many rows one claim takes: they are published pipelined, so a batch costs about one confirm round trip. */
export const DEFAULT_RELAY_BATCH_SIZE = 100;
/** Polling interval when no notification arrives (notifications are hints: a LISTEN connection can drop them). */
export const DEFAULT_RELAY_POLL_INTERVAL_MS = 1_000;
/**
 * After a claim that found rows, the relay keeps claiming this often for {@link RELAY_FOLLOW_UP_WINDOW_MS}
 * instead of waiting for a wake-up: writers notify at most a few times per `OUTBOX_NOTIFY_WINDOW_MS`, and
 * the limit is counted at insert, not at commit, so the last row of a burst may commit well after the last NOTIFY
 * and must not wait for the poll. An empty claim costs an index probe (about 0.1 ms).
 */
export const RELAY_FOLLOW_UP_CLAIM_MS = 20;
export const RELAY_FOLLOW_UP_WINDOW_MS = 1_000;
/** An outbox row as the relay reads it. */
export interface OutboxRow {
  id: string;
  eventType: string;
  eventVersion: number;
  payload: unknown;
  correlationId: string | null;
  traceparent: string | null;
  tracestate: string | null;
  createdAt: Date;
  attempts: number;
  /** The relay publishes the rows of one key in the order they were written (`addToOutbox`'s `orderingKey`). */
  orderingKey: string;
}

/** Publishes one row with publisher confirms; resolves only once the broker has confirmed it. */
export type OutboxRowPublisher = (row: OutboxRow) => Promise<void>;

export interface OutboxRelayOptions {
  databaseUrl: string;
  /** Statement, idle-in-transaction and keepalive timeouts of its connections (the LISTEN one too); defaults when left out. */
  databaseTimeouts?: PostgresTimeouts;
  publish: OutboxRowPublisher;
  /** Rows per claim; default {@link DEFAULT_RELAY_BATCH_SIZE}. */
  batchSize?: number;
  /** Default {@link DEFAULT_RELAY_POLL_INTERVAL_MS}. */
  pollIntervalMs?: number;
  /** Default {@link DEFAULT_OUTBOX_RETENTION_MS} (`OutboxInboxRetention`). */
  retentionMs?: number;
  /** Default {@link DEFAULT_INBOX_RETENTION_MS}. The relay keeps both messaging tables of its database trimmed. */
  inboxRetentionMs?: number;
  /** Unroutable attempts before a row is parked; default {@link DEFAULT_OUTBOX_UNROUTABLE_MAX_ATTEMPTS}. */
  unroutableMaxAttempts?: number;
  /** How long it leaves out of its claims a row it cannot encode; default {@link DEFAULT_UNENCODABLE_RECHECK_MS}. */
  unencodableRecheckMs?: number;
  /** Tells the relay whether publishing can work right now (the broker connection is up); it idles otherwise. */
  canPublish?: () => boolean;
  logger?: MessagingLogger;
}

/**
 * Moves committed outbox rows to the broker. Safe with any number of replicas: each batch is claimed with
 * `FOR UPDATE SKIP LOCKED` inside a transaction that publishes the rows (keys pipelined, each key's rows in
 * sequence), then marks the confirmed ones sent. A crash anywhere before the commit leaves the rows unsent, so they
 * are published again: delivery is at least once, and consumers' inboxes make the effect exactly once. Rows of one
 * ordering key are published one after another in the order they were written, and never past an unsent earlier
 * one (see `claimOutboxBatch`).
 */
export class OutboxRelay {
  private readonly pool: pg.Pool;
  private readonly batchSize: number;
  private readonly pollIntervalMs: number;
  private readonly unroutableMaxAttempts: number;
  private readonly logger: MessagingLogger;
  private readonly listener: OutboxListener;
  private readonly retention: OutboxInboxRetention;
  private readonly unencodable: UnencodableRows;
  private running = false;
  private wake: (() => void) | undefined;
  private pendingWake = false;
  private loop: Promise<void> | undefined;
  /** When the relay last made progress (see {@link secondsSinceProgress}); `performance.now()` ms. */
  private lastProgressAt = performance.now();

  constructor(private readonly options: OutboxRelayOptions) {
    this.batchSize = options.batchSize ?? DEFAULT_RELAY_BATCH_SIZE;
    this.pollIntervalMs = options.pollIntervalMs ?? DEFAULT_RELAY_POLL_INTERVAL_MS;
    this.unroutableMaxAttempts = options.unroutableMaxAttempts ?? DEFAULT_OUTBOX_UNROUTABLE_MAX_ATTEMPTS;
    this.logger = options.logger ?? silentLogger;
    this.unencodable = new UnencodableRows(options.unencodableRecheckMs);
    // Small: the relay holds one transaction at a time; the extra connection serves purges.
    // A blackholed link fails the batch at the query timeout instead of hanging the loop with its rows locked.
    this.pool = new pg.Pool(
      postgresConnectionOptions(
        options.databaseUrl,
        { applicationName: 'outbox-relay', max: RELAY_POOL_MAX },
        options.databaseTimeouts,
      ),
    );
    this.pool.on('error', (error) =>
      this.logger.warn(errorFields(error), 'outbox relay: idle database connection failed'),
    );
    this.listener = new OutboxListener({
      databaseUrl: options.databaseUrl,
      databaseTimeouts: options.databaseTimeouts,
      retryDelayMs: this.pollIntervalMs,
      onNotify: () => this.nudge(),
      isRunning: () => this.running,
      logger: this.logger,
    });
    this.retention = new OutboxInboxRetention({
      outboxRetentionMs: options.retentionMs,
      inboxRetentionMs: options.inboxRetentionMs,
      logger: this.logger,
    });
  }

  start(): void {
    if (this.running) return;
    this.running = true;
    this.lastProgressAt = performance.now();
    this.listener.start();
    this.loop = this.run();
  }

  /**
   * Seconds since the relay last made progress; 0 while it is not running. Progress means the loop got through
   * something: a claim-publish-mark batch finished (rows found or not, committed or failed), or an iteration ended
   * (including one that idled because the broker is down). An idle relay with an empty outbox claims nothing every
   * poll interval and so keeps progressing; only a loop hung inside a batch (a query or confirm that never returns)
   * or a backlog it cannot get through one batch of falls behind. The liveness watchdog restarts the pod then.
   */
  secondsSinceProgress(): number {
    return this.running ? (performance.now() - this.lastProgressAt) / 1000 : 0;
  }

  /** Wakes the relay now (tests, and the publisher after it reconnects). */
  nudge(): void {
    this.pendingWake = true;
    this.wake?.();
  }

  /**
   * Stops after publishing what is ready (a last drain, so a graceful shutdown leaves nothing it could have sent),
   * then closes its connections.
   */
  async stop(): Promise<void> {
    if (!this.running) return;
    this.running = false;
    this.wake?.();
    await this.loop;
    if (this.options.canPublish?.() ?? true) {
      await this.drain().catch((error: unknown) =>
        this.logger.warn(errorFields(error), 'outbox relay: final drain failed'),
      );
    }
    await this.listener.stop();
    await this.pool.end();
  }

  /** Publishes every row that is due, batch after batch; returns how many were confirmed. */
  async drain(): Promise<number> {
    return (await this.drainCounting()).sent;
  }

  private async drainCounting(): Promise<{ claimed: number; sent: number }> {
    const total = { claimed: 0, sent: 0 };
    for (;;) {
      const { claimed, sent } = await this.relayBatch();
      this.lastProgressAt = performance.now();
      total.claimed += claimed;
      total.sent += sent;
      if (claimed < this.batchSize) return total;
    }
  }

  private async run(): Promise<void> {
    let lastFoundAt = Number.NEGATIVE_INFINITY;
    while (this.running) {
      let claimed = 0;
      try {
        if (this.options.canPublish?.() ?? true) {
          ({ claimed } = await this.drainCounting());
          await this.retention.purgeIfDue(this.pool);
        }
      } catch (error) {
        this.logger.warn(errorFields(error), 'outbox relay: batch failed; retrying after the poll interval');
      }
      this.lastProgressAt = performance.now();
      // Rows found lately: more may be committed soon without a NOTIFY (rate-limited), so keep looking often for a while.
      if (claimed > 0) lastFoundAt = performance.now();
      await this.sleep(
        performance.now() - lastFoundAt < RELAY_FOLLOW_UP_WINDOW_MS ? RELAY_FOLLOW_UP_CLAIM_MS : this.pollIntervalMs,
      );
    }
  }

  /** One claim-publish-mark cycle in one transaction. */
  protected async relayBatch(): Promise<{ claimed: number; sent: number }> {
    const client = await this.pool.connect();
    let broken = false;
    let lost = false;
    // A checked-out client has no pool listener: a backend terminated while we await confirms would emit an
    // unheard 'error' and crash the process. Heard here, the loss surfaces as the next query's failure instead.
    const onError = (error: Error): void => {
      broken = true;
      lost = true;
      this.logger.warn(errorFields(error), 'outbox relay: database connection lost mid-batch');
    };
    client.on('error', onError);
    try {
      await client.query('BEGIN');
      const keys = await claimOutboxBatch(client, this.batchSize, this.unencodable.ids());
      const claimed = keys.reduce((total, rows) => total + rows.length, 0);
      if (claimed === 0) {
        await client.query('COMMIT');
        return { claimed: 0, sent: 0 };
      }
      const outcome = await publishInKeyOrder<ClaimedRow>(keys, (row) => this.options.publish(row));
      const sent = outcome.sent.map((row) => row.id);
      const failed: FailedPublish[] = [];
      const unpublishable: Array<{ row: OutboxRow; error: string }> = [];
      for (const { row, error } of outcome.failed) {
        if (isTransientPublishFailure(error)) failed.push({ row, error: describePublishFailure(error), cause: error });
        else unpublishable.push({ row, error: describePublishFailure(error) });
      }
      await this.markSent(client, sent);
      for (const { row, error } of unpublishable) {
        // This build cannot encode it; another (newer) one may. The row stays due for the others; this replica
        // leaves it, and so its key, out of its own claims for a while (UnencodableRows says why).
        this.unencodable.remember(row.id);
        await client.query(`UPDATE outbox_events SET last_error = $2 WHERE id = $1`, [
          row.id,
          `unpublishable: ${error}`.slice(0, 1000),
        ]);
        this.logger.error(
          {
            eventId: row.id,
            eventType: row.eventType,
            eventVersion: row.eventVersion,
            orderingKey: row.orderingKey,
            error,
          },
          'outbox relay: this build cannot encode the event; left to a replica that can (its key waits)',
        );
      }
      for (const failure of failed) await recordFailedPublish(client, failure, this.unroutableMaxAttempts, this.logger);
      await client.query('COMMIT');
      return { claimed, sent: sent.length };
    } catch (error) {
      broken = true;
      // ROLLBACK only where the server answered: after a client-side failure (a query timeout on a dead link, a
      // reset) it would queue behind the unanswered query and hang the loop for another full query timeout.
      // Destroying the connection (release(true)) ends the transaction anyway: at once, or by the server's
      // idle-in-transaction timeout when the link is dead.
      if (error instanceof pg.DatabaseError && !lost) await client.query('ROLLBACK').catch(() => undefined);
      throw error;
    } finally {
      client.off('error', onError);
      client.release(broken);
    }
  }

  /** Marks confirmed rows sent, in the claiming transaction (a crash before the commit re-sends them). */
  protected async markSent(client: pg.PoolClient, ids: string[]): Promise<void> {
    if (ids.length === 0) return;
    await client.query('UPDATE outbox_events SET sent_at = now() WHERE id = ANY($1::uuid[])', [ids]);
  }
  private sleep(ms: number): Promise<void> {
    if (this.pendingWake || !this.running) {
      this.pendingWake = false;
      return Promise.resolve();
    }
    return new Promise((resolve) => {
      const done = (): void => {
        clearTimeout(timer);
        this.wake = undefined;
        this.pendingWake = false;
        resolve();
      };
      const timer = setTimeout(done, ms);
      this.wake = done;
    });
  }
}

/**
 * Failures that another attempt may cure: the broker did not confirm, refused, had no queue bound yet, or the
 * channel was gone. Anything else (the row cannot be encoded into a message) fails the same way every time.
 */
function isTransientPublishFailure(error: unknown): boolean {
  return (
    error instanceof PublishTimeoutError ||
    error instanceof ChannelClosedError ||
    error instanceof PublishNackError ||
    error instanceof UnroutableMessageError ||
    error instanceof ConnectionClosedError
  );
}

function describePublishFailure(error: unknown): string {
  return error instanceof Error ? `${error.name}: ${error.message}` : String(error);
}
