// Public API of @switchyard/contracts: event contracts, the catalog, the wire envelope and the docs model.

export { DATASCHEMA_BASE_URI, dataschemaUri, defineEvent } from './event-contract.js';
export type { EventContract, EventData, EventDataBase, EventDefinition, EventSchema } from './event-contract.js';

export { EventRejectedError, REJECTION_REASONS } from './event-rejected-error.js';
export type { EventRejectionDetails, FieldIssue, RejectionReason } from './event-rejected-error.js';

export { defineUpcaster } from './upcaster.js';
export type { Upcaster } from './upcaster.js';

export { EventCatalog, defineCatalog } from './event-catalog.js';
export type {
  CatalogKnown,
  CatalogLatest,
  DecodedEvent,
  EventFamily,
  EventFamilyDefinition,
  ReceivedEvent,
} from './event-catalog.js';

export { OrderCancelledV1 } from './events/order-cancelled.js';
export { OrderPlacedV1 } from './events/order-placed.js';
export {
  DEFAULT_LOCALE,
  DEFAULT_MARKETING_OPT_IN,
  UserCreatedV1,
  UserCreatedV2,
  userCreatedV1ToV2,
} from './events/user-created.js';
export { UserDeletedV1 } from './events/user-deleted.js';
export { UserUpdatedV1 } from './events/user-updated.js';

export { eventCatalog } from './switchyard-catalog.js';
export type {
  EventType,
  KnownEventContract,
  LatestContractOf,
  LatestEventContract,
  LatestEventData,
} from './switchyard-catalog.js';

export { EVENTS_EXCHANGE } from './event-exchange.js';

export {
  ACCEPTED_CLOUDEVENTS_HEADER_PREFIXES,
  ACCEPTED_CLOUDEVENTS_HEADERS,
  CLOUDEVENTS_HEADER_ATTRIBUTES,
  CLOUDEVENTS_HEADER_PREFIX,
  CLOUDEVENTS_SPEC_VERSION,
  cloudEventsHeader,
  EVENT_CONTENT_TYPE,
  EVENT_HEADERS,
  fromWireMessage,
  toWireMessage,
} from './wire-envelope.js';
export type { CloudEventsHeaderAttribute } from './wire-envelope.js';
export type {
  EventHeaderName,
  EventHeaders,
  IncomingEvent,
  IncomingWireMessage,
  OutgoingEvent,
  WireMessage,
  WirePublishProperties,
} from './wire-envelope.js';

export {
  ASYNCAPI_ID,
  ASYNCAPI_VERSION,
  buildAsyncApiDocument,
  CONTRACTS_VERSION,
  eventJsonSchema,
  renderEventDocs,
} from './event-docs.js';
export { DOCUMENTED_DELIVERY_LIMIT, DOCUMENTED_RETRY_DELAYS_MS, EVENT_SUBSCRIPTIONS } from './event-subscriptions.js';
export type { EventSubscription } from './event-subscriptions.js';
export type { JsonObject, JsonValue } from './event-docs.js';
