import { randomUUID } from 'node:crypto';
import { type EventData, eventCatalog, type LatestEventContract } from '@switchyard/contracts';
import { activeTraceHeaders } from '../observability/message-tracing.js';
import type { SqlTransaction } from '../sql-transaction.js';

/** Postgres channel the outbox notifies on commit; the relay listens, and polls in case a notification is missed. */
export const OUTBOX_NOTIFY_CHANNEL = 'switchyard_outbox';

/**
 * Wake-ups one process sends: at most {@link OUTBOX_NOTIFY_BURST} per {@link OUTBOX_NOTIFY_WINDOW_MS} (4 per 10 ms).
 * A transaction that NOTIFYs takes a database-wide lock at commit and holds it through its WAL flush, so notifying
 * transactions commit one at a time: with a NOTIFY in every outbox write, 32 concurrent writers lost group commit
 * (bench: ~630 instead of ~3,700 commits/s). Small bursts still notify on every write, so the relay never misses
 * them; under sustained load the writes that keep coming keep waking it. A write that skips the hint is found by
 * the relay's next wake-up or poll.
 */
export const OUTBOX_NOTIFY_BURST = 4;
export const OUTBOX_NOTIFY_WINDOW_MS = 10;
/** When this process last notified, oldest first (at most OUTBOX_NOTIFY_BURST entries). */
const recentNotifies: number[] = [];

function mayNotify(now: number): boolean {
  if (recentNotifies.length >= OUTBOX_NOTIFY_BURST && now - recentNotifies[0]! < OUTBOX_NOTIFY_WINDOW_MS) return false;
  recentNotifies.push(now);
  if (recentNotifies.length > OUTBOX_NOTIFY_BURST) recentNotifies.shift();
  return true;
}

export interface OutboxAddOptions {
  /** Defaults to a new UUID; pass one to make a retried business operation idempotent. */
  eventId?: string;
  /** Ties the event to what caused it (a request id, or the event being handled). Defaults to the event id. */
  correlationId?: string;
  /** W3C trace context the relay's publish span continues; defaults to the active span's (none when untraced). */
  traceparent?: string;
  tracestate?: string;
  /**
   * Events with the same key are published in the order they were written (see docs/messaging.md, "Ordering").
   * Defaults to the value of the contract's `orderingKey` field (the aggregate id: `userId` for user.*, `orderId`
   * for order.*), or to the event id (no order relative to other events) for a contract that declares none.
   */
  orderingKey?: string;
}

/** Longer keys are refused: the key is indexed, and an aggregate id is far shorter. */
export const MAX_ORDERING_KEY_LENGTH = 200;

/**
 * Writes an event inside the caller's transaction: it is published if and only if the transaction commits.
 * The data is validated against its contract here, so a bad event fails the business write instead of
 * poisoning the relay.
 */
export async function addToOutbox<C extends LatestEventContract>(
  tx: SqlTransaction,
  contract: C,
  data: NoInfer<EventData<C>>,
  options: OutboxAddOptions = {},
): Promise<string> {
  // Publishers emit only the latest version; the type parameter says so, this says it to JavaScript callers too.
  if (!eventCatalog.isLatest(contract))
    throw new TypeError(`${contract.type} v${contract.version} is not the latest version of its event`);
  const payload = contract.schema.parse(data);
  const eventId = options.eventId ?? randomUUID();
  const orderingKey = orderingKeyOf(contract, payload, options.orderingKey ?? null) ?? eventId;
  // A caller-supplied context is kept whole: its tracestate belongs to its traceparent, not to the active span.
  const traceContext = options.traceparent
    ? { traceparent: options.traceparent, tracestate: options.tracestate }
    : activeTraceHeaders();
  await tx.$executeRawUnsafe(
    `INSERT INTO outbox_events (id, event_type, event_version, payload, correlation_id, traceparent, tracestate, ordering_key)
     VALUES ($1::uuid, $2, $3, $4::jsonb, $5, $6, $7, $8)`,
    eventId,
    contract.type,
    contract.version,
    JSON.stringify(payload),
    options.correlationId ?? null,
    traceContext.traceparent ?? null,
    traceContext.tracestate ?? null,
    orderingKey,
  );
  // Delivered only on commit (and dropped on rollback): a prompt wake-up for the relay, never the only one.
  if (mayNotify(performance.now())) await tx.$executeRawUnsafe(`SELECT pg_notify($1, '')`, OUTBOX_NOTIFY_CHANNEL);
  return eventId;
}

/** The caller's key, else the contract's key field; null when neither says (the caller falls back to the event id). */
function orderingKeyOf(contract: LatestEventContract, payload: unknown, explicit: string | null): string | null {
  const source = explicit !== null ? 'the orderingKey option' : `${contract.type} field ${contract.orderingKey}`;
  const key = explicit ?? (contract.orderingKey ? (payload as Record<string, unknown>)[contract.orderingKey] : null);
  if (key === null) return null;
  if (typeof key !== 'string' || key === '' || key.length > MAX_ORDERING_KEY_LENGTH)
    throw new TypeError(
      `${source} must be a non-empty string of at most ${MAX_ORDERING_KEY_LENGTH} characters to serve as ordering key`,
    );
  return key;
}
