import type { PostgresTimeoutsConfig } from '@switchyard/service-kit';
import type { MessagingConfig } from './messaging-config.js';
import type { MessagingObserver } from './observability/messaging-observer.js';
import type { TransactionRunner } from './sql-transaction.js';
import type { DeadLetterSettings } from './topology/topology-plan.js';

/** What `MessagingModule.forRoot` / `forRootAsync` take: everything a service's publishing and consuming need. */
export interface MessagingModuleOptions {
  /** The producing and consuming service, e.g. `user-service`: `appId`/`ce-source` of what it publishes. */
  service: string;
  /**
   * The service's validated environment: messaging's own variables (`messagingConfigShape`: broker URL, exchange,
   * retry tiers, consumer policy) and `DATABASE_URL`, the service's own database, where the outbox relay reads
   * `outbox_events`, with the timeouts of its connections (`DATABASE_STATEMENT_TIMEOUT_MS`, …; defaults when absent).
   */
  config: MessagingConfig & { DATABASE_URL: string } & PostgresTimeoutsConfig;
  /** The queue the service consumes and how its handlers reach the database; omitted, the service only publishes. */
  consumer?: EventConsumerOptions;
  /** Relay tuning; defaults in outbox-relay.ts. */
  relay?: { batchSize?: number; pollIntervalMs?: number; retentionMs?: number };
  /** Extra metrics hooks; with service-kit's `MetricsModule` imported, the Prometheus series are recorded anyway. */
  observer?: MessagingObserver;
  /** How often queue depths and the outbox backlog are sampled for Prometheus; default 15 s. */
  metricsSampleIntervalMs?: number;
}

/**
 * The service's event consumer: the `@ConsumeEvent` methods of its controllers become the consumers of `queue`.
 * Retry tiers and the live consumer policy come from `config` (`MESSAGING_RETRY_DELAYS_MS`, `CONSUMER_POLICY_DIR`,
 * `CONSUMER_POLICY_POLL_MS`); with a mounted policy its retry tiers, prefetch and pause win, without a restart.
 */
export interface EventConsumerOptions {
  /** The work queue, `<service>.<purpose>`, e.g. `order-service.user-events`. */
  queue: string;
  /**
   * Runs work in one transaction of the service's database: `(work) => prisma.$transaction(work)`. Messaging records
   * each event in the inbox and runs its handler in that same transaction: one effect per event.
   */
  transaction: TransactionRunner;
  /** Code default, in force while no consumer policy file is there; default `DEFAULT_PREFETCH` (20). */
  prefetch?: number;
  deadLetter?: DeadLetterSettings;
}

/** Injection token of the module's options. */
export const MESSAGING_OPTIONS = Symbol('MESSAGING_OPTIONS');
