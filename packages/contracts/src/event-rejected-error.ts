/**
 * Why an incoming event cannot be processed. Every reason is permanent (retrying the same message gives the
 * same answer), so the messaging layer dead-letters it instead of retrying.
 */
export type RejectionReason =
  | 'unknown_event_type'
  | 'unsupported_version'
  | 'schema_invalid'
  | 'malformed_json'
  | 'missing_header'
  /** The content type or encoding says the body is not plain JSON. */
  | 'unsupported_content_type'
  /** The routing key the event was published with names another event type than the event itself. */
  | 'misrouted'
  /** Published with a header only the broker or the transport may set (a death history, an attempt count). */
  | 'forged_header';

/** Every reason, e.g. to pre-declare metric labels. */
export const REJECTION_REASONS: readonly RejectionReason[] = Object.freeze([
  'unknown_event_type',
  'unsupported_version',
  'schema_invalid',
  'malformed_json',
  'missing_header',
  'unsupported_content_type',
  'misrouted',
  'forged_header',
]);

/** One bad field: its dotted path (`items.0.quantity`, `data` for the whole payload) and what is wrong. */
export interface FieldIssue {
  readonly path: string;
  readonly message: string;
}

export interface EventRejectionDetails {
  readonly eventType?: string | undefined;
  readonly version?: number | undefined;
  /** Filled for `schema_invalid`. */
  readonly issues?: readonly FieldIssue[] | undefined;
}

/** Thrown when an event cannot be accepted. Messages name fields, never values: event data may hold PII. */
export class EventRejectedError extends Error {
  readonly reason: RejectionReason;
  readonly eventType: string | undefined;
  readonly version: number | undefined;
  readonly issues: readonly FieldIssue[];

  constructor(reason: RejectionReason, message: string, details: EventRejectionDetails = {}) {
    super(message);
    this.name = 'EventRejectedError';
    this.reason = reason;
    this.eventType = details.eventType;
    this.version = details.version;
    this.issues = details.issues ?? [];
  }
}
