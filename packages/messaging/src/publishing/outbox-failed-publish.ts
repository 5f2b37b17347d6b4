import type pg from 'pg';
import { UnroutableMessageError } from '../messaging-errors.js';
import type { MessagingLogger } from '../observability/messaging-logger.js';
import type { OutboxRow } from './outbox-relay.js';

/** Back-off after a failed publish of a row: doubles from 1 s up to 1 min. */
const RETRY_BACKOFF_BASE_MS = 1_000;
const RETRY_BACKOFF_MAX_MS = 60_000;

/**
 * Default of `MESSAGING_OUTBOX_UNROUTABLE_MAX_ATTEMPTS`: 20 attempts, about 15 min of back-off (1 s doubling to
 * 1 min: 63 s for the first six, then a minute each). A consumer whose queue and binding arrive a few minutes after
 * the producer starts writing a new event type (the other service's rolling deploy, the operator reconciling its
 * EventSubscription) still gets the event; a type nobody binds is parked, and alerted on, within a quarter of an hour.
 */
export const DEFAULT_OUTBOX_UNROUTABLE_MAX_ATTEMPTS = 20;

/** Prefix of `last_error` on a parked row (`switchyard outbox list` shows it). */
export const PARKED_ERROR_PREFIX = 'parked: unroutable';

/** A row whose publish failed in a way another attempt may cure. */
export interface FailedPublish {
  row: OutboxRow;
  /** The failure as recorded in `last_error`. */
  error: string;
  /** The failure itself: an `UnroutableMessageError` counts towards parking, anything else does not. */
  cause: unknown;
}

/**
 * Records a failed publish in the claiming transaction. Unroutable (no queue binds the type) counts towards
 * `unroutableMaxAttempts`: the attempt that reaches it parks the row (`parked_at`, reason in `last_error`), which the
 * claim then skips for good, like a dead letter, until `switchyard outbox retry`. Every other transient failure (nack,
 * confirm timeout, channel or connection closed) is the broker's trouble, not the row's: it backs off and retries
 * without a bound. `attempts` counts all failures, so a row that was already retried for a broker outage is parked
 * sooner once unroutable: it has waited at least as long.
 */
export async function recordFailedPublish(
  client: pg.PoolClient,
  { row, error, cause }: FailedPublish,
  unroutableMaxAttempts: number,
  logger: MessagingLogger,
): Promise<'parked' | 'retrying'> {
  const attempts = row.attempts + 1;
  if (cause instanceof UnroutableMessageError && attempts >= unroutableMaxAttempts) {
    await client.query(
      `UPDATE outbox_events SET attempts = attempts + 1, last_error = $2, parked_at = now() WHERE id = $1`,
      [row.id, `${PARKED_ERROR_PREFIX} after ${attempts} attempts: ${error}`.slice(0, 1000)],
    );
    logger.error(
      { eventId: row.id, eventType: row.eventType, attempts, error },
      'outbox relay: no queue binds the event; parked (list with `switchyard outbox list`, then retry or discard)',
    );
    return 'parked';
  }
  const backoffMs = Math.min(RETRY_BACKOFF_BASE_MS * 2 ** row.attempts, RETRY_BACKOFF_MAX_MS);
  await client.query(
    `UPDATE outbox_events SET attempts = attempts + 1, last_error = $2, next_attempt_at = now() + ($3 || ' milliseconds')::interval WHERE id = $1`,
    [row.id, error.slice(0, 1000), String(backoffMs)],
  );
  logger.warn(
    { eventId: row.id, eventType: row.eventType, attempts, retryInMs: backoffMs, error },
    'outbox relay: publish failed; will retry',
  );
  return 'retrying';
}
