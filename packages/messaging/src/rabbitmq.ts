// Public API of the RabbitMQ core: connection, topology, publisher, NestJS transport, failure routing, DLQ tools.
export {
  DEFAULT_CONNECT_TIMEOUT_MS,
  DEFAULT_HEARTBEAT_SECONDS,
  DEFAULT_RECONNECT_INITIAL_DELAY_MS,
  DEFAULT_RECONNECT_MAX_DELAY_MS,
  RabbitMqConnection,
} from './connection/rabbitmq-connection.js';
export type { ConnectedCallback, ConnectionHealth, RabbitMqConnectionOptions } from './connection/rabbitmq-connection.js';

export {
  DEFAULT_DELIVERY_LIMIT,
  DEFAULT_EXCHANGE,
  DEFAULT_RETRY_DELAYS_MS,
  deadLetterQueueName,
  formatDelay,
  planConsumerTopology,
  planExchange,
  retryQueueName,
  WORK_QUEUE_TYPES,
} from './topology/topology-plan.js';
export type {
  BindingPlan,
  ConsumerTopologyInput,
  DeadLetterSettings,
  ExchangePlan,
  QueueArgumentValue,
  QueuePlan,
  QueueRole,
  TopologyPlan,
  WorkQueueType,
} from './topology/topology-plan.js';
export {
  CONSUMER_POLICY_API_VERSION,
  CONSUMER_POLICY_KIND,
  consumerPolicyFileName,
  consumerPolicySchema,
  InvalidConsumerPolicyError,
  parseConsumerPolicy,
  serializeConsumerPolicy,
  topologyInputOf,
} from './topology/consumer-policy.js';
export type { ConsumerPolicy } from './topology/consumer-policy.js';
export { declareTopology } from './topology/declare-topology.js';
export type { ChannelFactory } from './topology/declare-topology.js';

export { DEFAULT_CONFIRM_TIMEOUT_MS, EventPublisher } from './publishing/event-publisher.js';
export type { EventPublisherOptions, OutgoingMessage, PublisherStats, PublishProperties } from './publishing/event-publisher.js';

export {
  DEFAULT_FIRST_CONNECT_WAIT_MS,
  DEFAULT_PREFETCH,
  DEFAULT_SHUTDOWN_TIMEOUT_MS,
  REQUEUE_DELAY_MS,
  RESUBSCRIBE_DELAY_MS,
  SWITCHYARD_TRANSPORT,
  SwitchyardServer,
} from './consumer/switchyard-server.js';
export type {
  ConsumerPolicyFeed,
  ConsumerSettings,
  SwitchyardServerEvents,
  SwitchyardServerOptions,
  SwitchyardServerStatus,
} from './consumer/switchyard-server.js';
export { ConsumerPolicySource, DEFAULT_CONSUMER_POLICY_POLL_MS } from './consumer/consumer-policy-source.js';
export type {
  ConsumerPolicyListener,
  ConsumerPolicySourceOptions,
  ConsumerPolicyState,
} from './consumer/consumer-policy-source.js';
export { ConsumerPolicyMetrics } from './observability/consumer-policy-metrics.js';
export { SwitchyardExceptionFilter } from './consumer/switchyard-exception-filter.js';
export { runHandlerDirectly } from './consumer/event-context.js';
export type {
  DecodedEvent,
  DeliveryContext,
  EventContext,
  EventDecoder,
  HandlerOutcome,
  HandlerRunner,
  IncomingMessage,
  IncomingProperties,
} from './consumer/event-context.js';

export type { FailureRoutes } from './consumer/failure-routing.js';
export {
  deadLetterHeaders,
  describeFailure,
  FailureRouter,
  MAX_ERROR_MESSAGE_LENGTH,
  NonRetriableError,
  rejectionReason,
  retryHeaders,
} from './consumer/failure-routing.js';
export type { FailedDelivery, FailureDecision, FailureDescription, FailureRouterOptions } from './consumer/failure-routing.js';
export { BROKER_DEATH_HEADERS, HEADERS } from './message-headers.js';

export { noopObserver } from './observability/messaging-observer.js';
export type {
  ConsumedEvent,
  ConsumeOutcome,
  DeadLetteredEvent,
  MessagingObserver,
  PublishedEvent,
  PublishOutcome,
  RetryEvent,
} from './observability/messaging-observer.js';
export { errorFields, maskUrl, silentLogger } from './observability/messaging-logger.js';
export type { MessagingLogger } from './observability/messaging-logger.js';
export {
  ChannelClosedError,
  ConnectionClosedError,
  MessagingError,
  PublishNackError,
  PublishTimeoutError,
  TopologyConflictError,
  UnroutableMessageError,
} from './messaging-errors.js';

export {
  DEFAULT_LIST_LIMIT,
  listDeadLetters,
  purgeDeadLetters,
  replayDeadLetters,
  resolveDeadLetterQueue,
  showDeadLetter,
  summarizeDeadLetter,
} from './dlq/dlq-admin.js';
export type { DeadLetter, DeadLetterList, DeadLetterSummary, ReplayOptions, ReplayResult } from './dlq/dlq-admin.js';
