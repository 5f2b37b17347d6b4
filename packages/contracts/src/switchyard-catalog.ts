import { defineCatalog, type CatalogKnown, type CatalogLatest } from './event-catalog.js';
import type { EventData } from './event-contract.js';
import { OrderCancelledV1 } from './events/order-cancelled.js';
import { OrderPlacedV1 } from './events/order-placed.js';
import { UserCreatedV1, UserCreatedV2, userCreatedV1ToV2 } from './events/user-created.js';
import { UserDeletedV1 } from './events/user-deleted.js';
import { UserUpdatedV1 } from './events/user-updated.js';

/** Every Switchyard event. A new version goes last in its list, with the upcaster from the one before. */
export const eventCatalog = defineCatalog({
  'user.created': {
    producer: 'user-service',
    versions: [UserCreatedV1, UserCreatedV2],
    upcasters: [userCreatedV1ToV2],
  },
  'user.updated': { producer: 'user-service', versions: [UserUpdatedV1] },
  'user.deleted': { producer: 'user-service', versions: [UserDeletedV1] },
  'order.placed': { producer: 'order-service', versions: [OrderPlacedV1] },
  'order.cancelled': { producer: 'order-service', versions: [OrderCancelledV1] },
});

/** The contracts publishers may emit: the latest version of each type. */
export type LatestEventContract = CatalogLatest<typeof eventCatalog>;
/** Every contract version the catalog knows. */
export type KnownEventContract = CatalogKnown<typeof eventCatalog>;
/** `'user.created' | 'user.updated' | ...` */
export type EventType = LatestEventContract['type'];
/** The latest contract of one type, e.g. `LatestContractOf<'user.created'>` is `typeof UserCreatedV2`. */
export type LatestContractOf<T extends EventType> = Extract<LatestEventContract, { readonly type: T }>;
/** The data of the latest version of one type. */
export type LatestEventData<T extends EventType> = EventData<LatestContractOf<T>>;
