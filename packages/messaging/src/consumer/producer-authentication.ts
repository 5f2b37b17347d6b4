import type { Message } from 'amqplib';
import type { FailureDescription } from './failure-routing.js';

/** The broker identity allowed to publish an event type (the event catalog's producer); undefined: nobody. */
export type ProducerOf = (eventType: string) => string | undefined;

/**
 * Producer authentication: whether a decoded event was published by the identity the catalog names for its type.
 * RabbitMQ validates the `user-id` property against the publishing connection's user, so it names who really
 * published, unless it is missing (counted as forged: nothing vouches for it). The consumer's own retry copies
 * (`retryCopy`, which `isRetryCopy` grants only under the consumer's own user-id) carry its own identity and pass:
 * their first delivery was checked. A DLQ replay is published under the recorded producer's identity (the DLQ
 * tooling may impersonate), so it is checked like a first delivery. Returns the failure to dead-letter it with, or
 * undefined when it is authentic (or no check is configured).
 */
export function checkProducer(
  producerOf: ProducerOf | undefined,
  eventType: string,
  message: Pick<Message, 'properties'>,
  retryCopy: boolean,
): FailureDescription | undefined {
  if (!producerOf || retryCopy) return undefined;
  const expected = producerOf(eventType);
  const userId: unknown = message.properties.userId;
  if (expected !== undefined && userId === expected) return undefined;
  const publishedBy = typeof userId === 'string' ? `user-id '${userId}'` : 'no user-id';
  return {
    errorClass: 'ForgedProducerError',
    message:
      expected === undefined
        ? `${eventType} has no producer in the event catalog; published with ${publishedBy}`
        : `${eventType} is published by '${expected}' only; this one came with ${publishedBy}`,
    nonRetriable: true,
  };
}
