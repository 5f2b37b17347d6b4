/**
 * Errors that cross the messaging boundary. Each publish failure says what the caller should do next:
 * `PublishTimeoutError` and `ChannelClosedError` mean "outcome unknown, send again" (consumers dedupe by event
 * id), `PublishNackError` means the broker refused it, `UnroutableMessageError` means no queue is bound for it.
 */

/** Base class, so callers can catch everything this package throws with one `instanceof`. */
export class MessagingError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = new.target.name;
  }
}

/** The broker did not confirm in time. The message may or may not have been stored: send it again. */
export class PublishTimeoutError extends MessagingError {
  constructor(
    readonly messageId: string,
    readonly timeoutMs: number,
  ) {
    super(
      `no publisher confirm for message ${messageId} within ${timeoutMs} ms; the outcome is unknown, send it again`,
    );
  }
}

/** The broker answered basic.nack: it did not take responsibility for the message. */
export class PublishNackError extends MessagingError {
  constructor(readonly messageId: string) {
    super(`the broker nacked message ${messageId}`);
  }
}

/** The message reached its exchange but no queue is bound for its routing key (published with `mandatory`). */
export class UnroutableMessageError extends MessagingError {
  constructor(
    readonly messageId: string,
    readonly exchange: string,
    readonly routingKey: string,
    readonly replyText: string,
  ) {
    super(
      `message ${messageId} is unroutable: exchange '${exchange || '(default)'}' has no queue bound for '${routingKey}' (${replyText})`,
    );
  }
}

/** The channel (or its connection) went away before the broker confirmed, or there was none to publish on. */
export class ChannelClosedError extends MessagingError {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
  }
}

/** Used after `close()`: the connection will not come back. */
export class ConnectionClosedError extends MessagingError {
  constructor(message = 'the RabbitMQ connection was closed by the application') {
    super(message);
  }
}

/**
 * A declare met an existing queue or exchange declared differently (PRECONDITION_FAILED). RabbitMQ never changes
 * arguments in place: delete the object (losing its messages) or migrate, then deploy again.
 */
export class TopologyConflictError extends MessagingError {
  constructor(
    readonly kind: 'queue' | 'exchange',
    readonly objectName: string,
    readonly argument: string | undefined,
    readonly brokerMessage: string,
    options?: { cause?: unknown },
  ) {
    super(
      `${kind} '${objectName}' already exists with different ${argument ? `argument '${argument}'` : 'settings'}: ${brokerMessage}. ` +
        `RabbitMQ cannot change ${kind} arguments in place; delete or migrate the ${kind}, then declare again`,
      options,
    );
  }
}
