import type { Message } from 'amqplib';
import { createHash } from 'node:crypto';
import type { FailureDecision } from './failure-routing.js';

/** Deliveries remembered as routed: 10,000 (about 2 MB), far more than a consumer has in flight when its channel dies. */
export const ROUTED_DELIVERIES_KEPT = 10_000;

/** How long a routed delivery is remembered: 1 h, longer than a broker restart or a reconnect with backoff takes. */
export const ROUTED_DELIVERY_MEMORY_MS = 60 * 60_000;

/**
 * The failed deliveries whose retry or dead-letter copy the broker confirmed, so that one coming back (the ack of the
 * original was lost: its channel or connection died between the confirm and the ack) is acked instead of copied
 * again, which would leave two retry copies or two dead letters of one event.
 *
 * Safe by construction: a delivery is remembered only after its copy was confirmed, and recognised only when the
 * broker marks it `redelivered` and it is byte-for-byte the same delivery (id, route, properties, headers, body), so
 * a copy that was never published, a later attempt, a replay (`x-replayed-at`) or a producer's other message with the
 * same id is routed as usual. In memory, per consumer: a delivery that comes back to another replica, or after this
 * process restarted, is copied again; the DLQ tools count, replay and discard such copies once per event id.
 */
export class RoutedDeliveries {
  /** Fingerprint → when it was routed and where; oldest first (a Map keeps insertion order). */
  private readonly routed = new Map<string, { at: number; decision: FailureDecision }>();

  constructor(
    private readonly kept: number = ROUTED_DELIVERIES_KEPT,
    private readonly memoryMs: number = ROUTED_DELIVERY_MEMORY_MS,
  ) {}

  /** The copy of `message` was confirmed (call before acking the original). */
  remember(message: Message, decision: FailureDecision, now: number = Date.now()): void {
    const key = deliveryFingerprint(message);
    this.routed.delete(key);
    this.routed.set(key, { at: now, decision });
    this.forgetOld(now);
  }

  /** Where the copy of this redelivered message went, when this consumer routed it before; else undefined. */
  routedBefore(message: Message, now: number = Date.now()): FailureDecision | undefined {
    if (message.fields.redelivered !== true || this.routed.size === 0) return undefined;
    this.forgetOld(now);
    return this.routed.get(deliveryFingerprint(message))?.decision;
  }

  get size(): number {
    return this.routed.size;
  }

  private forgetOld(now: number): void {
    for (const [key, { at }] of this.routed) {
      if (this.routed.size <= this.kept && now - at < this.memoryMs) break;
      this.routed.delete(key);
    }
  }
}

/**
 * Headers the broker itself changes when it hands a message back: a quorum queue counts deliveries in
 * `x-delivery-count` (RabbitMQ 4 also `x-acquired-count`).
 */
const REDELIVERY_HEADERS: ReadonlySet<string> = new Set(['x-delivery-count', 'x-acquired-count']);

/**
 * Identifies one delivered message across its redeliveries: the broker hands back the same route, properties and
 * body; the headers come back in another order, and with the redelivery counters above, which are left out.
 */
export function deliveryFingerprint(message: Message): string {
  const { exchange, routingKey } = message.fields;
  const { headers, ...properties } = message.properties as Message['properties'] & { headers?: unknown };
  const kept =
    typeof headers === 'object' && headers !== null
      ? Object.fromEntries(Object.entries(headers).filter(([name]) => !REDELIVERY_HEADERS.has(name)))
      : {};
  return createHash('sha256')
    .update(canonicalJson([exchange, routingKey, properties, kept]))
    .update('\u0000')
    .update(message.content)
    .digest('hex');
}

/** JSON with object keys sorted at every level, so that the same values in another order give the same text. */
function canonicalJson(value: unknown): string {
  return JSON.stringify(value, (_key, item: unknown) => {
    if (typeof item === 'bigint') return `${item}n`;
    if (typeof item !== 'object' || item === null || Array.isArray(item)) return item;
    return Object.fromEntries(Object.entries(item).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
  });
}
