// `@switchyard/messaging/topology`: the pure topology plan and consumer policy, and what it takes to declare them
// on a broker. Free of Nest, pg and the service kit (public-api.spec.ts checks it): the topology operator uses it.
export {
  DEFAULT_CONNECT_TIMEOUT_MS,
  DEFAULT_HEARTBEAT_SECONDS,
  DEFAULT_RECONNECT_INITIAL_DELAY_MS,
  DEFAULT_RECONNECT_MAX_DELAY_MS,
  RabbitMqConnection,
} from '../connection/rabbitmq-connection.js';
export type {
  ConnectedCallback,
  ConnectionHealth,
  RabbitMqConnectionOptions,
} from '../connection/rabbitmq-connection.js';
export { onThrowawayChannel } from '../connection/throwaway-channel.js';
export type { ChannelFactory } from '../connection/throwaway-channel.js';
export { TopologyConflictError } from '../messaging-errors.js';
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
} from './topology-plan.js';
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
} from './topology-plan.js';
export {
  CONSUMER_POLICY_API_VERSION,
  CONSUMER_POLICY_KIND,
  consumerPolicyFileName,
  consumerPolicySchema,
  DEFAULT_PREFETCH,
  InvalidConsumerPolicyError,
  parseConsumerPolicy,
  serializeConsumerPolicy,
  topologyInputOf,
} from './consumer-policy.js';
export type { ConsumerPolicy } from './consumer-policy.js';
export { declareTopology } from './declare-topology.js';
