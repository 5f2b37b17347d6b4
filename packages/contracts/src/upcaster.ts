import type { z } from 'zod';
import type { EventContract, EventData } from './event-contract.js';

/**
 * One step from version N of an event to N+1. It receives data already valid for N; the catalog validates
 * what it returns against N+1, so a faulty upcaster cannot hand a handler data its types lie about.
 */
export interface Upcaster<From extends EventContract = EventContract, To extends EventContract = EventContract> {
  readonly from: From;
  readonly to: To;
  // Method syntax on purpose: it lets a typed upcaster sit in a catalog's list of upcasters of any event.
  upcast(data: EventData<From>): z.input<To['schema']>;
}

export function defineUpcaster<From extends EventContract, To extends EventContract<From['type']>>(
  from: From,
  to: To,
  upcast: (data: EventData<From>) => z.input<To['schema']>,
): Upcaster<From, To> {
  if (from.type !== to.type) throw new TypeError(`an upcaster cannot turn ${from.type} into ${to.type}`);
  if (to.version !== from.version + 1) {
    throw new TypeError(`${from.type}: an upcaster goes one version up, not v${from.version} to v${to.version}`);
  }
  return Object.freeze({ from, to, upcast });
}
