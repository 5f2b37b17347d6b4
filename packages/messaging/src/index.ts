// `@switchyard/messaging`: what a service author uses. The operator's topology and policy code is
// `@switchyard/messaging/topology`, the dead-letter tools `@switchyard/messaging/dlq`; everything else is internal.
export { MessagingModule } from './messaging.module.js';
export type { MessagingModuleAsyncOptions } from './messaging.module.js';
export type { EventConsumerOptions, MessagingModuleOptions } from './messaging-options.js';
export { MessagingRuntime } from './messaging-runtime.js';
export { messagingConfigShape } from './messaging-config.js';
export { MESSAGING_DATABASE_CONNECTIONS } from './database-connections.js';
export type { MessagingConfig } from './messaging-config.js';
export { ConsumeEvent } from './consume-event.decorator.js';
export type { EventHandlerMethod } from './consume-event.decorator.js';
export type { DeliveryContext, EventContext } from './consumer/event-context.js';
export { addToOutbox } from './publishing/outbox.js';
export type { OutboxAddOptions } from './publishing/outbox.js';
export { NonRetriableError } from './consumer/failure-routing.js';
export { EventHandlerDeclarationError } from './event-handler-audit.js';
export {
  ChannelClosedError,
  ConnectionClosedError,
  MessagingError,
  PublishNackError,
  PublishTimeoutError,
  TopologyConflictError,
  UnroutableMessageError,
} from './messaging-errors.js';
