// `@switchyard/messaging/outbox-admin`: listing, retrying and discarding parked outbox rows, and `switchyard outbox`.
export { OUTBOX_USAGE, outboxMain } from './outbox-cli.js';
export { DEFAULT_PARKED_LIST_LIMIT, discardParkedRows, listParkedRows, retryParkedRows } from './outbox-admin.js';
export type {
  OutboxDatabase,
  ParkedOutboxList,
  ParkedOutboxRow,
  ParkedRowSelection,
  ParkedRowsResult,
} from './outbox-admin.js';
