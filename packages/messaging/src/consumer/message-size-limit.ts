/**
 * Largest message body the consumer hands to the decoder by default: 1 MiB. The largest legitimate event is an
 * `order.placed` with order-service's maximum of 100 items (64-character SKUs, 5-digit quantities, 9-digit prices):
 * about 11 KiB of JSON, and no producer accepts an HTTP body over 100 KiB (`BODY_LIMIT_BYTES`). 1 MiB leaves
 * roughly 90 times that room for new fields and versions, and is small enough that parsing it cannot threaten a
 * pod's memory limit. The chart's RabbitMQ refuses anything over its own `max_message_size` (8 MiB) at publish time;
 * between the two limits a message reaches the consumer and is dead-lettered as `message_too_large`, so a producer's
 * oversized event shows up in the DLQ with a reason instead of as a failed publish only its producer sees.
 */
export const DEFAULT_MAX_MESSAGE_BYTES = 1024 * 1024;

/** The error a body over the limit is dead-lettered with; its size is known without reading it. */
export class MessageTooLargeError extends Error {
  readonly nonRetriable = true;

  constructor(
    readonly sizeBytes: number,
    readonly limitBytes: number,
  ) {
    super(`the message body is ${sizeBytes} bytes, over the consumer's limit of ${limitBytes} bytes`);
    this.name = 'MessageTooLargeError';
  }
}
