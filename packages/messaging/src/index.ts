export * from './rabbitmq.js';
export { addToOutbox, OUTBOX_NOTIFY_CHANNEL } from './publishing/outbox.js';
export type { OutboxAddOptions } from './publishing/outbox.js';
export {
  DEFAULT_OUTBOX_RETENTION_MS,
  DEFAULT_RELAY_BATCH_SIZE,
  DEFAULT_RELAY_POLL_INTERVAL_MS,
  OUTBOX_CLAIM_SQL,
  OutboxRelay,
} from './publishing/outbox-relay.js';
export type { OutboxRelayOptions, OutboxRow, OutboxRowPublisher } from './publishing/outbox-relay.js';
export { inboxHandlerRunner, recordInInbox } from './consumer/inbox.js';
export type { InboxDelivery } from './consumer/inbox.js';
export type { SqlTransaction, TransactionRunner } from './sql-transaction.js';
export { decodeDelivery, outboxRowToWire } from './publishing/event-codec.js';
export { connectEventTransport, MESSAGING_OPTIONS, MessagingModule, MessagingRuntime } from './messaging.module.js';
export type { EventTransportOptions, MessagingOptions } from './messaging.module.js';
export { OnEvent } from './on-event.decorator.js';
export type { EventHandlerMethod } from './on-event.decorator.js';
export { PrometheusMessagingObserver, UNKNOWN_EVENT_TYPE } from './observability/prometheus-observer.js';
export type { PrometheusMessagingObserverOptions } from './observability/prometheus-observer.js';
export { consumerQueues, DEFAULT_METRICS_SAMPLE_INTERVAL_MS, QueueDepthSampler } from './observability/queue-depth-sampler.js';
export type { QueueDepthSamplerOptions } from './observability/queue-depth-sampler.js';
export { OutboxMetrics } from './observability/outbox-metrics.js';
export type { OutboxMetricsOptions } from './observability/outbox-metrics.js';
