import pg from 'pg';
import { postgresConnectionOptions, type PostgresTimeouts } from '@switchyard/service-kit';
import { Gauge, type Registry } from 'prom-client';
import { registerOnce, safely } from '@switchyard/telemetry';
import { errorFields, type MessagingLogger, silentLogger } from './messaging-logger.js';
import { DEFAULT_METRICS_SAMPLE_INTERVAL_MS } from './queue-depth-sampler.js';
import { OUTBOX_METRICS_POOL_MAX } from '../database-connections.js';

/** A sample is three aggregates over unsent rows: 5 s means the database is not answering. */
const SAMPLE_QUERY_TIMEOUT_MS = 5_000;

export interface OutboxMetricsOptions {
  /** The service's own database, holding `outbox_events`. */
  databaseUrl: string;
  /** Statement, idle-in-transaction and keepalive timeouts of its connection; defaults when left out. */
  databaseTimeouts?: PostgresTimeouts;
  registry: Registry;
  intervalMs?: number;
  logger?: MessagingLogger;
}

/**
 * `messaging_outbox_pending` and `messaging_outbox_oldest_age_seconds`: what the relay has not published yet and
 * how long the oldest of it has waited (0 when nothing waits). A growing age is the alert: the relay is stuck or the
 * broker unreachable. `messaging_outbox_parked_rows`: unsent rows the relay gave up on (no queue bound their type),
 * counted apart from the pending ones, which they would otherwise keep old forever; they wait for
 * `switchyard outbox retry | discard`. Sampled at start and every interval on one connection of its own; never throws.
 */
export class OutboxMetrics {
  private readonly pending: Gauge;
  private readonly oldestAge: Gauge;
  private readonly parked: Gauge;
  private readonly pool: pg.Pool;
  private readonly intervalMs: number;
  private readonly logger: MessagingLogger;
  private timer: NodeJS.Timeout | undefined;
  private sampling: Promise<void> | undefined;
  /** Log a failing sample once, not every interval, until one succeeds again. */
  private failing = false;

  constructor(options: OutboxMetricsOptions) {
    this.intervalMs = options.intervalMs ?? DEFAULT_METRICS_SAMPLE_INTERVAL_MS;
    this.logger = options.logger ?? silentLogger;
    // A database that stopped answering must not pile up samples or hang the shutdown: a sample gives up after 5 s.
    this.pool = new pg.Pool({
      ...postgresConnectionOptions(
        options.databaseUrl,
        { applicationName: 'outbox-metrics', max: OUTBOX_METRICS_POOL_MAX },
        options.databaseTimeouts,
      ),
      query_timeout: SAMPLE_QUERY_TIMEOUT_MS,
    });
    this.pool.on('error', () => undefined);
    this.pending = registerOnce(
      options.registry,
      'messaging_outbox_pending',
      (registers) =>
        new Gauge({
          name: 'messaging_outbox_pending',
          help: 'Outbox events written but not yet published by the relay.',
          registers,
        }),
    );
    this.oldestAge = registerOnce(
      options.registry,
      'messaging_outbox_oldest_age_seconds',
      (registers) =>
        new Gauge({
          name: 'messaging_outbox_oldest_age_seconds',
          help: 'Age of the oldest unpublished outbox event; 0 when none waits.',
          registers,
        }),
    );
    this.parked = registerOnce(
      options.registry,
      'messaging_outbox_parked_rows',
      (registers) =>
        new Gauge({
          name: 'messaging_outbox_parked_rows',
          help: 'Outbox events the relay parked because no queue bound their type; see switchyard outbox list.',
          registers,
        }),
    );
  }

  start(): void {
    void this.sample();
    this.timer = setInterval(() => void this.sample(), this.intervalMs);
    this.timer.unref();
  }

  async stop(): Promise<void> {
    clearInterval(this.timer);
    await this.sampling;
    await this.pool.end().catch(() => undefined);
  }

  /** One sample; concurrent calls share the one in progress. */
  sample(): Promise<void> {
    this.sampling ??= this.query().finally(() => {
      this.sampling = undefined;
    });
    return this.sampling;
  }

  private async query(): Promise<void> {
    try {
      // Served by the (sent_at, sequence) index: unsent rows are few unless something is wrong.
      const { rows } = await this.pool.query<{ pending: number; oldest: number; parked: number }>(
        `SELECT count(*) FILTER (WHERE parked_at IS NULL)::int AS pending,
                COALESCE(EXTRACT(EPOCH FROM now() - min(created_at) FILTER (WHERE parked_at IS NULL)), 0)::float8 AS oldest,
                count(*) FILTER (WHERE parked_at IS NOT NULL)::int AS parked
           FROM outbox_events WHERE sent_at IS NULL`,
      );
      const row = rows[0];
      if (!row) return;
      safely(() => {
        this.pending.set(row.pending);
        this.oldestAge.set(Math.max(0, row.oldest));
        this.parked.set(row.parked);
      });
      this.failing = false;
    } catch (error) {
      if (!this.failing) this.logger.warn(errorFields(error), 'outbox metrics: sampling failed');
      this.failing = true;
    }
  }
}
