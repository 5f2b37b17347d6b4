/**
 * Who consumes what: each consuming service's work queue and the event types it handles, for the AsyncAPI document's
 * `receive` operations and queue channels. The services declare the same queues (their `EVENT_QUEUE` in `src/app.module.ts`) and handlers
 * (`@ConsumeEvent`); `switchyard-asyncapi.spec.ts` in the messaging package checks the queue names against its topology plan.
 */
export interface EventSubscription {
  /** The consuming service. */
  readonly service: string;
  /** Its work queue, `<service>.<purpose>`. */
  readonly queue: string;
  /** The event types it handles (every version of each is accepted and upcast). */
  readonly eventTypes: readonly string[];
}

export const EVENT_SUBSCRIPTIONS: readonly EventSubscription[] = Object.freeze([
  {
    service: 'order-service',
    queue: 'order-service.user-events',
    eventTypes: ['user.created', 'user.updated', 'user.deleted'],
  },
  { service: 'user-service', queue: 'user-service.order-events', eventTypes: ['order.placed', 'order.cancelled'] },
]);

/**
 * The default retry tiers (1 s, 5 s, 30 s, 2 min, 10 min), as the messaging package's `DEFAULT_RETRY_DELAYS_MS`;
 * a deployment may configure others (`MESSAGING_RETRY_DELAYS_MS`, or an EventSubscription).
 */
export const DOCUMENTED_RETRY_DELAYS_MS: readonly number[] = Object.freeze([1_000, 5_000, 30_000, 120_000, 600_000]);

/** Work queues' `x-delivery-limit`, as the messaging package's `DEFAULT_DELIVERY_LIMIT`. */
export const DOCUMENTED_DELIVERY_LIMIT = 20;

/** `1000` → `1s`, `120000` → `2m`: a retry tier's suffix, as the messaging package names tiers. */
export function retryTierSuffix(ms: number): string {
  if (ms % 3_600_000 === 0) return `${ms / 3_600_000}h`;
  if (ms % 60_000 === 0) return `${ms / 60_000}m`;
  if (ms % 1_000 === 0) return `${ms / 1_000}s`;
  return `${ms}ms`;
}
