export * from './rabbitmq.js';
export { addToOutbox, OUTBOX_NOTIFY_CHANNEL } from './outbox.js';
export type { OutboxAddOptions } from './outbox.js';
export {
  DEFAULT_OUTBOX_RETENTION_MS,
  DEFAULT_RELAY_BATCH_SIZE,
  DEFAULT_RELAY_POLL_INTERVAL_MS,
  OUTBOX_CLAIM_SQL,
  OutboxRelay,
} from './outbox-relay.js';
export type { OutboxRelayOptions, OutboxRow, OutboxRowPublisher } from './outbox-relay.js';
export { inboxHandlerRunner, recordInInbox } from './inbox.js';
export type { InboxDelivery } from './inbox.js';
export type { SqlTransaction, TransactionRunner } from './sql-transaction.js';
export { decodeDelivery, outboxRowToWire } from './event-codec.js';
export { MessagingModule } from './messaging.module.js';
export type { MessagingModuleAsyncOptions } from './messaging.module.js';
export type { EventConsumerOptions, MessagingModuleOptions } from './messaging-options.js';
export { MessagingRuntime } from './messaging-runtime.js';
export { messagingConfigShape } from './messaging-config.js';
export type { MessagingConfig } from './messaging-config.js';
export { ConsumeEvent } from './consume-event.decorator.js';
export type { EventHandlerMethod } from './consume-event.decorator.js';
export { EventHandlerDeclarationError } from './event-handler-audit.js';
export { PrometheusMessagingObserver, UNKNOWN_EVENT_TYPE } from './prometheus-observer.js';
export type { PrometheusMessagingObserverOptions } from './prometheus-observer.js';
export { consumerQueues, DEFAULT_METRICS_SAMPLE_INTERVAL_MS, QueueDepthSampler } from './queue-depth-sampler.js';
export type { QueueDepthSamplerOptions } from './queue-depth-sampler.js';
export { OutboxMetrics } from './outbox-metrics.js';
export type { OutboxMetricsOptions } from './outbox-metrics.js';
