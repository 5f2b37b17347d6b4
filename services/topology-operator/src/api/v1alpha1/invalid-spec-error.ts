/**
 * A spec that cannot be reconciled; `field` is the JSON path, e.g. `spec.retry.backoff.delays`. `reason` is the
 * CamelCase reason of the TopologyReconciled condition and the Warning Event that report it.
 */
export class InvalidSubscriptionSpecError extends Error {
  override name = 'InvalidSubscriptionSpecError';
  constructor(
    readonly field: string,
    readonly problem: string,
    readonly reason: InvalidSpecReason = 'InvalidSpec',
  ) {
    super(`${field}: ${problem}`);
  }
}

/**
 * `QueueOutsideService`: a work queue or DLQ not named `<service>.…`, i.e. another service's queue (or nobody's):
 * refused on its own reason because it is what an attempt to reach another tenant's messages looks like.
 */
export type InvalidSpecReason = 'InvalidSpec' | 'QueueOutsideService';
