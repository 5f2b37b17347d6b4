import { InvalidDurationError, parseDuration } from './duration.js';

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

/** Parses a duration, naming the field when it is malformed or out of range. */
export function durationField(field: string, text: string): number {
  try {
    return parseDuration(text);
  } catch (error) {
    if (error instanceof InvalidDurationError) throw new InvalidSubscriptionSpecError(field, error.message);
    throw error;
  }
}
