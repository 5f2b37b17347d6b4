import type { SqlTransaction, TransactionRunner } from '../sql-transaction.js';

/** Delivery facts the inbox needs; the transport's delivery context has them. */
export interface InboxDelivery {
  eventId: string;
  type: string;
  queue: string;
}

/**
 * Records an event as handled by `delivery.queue`, in the handler's transaction. Returns false when it was
 * already recorded: the event is a duplicate and the handler must not run. A concurrent duplicate blocks on
 * the first one's row until that transaction ends, so exactly one of them records it.
 */
export async function recordInInbox(tx: SqlTransaction, delivery: InboxDelivery): Promise<boolean> {
  const inserted = await tx.$executeRawUnsafe(
    `INSERT INTO inbox_events (consumer, event_id, event_type) VALUES ($1, $2::uuid, $3) ON CONFLICT DO NOTHING`,
    delivery.queue,
    delivery.eventId,
    delivery.type,
  );
  return inserted === 1;
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
