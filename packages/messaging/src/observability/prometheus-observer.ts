import { eventCatalog } from '@switchyard/contracts';
import { Counter, Histogram, type Registry } from 'prom-client';
import { registerOnce, safely } from '@switchyard/telemetry';
import type {
  ConsumedEvent,
  DeadLetteredEvent,
  MessagingObserver,
  PublishedEvent,
  RetryEvent,
} from './messaging-observer.js';

/** `event_type` of a message whose type no contract defines: such types come from whoever publishes, unbounded. */
export const UNKNOWN_EVENT_TYPE = 'unknown';

export interface PrometheusMessagingObserverOptions {
  /** Which event types get their own label value; default: the types of the Switchyard event catalog. */
  isKnownEventType?: (type: string) => boolean;
}

/**
 * The messaging series, fed by the transport's and publisher's observer hooks. Labels are queue names, event
 * types, outcomes and reasons only: all bounded by the code and the topology, never by message content
 * (an undecodable message's type is reported as `unknown`).
 */
export class PrometheusMessagingObserver implements MessagingObserver {
  private readonly consumedTotal: Counter<'queue' | 'event_type' | 'outcome'>;
  private readonly consumerLag: Histogram<'queue' | 'event_type'>;
  private readonly retriesTotal: Counter<'queue' | 'event_type'>;
  private readonly deadLetteredTotal: Counter<'queue' | 'event_type' | 'reason'>;
  private readonly deadLetteredRedeliveredTotal: Counter<'queue' | 'event_type' | 'reason'>;
  private readonly publishedTotal: Counter<'event_type' | 'outcome'>;
  private readonly publishConfirm: Histogram<'event_type'>;
  private readonly isKnownEventType: (type: string) => boolean;

  constructor(registry: Registry, options: PrometheusMessagingObserverOptions = {}) {
    this.isKnownEventType = options.isKnownEventType ?? ((type) => eventCatalog.has(type));
    this.consumedTotal = registerOnce(
      registry,
      'messaging_messages_consumed_total',
      (registers) =>
        new Counter({
          name: 'messaging_messages_consumed_total',
          help: 'Deliveries settled by the consumer, by outcome: ack, retry, dead_letter or duplicate.',
          labelNames: ['queue', 'event_type', 'outcome'] as const,
          registers,
        }),
    );
    this.consumerLag = registerOnce(
      registry,
      'messaging_consumer_lag_seconds',
      (registers) =>
        new Histogram({
          name: 'messaging_consumer_lag_seconds',
          help: "Time from an event's occurrence (occurredAt) to its delivery being settled by the consumer.",
          labelNames: ['queue', 'event_type'] as const,
          // From a healthy pipeline (tens of ms) to an event that waited out the longest retry tiers.
          buckets: [0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600, 1800],
          registers,
        }),
    );
    this.retriesTotal = registerOnce(
      registry,
      'messaging_retries_total',
      (registers) =>
        new Counter({
          name: 'messaging_retries_total',
          help: 'Failed deliveries republished to a retry tier.',
          labelNames: ['queue', 'event_type'] as const,
          registers,
        }),
    );
    this.deadLetteredTotal = registerOnce(
      registry,
      'messaging_dead_lettered_total',
      (registers) =>
        new Counter({
          name: 'messaging_dead_lettered_total',
          help: 'Deliveries republished to the dead-letter queue, by reason.',
          labelNames: ['queue', 'event_type', 'reason'] as const,
          registers,
        }),
    );
    this.deadLetteredRedeliveredTotal = registerOnce(
      registry,
      'messaging_dead_lettered_redelivered_total',
      (registers) =>
        new Counter({
          name: 'messaging_dead_lettered_redelivered_total',
          help:
            'Of messaging_dead_lettered_total, the dead letters of redelivered deliveries: each may be a second copy of ' +
            'one event (its first copy confirmed, the ack lost, and the redelivery handled by another replica or after ' +
            'a restart). An upper bound on such copies; `switchyard dlq list` counts them per event id.',
          labelNames: ['queue', 'event_type', 'reason'] as const,
          registers,
        }),
    );
    this.publishedTotal = registerOnce(
      registry,
      'messaging_published_total',
      (registers) =>
        new Counter({
          name: 'messaging_published_total',
          help: 'Publishes (events, retry and dead-letter copies) by outcome: confirmed, nacked, returned, timeout or failed.',
          labelNames: ['event_type', 'outcome'] as const,
          registers,
        }),
    );
    this.publishConfirm = registerOnce(
      registry,
      'messaging_publish_confirm_seconds',
      (registers) =>
        new Histogram({
          name: 'messaging_publish_confirm_seconds',
          help: "Time from a publish to the broker's confirm (or to giving up).",
          labelNames: ['event_type'] as const,
          buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
          registers,
        }),
    );
  }

  consumed(event: ConsumedEvent): void {
    safely(() => {
      this.consumedTotal.inc({
        queue: event.queue,
        event_type: this.eventType(event.eventType),
        outcome: event.outcome,
      });
      // Clock skew between producer and consumer can make it negative: that is "no lag", not a sample to drop.
      if (event.lagMs !== undefined && Number.isFinite(event.lagMs))
        this.consumerLag.observe(
          { queue: event.queue, event_type: this.eventType(event.eventType) },
          Math.max(0, event.lagMs) / 1000,
        );
    });
  }

  retry(event: RetryEvent): void {
    safely(() => this.retriesTotal.inc({ queue: event.queue, event_type: this.eventType(event.eventType) }));
  }

  deadLettered(event: DeadLetteredEvent): void {
    safely(() => {
      const labels = { queue: event.queue, event_type: this.eventType(event.eventType), reason: event.reason };
      this.deadLetteredTotal.inc(labels);
      if (event.redelivered === true) this.deadLetteredRedeliveredTotal.inc(labels);
    });
  }

  published(event: PublishedEvent): void {
    safely(() => {
      this.publishedTotal.inc({ event_type: this.eventType(event.eventType), outcome: event.outcome });
      if (Number.isFinite(event.confirmMs))
        this.publishConfirm.observe(
          { event_type: this.eventType(event.eventType) },
          Math.max(0, event.confirmMs) / 1000,
        );
    });
  }

  private eventType(type: string): string {
    return this.isKnownEventType(type) ? type : UNKNOWN_EVENT_TYPE;
  }
}
