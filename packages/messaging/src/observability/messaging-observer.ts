import type { DeadLetterReason } from '../consumer/dead-letter-reason.js';
/**
 * Hooks for metrics and tests. Every method is optional; an observer that throws is ignored (logged by nobody),
 * so instrumentation can never change what happens to a message.
 */
export interface MessagingObserver {
  /** A delivery was settled: acked after its handler ran, sent to a retry tier, dead-lettered, or acked as a duplicate. */
  consumed?(event: ConsumedEvent): void;
  /** A failed delivery was republished to a retry tier. */
  retry?(event: RetryEvent): void;
  /** A delivery was republished to the dead-letter queue. */
  deadLettered?(event: DeadLetteredEvent): void;
  /** A publish (events, retries, dead letters) finished, one way or the other. */
  published?(event: PublishedEvent): void;
}

export type ConsumeOutcome = 'ack' | 'retry' | 'dead_letter' | 'duplicate';
export type PublishOutcome = 'confirmed' | 'nacked' | 'returned' | 'timeout' | 'failed';

export interface ConsumedEvent {
  queue: string;
  /** The event type, or the AMQP `type`/routing key when the message could not be decoded. */
  eventType: string;
  outcome: ConsumeOutcome;
  /** Milliseconds from the event's occurrence (or AMQP timestamp) to settling; undefined when neither is known. */
  lagMs: number | undefined;
}

export interface RetryEvent {
  queue: string;
  eventType: string;
  /** The attempt that failed (1 = first delivery); the message comes back as attempt + 1. */
  attempt: number;
  /** The tier it waits in. */
  delayMs: number;
}

export interface DeadLetteredEvent {
  queue: string;
  eventType: string;
  /** `retries_exhausted`, `non_retriable`, `unknown_event_type`, a decoder's reason such as `schema_invalid`, … */
  reason: DeadLetterReason;
  /**
   * The broker had handed this delivery out before (its `redelivered` flag). Unless this consumer recognised it as
   * already routed, it may be a second copy of a dead letter whose ack was lost (on another replica, or before a
   * restart), or simply a delivery whose first handling never finished. Default false.
   */
  redelivered?: boolean;
}

export interface PublishedEvent {
  /** AMQP `type` when set, else the routing key. */
  eventType: string;
  outcome: PublishOutcome;
  /** Milliseconds from publish to the broker's answer (or to giving up). */
  confirmMs: number;
}

/** Default observer: does nothing. */
export const noopObserver: MessagingObserver = Object.freeze({});

/** Calls one observer hook, swallowing whatever it throws. */
export function notify<K extends keyof MessagingObserver>(
  observer: MessagingObserver,
  hook: K,
  event: Parameters<NonNullable<MessagingObserver[K]>>[0],
): void {
  try {
    const fn = observer[hook] as ((event: unknown) => void) | undefined;
    fn?.call(observer, event);
  } catch {
    // Instrumentation must never change what happens to a message.
  }
}
