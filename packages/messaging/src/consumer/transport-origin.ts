import type { Message } from 'amqplib';
import { HEADERS, headersOf } from '../message-headers.js';

/** Every `x-original-*` header the transport writes on its retry and dead-letter copies. */
export const ORIGIN_HEADERS: readonly string[] = Object.freeze([
  HEADERS.originalExchange,
  HEADERS.originalRoutingKey,
  HEADERS.originalUserId,
]);

/**
 * Whether a delivery is the transport's own retry copy coming back from one of `queue`'s retry tiers, the only
 * kind of delivery whose `x-original-*` headers the transport wrote. The test is the broker's `x-death`: a tier
 * dead-letters its expired copy back through the default exchange and prepends an `expired` entry naming the tier,
 * and the transport strips any incoming `x-death` from the copies it sends to a tier (failure-routing.ts), so that
 * entry is the broker's. A producer publishing to an exchange cannot fake this (the delivery's exchange is not the
 * default one, and the decoder refuses an `x-death` there). A client allowed to publish to the default exchange
 * (every service may: its own retry copies go through it) can write into the tier queues themselves, so with
 * `ownUser` (the consumer's broker identity) the copy must also carry that `user-id`: the broker validates it, so
 * only this consumer's own identity can have sent the copy to the tier.
 */
export function isRetryCopy(queue: string, message: Pick<Message, 'fields' | 'properties'>, ownUser?: string): boolean {
  if (message.fields.exchange !== '') return false;
  if (ownUser !== undefined && message.properties.userId !== ownUser) return false;
  const deaths = headersOf(message)['x-death'];
  if (!Array.isArray(deaths) || deaths.length === 0) return false;
  const latest: unknown = deaths[0];
  if (typeof latest !== 'object' || latest === null) return false;
  const { reason, queue: from } = latest as Record<string, unknown>;
  return reason === 'expired' && typeof from === 'string' && from.startsWith(`${queue}.retry.`);
}

/**
 * The `x-original-*` headers a delivery carries although it is not one of the transport's retry copies
 * (`retryCopy`, from `isRetryCopy`): a producer set them, to steer where the transport's copies and a DLQ replay
 * would go. Empty when there are none.
 */
export function forgedOriginHeaders(message: Pick<Message, 'properties'>, retryCopy: boolean): string[] {
  if (retryCopy) return [];
  const headers = headersOf(message);
  return ORIGIN_HEADERS.filter((name) => headers[name] !== undefined);
}
