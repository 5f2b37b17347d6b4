import { REJECTION_REASONS, type RejectionReason } from '@switchyard/contracts';

/**
 * Why a delivery was sent to the dead-letter queue: its `x-death-reason` header, the `reason` label of
 * `messaging_dead_lettered_total` and the `reason` log field. A closed list, so the metric's labels stay bounded by
 * the code, never by message content.
 */
export type DeadLetterReason =
  /** The decoder rejected the message (`malformed_json`, `schema_invalid`, `unknown_event_type`, …): permanent. */
  | RejectionReason
  /** The decoder threw without a reason of its own. */
  | 'decode_failed'
  /** The handler threw a `NonRetriableError`: retrying cannot help. */
  | 'non_retriable'
  /** Every retry tier was tried. */
  | 'retries_exhausted'
  /** The event id is already in the inbox with another payload (hash): a producer reused an id, never acked silently. */
  | 'conflicting_duplicate'
  /** The body is over the consumer's size limit (`MESSAGING_MAX_MESSAGE_BYTES`); dead-lettered without being parsed. */
  | 'message_too_large'
  /** Its broker-validated `user-id` is not the producer the event catalog names for its type (or it has none). */
  | 'forged_producer';

/** Every reason, e.g. to pre-declare metric labels. */
export const DEAD_LETTER_REASONS: readonly DeadLetterReason[] = Object.freeze([
  ...REJECTION_REASONS,
  'decode_failed',
  'non_retriable',
  'retries_exhausted',
  'conflicting_duplicate',
  'message_too_large',
  'forged_producer',
]);

export function isDeadLetterReason(value: unknown): value is DeadLetterReason {
  return typeof value === 'string' && (DEAD_LETTER_REASONS as readonly string[]).includes(value);
}

/**
 * The reason an error names for itself (`deadLetterReason`, e.g. the inbox's `ConflictingDuplicateError`), when it is
 * one of ours; the transport asks only for non-retriable failures, so it never turns a retry into a dead letter.
 */
export function ownDeadLetterReason(error: unknown): DeadLetterReason | undefined {
  if (typeof error !== 'object' || error === null) return undefined;
  const reason = (error as { deadLetterReason?: unknown }).deadLetterReason;
  return isDeadLetterReason(reason) ? reason : undefined;
}
