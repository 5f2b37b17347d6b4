/** A spec that cannot be reconciled; `field` is the JSON path, e.g. `spec.retry.backoff.delays`. */
export class InvalidSubscriptionSpecError extends Error {
  override name = 'InvalidSubscriptionSpecError';
  constructor(
    readonly field: string,
    readonly problem: string,
  ) {
    super(`${field}: ${problem}`);
  }
}
