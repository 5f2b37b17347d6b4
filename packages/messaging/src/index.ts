// `@switchyard/messaging`: what a service author uses. The operator's topology and policy code is
// `@switchyard/messaging/topology`, the dead-letter tools `@switchyard/messaging/dlq`; everything else is internal.
export { MessagingModule, MessagingRuntime } from './messaging.module.js';
export type { MessagingOptions } from './messaging.module.js';
export { OnEvent } from './on-event.decorator.js';
export type { EventHandlerMethod } from './on-event.decorator.js';
export type { DeliveryContext, EventContext } from './consumer/event-context.js';
export { addToOutbox } from './publishing/outbox.js';
export type { OutboxAddOptions } from './publishing/outbox.js';
export { NonRetriableError } from './consumer/failure-routing.js';
export {
  ChannelClosedError,
  ConnectionClosedError,
  MessagingError,
  PublishNackError,
  PublishTimeoutError,
  TopologyConflictError,
  UnroutableMessageError,
} from './messaging-errors.js';

// TODO(H4 merge): the services still wire the transport themselves; these go once `forRootAsync` does it.
export { connectEventTransport } from './messaging.module.js';
export type { EventTransportOptions } from './messaging.module.js';
export { inboxHandlerRunner } from './consumer/inbox.js';
