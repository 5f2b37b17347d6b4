import type { SqlTransaction, TransactionRunner } from '../sql-transaction.js';
import { NonRetriableError } from './failure-routing.js';

/** Delivery facts the inbox needs; the transport's delivery context has them. */
export interface InboxDelivery {
  eventId: string;
  type: string;
  queue: string;
  /** `payloadHash(type, data)` of this delivery (hex SHA-256), kept with the id to tell a replay from a reused id. */
  payloadHash: string;
}

const SHA256_HEX = /^[0-9a-f]{64}$/;

/**
 * The event id is already in the inbox with another payload: a producer reused an id (or two producers collided).
 * Acking it as a duplicate would drop an event nobody handled; running the handler would give one id two effects.
 * Non-retriable, dead-lettered as `conflicting_duplicate`; its message names both hashes.
 */
export class ConflictingDuplicateError extends NonRetriableError {
  readonly deadLetterReason = 'conflicting_duplicate' as const;
  readonly recordedHash: string;
  readonly deliveredHash: string;

  constructor(delivery: InboxDelivery, recordedHash: string) {
    super(
      `event ${delivery.eventId} (${delivery.type}) is already in the inbox of ${delivery.queue} with payload sha256 ` +
        `${recordedHash}; this delivery's is ${delivery.payloadHash}`,
    );
    this.recordedHash = recordedHash;
    this.deliveredHash = delivery.payloadHash;
  }
}

/**
 * Records an event as handled by `delivery.queue`, in the handler's transaction. Returns false when it was
 * already recorded with the same payload hash: the event is a duplicate and the handler must not run. A concurrent
 * duplicate blocks on the first one's row until that transaction ends, so exactly one of them records it.
 * Throws `ConflictingDuplicateError` when it was recorded with another hash. A row written before the inbox kept
 * hashes (payload_hash NULL) cannot be compared and counts as the same payload, as every duplicate did before.
 */
export async function recordInInbox(tx: SqlTransaction, delivery: InboxDelivery): Promise<boolean> {
  if (!SHA256_HEX.test(delivery.payloadHash))
    throw new TypeError(
      `inbox: payloadHash of event ${delivery.eventId} must be a hex SHA-256, not '${delivery.payloadHash}'`,
    );
  const inserted = await tx.$executeRawUnsafe(
    `INSERT INTO inbox_events (consumer, event_id, event_type, payload_hash) VALUES ($1, $2::uuid, $3, decode($4, 'hex'))
     ON CONFLICT DO NOTHING`,
    delivery.queue,
    delivery.eventId,
    delivery.type,
    delivery.payloadHash,
  );
  if (inserted === 1) return true;
  // A new statement sees the row the INSERT waited for (READ COMMITTED takes a fresh snapshot per statement).
  const recorded = await tx.$queryRawUnsafe<Array<{ payload_hash: string | null }>>(
    `SELECT encode(payload_hash, 'hex') AS payload_hash FROM inbox_events WHERE consumer = $1 AND event_id = $2::uuid`,
    delivery.queue,
    delivery.eventId,
  );
  // No row: the retention purge removed it in between; like a NULL hash, nothing to compare with.
  const recordedHash = recorded[0]?.payload_hash ?? null;
  if (recordedHash !== null && recordedHash !== delivery.payloadHash)
    throw new ConflictingDuplicateError(delivery, recordedHash);
  return false;
}

/**
 * The transport's handler runner for a service with a database: one transaction holds the inbox record and
 * everything the handler writes (including outbox rows), so a redelivered event has exactly one effect.
 */
export function inboxHandlerRunner<Tx extends SqlTransaction>(transaction: TransactionRunner<Tx>) {
  return (delivery: InboxDelivery, invoke: (tx: Tx) => Promise<void>): Promise<'processed' | 'duplicate'> =>
    transaction(async (tx) => {
      if (!(await recordInInbox(tx, delivery))) return 'duplicate' as const;
      await invoke(tx);
      return 'processed' as const;
    });
}
