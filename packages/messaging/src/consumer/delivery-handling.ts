import type { MessageHandler } from '@nestjs/microservices';
import type { ConsumeMessage } from 'amqplib';
import type { RabbitMqConnection } from '../connection/rabbitmq-connection.js';
import { markDeliveryFailed, traceDelivery } from '../observability/message-tracing.js';
import { errorFields, type MessagingLogger } from '../observability/messaging-logger.js';
import { type ConsumeOutcome, type MessagingObserver, notify } from '../observability/messaging-observer.js';
import type { ConsumerChannel } from './consumer-channel.js';
import { ownDeadLetterReason } from './dead-letter-reason.js';
import type { DecodedEvent, DeliveryContext, EventDecoder, HandlerOutcome, HandlerRunner } from './event-context.js';
import {
  describeFailure,
  type FailedDelivery,
  type FailureDecision,
  type FailureRouter,
  rejectionReason,
} from './failure-routing.js';
import type { InFlightDeliveries } from './in-flight-deliveries.js';
import { attemptOf, deliveryTarget, invokeHandler, lagOf, toIncomingMessage } from './incoming-delivery.js';
import { payloadHash } from './payload-hash.js';
import { MessageTooLargeError } from './message-size-limit.js';
import { RoutedDeliveries } from './routed-deliveries.js';
import { checkProducer, type ProducerOf } from './producer-authentication.js';
import { forgedOriginHeaders, isRetryCopy } from './transport-origin.js';

/** Pause before handing a message back after its retry/DLQ copy could not be published, so a broken route cannot spin. */
export const REQUEUE_DELAY_MS = 1_000;

export interface DeliveryHandlingOptions {
  connection: RabbitMqConnection;
  queue: string;
  decode: EventDecoder;
  /** Largest body handed to `decode`; a larger one is dead-lettered as `message_too_large` without being parsed. */
  maxMessageBytes: number;
  runHandler: HandlerRunner;
  /**
   * The broker identity that may publish each event type (the event catalog's producer); when given, a decoded
   * event whose `user-id` is another (or none) is dead-lettered as `forged_producer` (`checkProducer`).
   */
  producerOf?: ProducerOf | undefined;
  /** This consumer's own broker identity (its connection's user): the `user-id` its own retry copies carry. */
  ownUser?: string | undefined;
  router: FailureRouter;
  observer: MessagingObserver;
  log: MessagingLogger;
  inFlight: InFlightDeliveries;
  /** The registered handler of an event type (Nest's `getHandlerByPattern`). */
  handlerFor(eventType: string): MessageHandler | undefined;
  /** `close()` has begun: no pause before handing a message back. */
  isStopping(): boolean;
  /** The shutdown wait for in-flight deliveries is over. */
  isStopped(): boolean;
}

/** A failed delivery as the consumer routes it: where it came from, and its lag for the metrics. */
interface ConsumedFailure extends FailedDelivery {
  message: ConsumeMessage;
  consumer: ConsumerChannel;
  lagMs: number | undefined;
}

/**
 * Per delivery: decode → find the handler → run it through the `HandlerRunner` (inbox transaction) → ack. Failures
 * go through the retry tiers and end in the DLQ (`FailureRouter`); the original is acked only after its copy is
 * confirmed. Manual acks only, always on the channel the delivery came from and only while that channel lives.
 */
export class DeliveryHandling {
  /** Failed deliveries whose copy was confirmed: one that comes back because its ack was lost is not copied again. */
  private readonly routed = new RoutedDeliveries();

  constructor(private readonly options: DeliveryHandlingOptions) {}

  /** Handles `message` in the background, tracked as in flight until it is settled. */
  receive(consumer: ConsumerChannel, message: ConsumeMessage): void {
    const { queue, connection, log } = this.options;
    // After the shutdown wait: leave it unacked, the channel closes and the broker requeues it.
    if (this.options.isStopped()) return;
    const task = traceDelivery(deliveryTarget(queue, connection.endpoint, message, this.options.ownUser), () =>
      this.handle(consumer, message),
    ).catch((error: unknown) => {
      log.error({ queue, ...errorFields(error) }, 'unexpected error while settling a delivery');
    });
    this.options.inFlight.track(task);
  }

  private async handle(consumer: ConsumerChannel, raw: ConsumeMessage): Promise<void> {
    const { queue, observer } = this.options;
    const message = toIncomingMessage(raw);
    const attempt = attemptOf(raw);
    const fallbackType = message.properties.type ?? raw.fields.routingKey;
    const delivered = { consumer, message: raw, attempt, retryCopy: isRetryCopy(queue, raw, this.options.ownUser) };

    const routedBefore = this.routed.routedBefore(raw);
    if (routedBefore !== undefined) return this.ackRoutedAgain(consumer, raw, fallbackType, routedBefore);

    // Before decoding: the size is known without reading the body, and a huge one must never reach JSON.parse.
    if (raw.content.length > this.options.maxMessageBytes) return this.rejectTooLarge(consumer, raw, fallbackType);
    const forged = forgedOriginHeaders(raw, delivered.retryCopy);
    if (forged.length > 0) {
      const failure = {
        errorClass: 'ForgedHeaderError',
        message: `published with ${forged.join(', ')}, which only the transport's own retry copies carry`,
        nonRetriable: true,
      };
      return this.fail({
        ...delivered,
        eventType: fallbackType,
        failure,
        deadLetterReason: 'forged_header',
        lagMs: lagOf(undefined, message),
      });
    }

    let event: DecodedEvent;
    try {
      event = this.options.decode(message);
    } catch (error) {
      return this.fail({
        ...delivered,
        eventType: fallbackType,
        failure: describeFailure(error),
        deadLetterReason: rejectionReason(error) ?? 'decode_failed',
        lagMs: lagOf(undefined, message),
      });
    }
    const lagMs = lagOf(event.occurredAt, message);

    const forgedProducer = checkProducer(this.options.producerOf, event.type, raw, delivered.retryCopy);
    if (forgedProducer)
      return this.fail({
        ...delivered,
        eventType: event.type,
        failure: forgedProducer,
        deadLetterReason: 'forged_producer',
        lagMs,
      });

    const handler = this.options.handlerFor(event.type);
    if (!handler || !handler.isEventHandler) {
      const failure = {
        errorClass: 'UnknownEventTypeError',
        message: `no handler for '${event.type}' on queue ${queue}`,
        nonRetriable: true,
      };
      return this.fail({
        ...delivered,
        eventType: event.type,
        failure,
        deadLetterReason: 'unknown_event_type',
        lagMs,
      });
    }

    const delivery: DeliveryContext = {
      eventId: event.eventId,
      type: event.type,
      version: event.version,
      attempt,
      queue,
      correlationId: event.correlationId,
      occurredAt: event.occurredAt,
      traceparent: event.traceparent,
      tracestate: event.tracestate,
      headers: message.properties.headers,
      payloadHash: payloadHash(event.type, event.data),
    };
    let outcome: HandlerOutcome;
    try {
      outcome = await this.options.runHandler(delivery, (tx) =>
        invokeHandler(handler, event.data, { ...delivery, tx }),
      );
    } catch (error) {
      const failure = describeFailure(error);
      this.options.log.warn(
        {
          queue,
          eventId: event.eventId,
          eventType: event.type,
          attempt,
          errorClass: failure.errorClass,
          error: failure.message,
        },
        'event handler failed',
      );
      return this.fail({
        ...delivered,
        eventType: event.type,
        failure,
        deadLetterReason: failure.nonRetriable ? (ownDeadLetterReason(error) ?? 'non_retriable') : undefined,
        lagMs,
      });
    }
    const settled: ConsumeOutcome = outcome === 'duplicate' ? 'duplicate' : 'ack';
    if (consumer.ack(raw))
      notify(observer, 'consumed', {
        queue,
        eventType: event.type,
        outcome: settled,
        lagMs: lagOf(event.occurredAt, message),
      });
  }

  /**
   * Dead-letters a body over the size limit unparsed. Not through a copy like other failures: publishing it again
   * would hold one more copy of the body in amqplib's socket buffer (about 90 MB more for 50 MiB, measured), so the
   * broker moves it to the DLQ itself (the work queue's dead-letter route, at-least-once). The transport rejects
   * nothing else, so the DLQ tools read the broker's `rejected` from a work queue as `message_too_large`.
   */
  private rejectTooLarge(consumer: ConsumerChannel, raw: ConsumeMessage, eventType: string): void {
    const { queue, log, maxMessageBytes } = this.options;
    const failure = describeFailure(new MessageTooLargeError(raw.content.length, maxMessageBytes));
    markDeliveryFailed(failure.errorClass, 'message_too_large');
    if (!consumer.reject(raw)) return;
    log.warn(
      {
        queue,
        eventId: raw.properties.messageId as unknown,
        eventType,
        reason: 'message_too_large',
        sizeBytes: raw.content.length,
        limitBytes: maxMessageBytes,
      },
      'event dead-lettered',
    );
    notify(this.options.observer, 'deadLettered', { queue, eventType, reason: 'message_too_large' });
    notify(this.options.observer, 'consumed', { queue, eventType, outcome: 'dead_letter', lagMs: undefined });
  }

  /**
   * A redelivery of a failed delivery whose retry or dead-letter copy this consumer already saw confirmed (the ack
   * was lost with its channel or connection): the event lives on in that copy, so this one is only acked, as the
   * original would have been, and counted as a duplicate, not as another retry or dead letter.
   */
  private ackRoutedAgain(
    consumer: ConsumerChannel,
    raw: ConsumeMessage,
    eventType: string,
    routedTo: FailureDecision,
  ): void {
    const { queue, log, observer } = this.options;
    if (!consumer.ack(raw)) return;
    log.info(
      { queue, eventId: raw.properties.messageId as unknown, eventType, routedTo },
      'redelivered after its copy was confirmed (the ack was lost); acked without a second copy',
    );
    notify(observer, 'consumed', { queue, eventType, outcome: 'duplicate', lagMs: undefined });
  }

  /** Retry or dead-letter a failed delivery; ack the original only once its copy is confirmed. */
  private async fail(failed: ConsumedFailure): Promise<void> {
    const { queue, log } = this.options;
    const { consumer, message, eventType, attempt, failure, deadLetterReason, retryCopy, lagMs } = failed;
    markDeliveryFailed(failure.errorClass, deadLetterReason ?? 'failed');
    if (!consumer.alive) {
      // Its channel is gone: the broker redelivers it anyway, a copy now would only be a duplicate.
      return;
    }
    let decision: FailureDecision;
    try {
      decision = await this.options.router.route({ message, eventType, attempt, failure, deadLetterReason, retryCopy });
    } catch (error) {
      log.error(
        { queue, eventId: message.properties.messageId as unknown, eventType, ...errorFields(error) },
        'could not publish the retry/dead-letter copy; the message goes back to the queue',
      );
      if (!this.options.isStopping()) await new Promise((resolve) => setTimeout(resolve, REQUEUE_DELAY_MS).unref());
      consumer.nackRequeue(message);
      return;
    }
    // Only now, with the copy confirmed: remembered before the publish, a copy that never happened could be skipped.
    this.routed.remember(message, decision);
    if (decision === 'dead_letter') {
      log.warn(
        {
          queue,
          eventId: message.properties.messageId as unknown,
          eventType,
          attempt,
          reason: deadLetterReason ?? (failure.nonRetriable ? 'non_retriable' : 'retries_exhausted'),
        },
        'event dead-lettered',
      );
    }
    if (consumer.ack(message))
      notify(this.options.observer, 'consumed', { queue, eventType, outcome: decision, lagMs });
  }
}
