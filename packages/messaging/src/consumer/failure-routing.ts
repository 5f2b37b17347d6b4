import { RpcException } from '@nestjs/microservices';
import {
  ACCEPTED_CLOUDEVENTS_HEADER_PREFIXES,
  ACCEPTED_CLOUDEVENTS_HEADERS,
  EVENT_HEADERS,
} from '@switchyard/contracts';
import type { Message } from 'amqplib';
import { randomUUID } from 'node:crypto';
import type { EventPublisher, PublishProperties } from '../publishing/event-publisher.js';
import { fitHeaders, type HeaderPriorities } from '../publishing/header-budget.js';
import { HEADERS, headersOf, stringHeader } from '../message-headers.js';
import { type RepublishRoute, traceRepublish } from '../observability/message-tracing.js';
import { type MessagingObserver, notify } from '../observability/messaging-observer.js';
import { deadLetterQueueName, retryQueueName } from '../topology/topology-plan.js';
import { type DeadLetterReason, isDeadLetterReason } from './dead-letter-reason.js';

/** Longest `x-error-message` / `x-last-error` kept: enough to diagnose, small enough for AMQP headers and logs. */
export const MAX_ERROR_MESSAGE_LENGTH = 500;

const NON_RETRIABLE = Symbol.for('switchyard.non-retriable');

/** Shape of a `NonRetriableError` after Nest's exception layer has turned it into a plain error object. */
interface NonRetriablePayload {
  status: 'error';
  message: string;
  errorClass: string;
  [NON_RETRIABLE]: true;
}

/**
 * Thrown by a handler when retrying cannot help (the event contradicts local state, a business rule rejects it):
 * the message goes straight to the DLQ with reason `non_retriable`. It is an `RpcException` underneath, so it
 * keeps its meaning even after Nest's default exception filter has turned it into a plain error object.
 * Subclass it freely; the subclass name becomes `x-error-class`.
 */
export class NonRetriableError extends RpcException {
  readonly nonRetriable = true;

  constructor(message: string) {
    const payload: NonRetriablePayload = {
      status: 'error',
      message,
      errorClass: new.target.name,
      [NON_RETRIABLE]: true,
    };
    super(payload);
    this.name = new.target.name;
  }
}

/** How a failure is recorded and routed. */
export interface FailureDescription {
  errorClass: string;
  /** Single line, truncated, without stack. */
  message: string;
  nonRetriable: boolean;
}

/**
 * Describes whatever a handler (or runner, or decoder) threw. Nest's default exception filter replaces unknown
 * errors with `{ status: 'error', message: 'Internal server error' }` before the transport sees them; install
 * `SwitchyardExceptionFilter` to keep the real class and message in the retry and dead-letter headers.
 */
export function describeFailure(error: unknown): FailureDescription {
  if (error instanceof NonRetriableError)
    return { errorClass: error.name, message: clip(error.message), nonRetriable: true };
  if (isRecord(error) && error[NON_RETRIABLE] === true) {
    return {
      errorClass: typeof error.errorClass === 'string' ? error.errorClass : 'NonRetriableError',
      message: clip(String(error.message ?? '')),
      nonRetriable: true,
    };
  }
  if (error instanceof Error)
    return { errorClass: error.name || 'Error', message: clip(error.message), nonRetriable: false };
  if (isRecord(error) && typeof error.message === 'string')
    return { errorClass: 'Error', message: clip(error.message), nonRetriable: false };
  return { errorClass: typeof error, message: clip(String(error)), nonRetriable: false };
}

/** The `reason` of a decoder's rejection, when it gave one this transport knows (else the caller says `decode_failed`). */
export function rejectionReason(error: unknown): DeadLetterReason | undefined {
  return isRecord(error) && isDeadLetterReason(error.reason) ? error.reason : undefined;
}

export interface FailureRouterOptions {
  publisher: EventPublisher;
  service: string;
  queue: string;
  retryDelaysMs: readonly number[];
  /** Default `<queue>.dlq`. */
  deadLetterQueue?: string;
  observer: MessagingObserver;
}

/** The parts of the routing a live consumer policy may change. */
export interface FailureRoutes {
  retryDelaysMs: readonly number[];
  deadLetterQueue: string;
}

export interface FailedDelivery {
  message: Message;
  eventType: string;
  /** The attempt that just failed (1-based). */
  attempt: number;
  failure: FailureDescription;
  /** Set to send it straight to the DLQ with this reason (decode error, unknown type, non-retriable). */
  deadLetterReason?: DeadLetterReason | undefined;
  /**
   * The delivery is the transport's own copy back from a retry tier (`isRetryCopy`): only then are its
   * `x-original-*` headers the transport's record; on anything else they are a producer's, and the copies record
   * the delivery's own exchange and routing key instead. Default false.
   */
  retryCopy?: boolean;
}

export type FailureDecision = 'retry' | 'dead_letter';

/**
 * Sends a failed delivery on: to the next retry tier while tiers remain, else (or when it is not retriable) to
 * the DLQ. Resolves once the broker confirmed the copy; only then may the caller ack the original. Rejects when
 * the copy could not be published: the caller must then leave the original to be redelivered.
 */
export class FailureRouter {
  private routes: FailureRoutes;

  constructor(private readonly options: FailureRouterOptions) {
    this.routes = {
      retryDelaysMs: [...options.retryDelaysMs],
      deadLetterQueue: options.deadLetterQueue ?? deadLetterQueueName(options.queue),
    };
  }

  /** Tiers and DLQ for the failures routed from now on (a consumer policy changed); the queues must exist. */
  reroute(routes: FailureRoutes): void {
    this.routes = { retryDelaysMs: [...routes.retryDelaysMs], deadLetterQueue: routes.deadLetterQueue };
  }

  current(): FailureRoutes {
    return this.routes;
  }

  async route(delivery: FailedDelivery, now: Date = new Date()): Promise<FailureDecision> {
    const { queue } = this.options;
    // One snapshot per failure: a policy change in between must not mix two tier lists.
    const { retryDelaysMs, deadLetterQueue } = this.routes;
    const { failure, attempt } = delivery;
    const reason: DeadLetterReason | undefined =
      delivery.deadLetterReason ??
      (failure.nonRetriable ? 'non_retriable' : attempt > retryDelaysMs.length ? 'retries_exhausted' : undefined);
    if (reason === undefined) {
      const delayMs = retryDelaysMs[attempt - 1]!;
      await this.republish('retry', retryQueueName(queue, delayMs), delivery.message, retryHeaders(delivery, now));
      notify(this.options.observer, 'retry', { queue, eventType: delivery.eventType, attempt, delayMs });
      return 'retry';
    }
    await this.republish(
      'dead_letter',
      deadLetterQueue,
      delivery.message,
      deadLetterHeaders(delivery, reason, this.options.service, queue, now),
    );
    notify(this.options.observer, 'deadLettered', {
      queue,
      eventType: delivery.eventType,
      reason,
      // Only when set: the event of a first delivery keeps its shape.
      ...(delivery.message.fields.redelivered === true ? { redelivered: true } : {}),
    });
    return 'dead_letter';
  }

  /** In a span of its own, linked to the delivery being handled (when traced). */
  private republish(
    route: RepublishRoute,
    queue: string,
    message: Message,
    headers: Record<string, unknown>,
  ): Promise<void> {
    const { publisher } = this.options;
    return traceRepublish(route, queue, publisher.endpoint, () =>
      publisher.sendToQueue(queue, message.content, {
        ...copyProperties(message),
        headers: fitHeaders(headers, COPY_HEADER_PRIORITIES),
      }),
    );
  }
}

/**
 * What a copy keeps longest when its headers must shrink: the failure bookkeeping and the event's identity are
 * essential (the DLQ tools and inboxes need them); trace context and the rest of the envelope go only after every
 * header of the producer's own.
 */
const COPY_HEADER_PRIORITIES: HeaderPriorities = {
  essential: new Set([
    HEADERS.attempt,
    HEADERS.deathReason,
    HEADERS.errorClass,
    HEADERS.errorMessage,
    HEADERS.attempts,
    HEADERS.consumerService,
    HEADERS.consumerQueue,
    HEADERS.firstFailureAt,
    HEADERS.lastFailureAt,
    HEADERS.originalRoutingKey,
    HEADERS.originalExchange,
    HEADERS.originalUserId,
    // Every accepted spelling: a copy of a message sent with a former prefix keeps it.
    ...['id', 'type', 'source', 'specversion'].flatMap((attribute) =>
      ACCEPTED_CLOUDEVENTS_HEADER_PREFIXES.map((prefix) => `${prefix}${attribute}`),
    ),
    EVENT_HEADERS.version,
  ]),
  preferred: new Set([...Object.values(HEADERS), ...Object.values(EVENT_HEADERS), ...ACCEPTED_CLOUDEVENTS_HEADERS]),
};

/** Headers of the copy sent to a retry tier: the original ones, plus attempt and failure bookkeeping. */
export function retryHeaders(delivery: FailedDelivery, now: Date): Record<string, unknown> {
  const original = headersOf(delivery.message);
  // `x-death` is the broker's own bookkeeping, and the tier's broker-side dead-lettering parses it: on RabbitMQ 3.10
  // a malformed one from a producer crashes the at-least-once dead-letter worker node-wide. The broker writes a
  // fresh one when the copy leaves its tier; our own headers keep the attempt history.
  const { 'x-death': _brokerHistory, ...kept } = original;
  return {
    ...kept,
    [HEADERS.attempt]: delivery.attempt + 1,
    [HEADERS.firstFailureAt]: stringHeader(original, HEADERS.firstFailureAt) ?? now.toISOString(),
    [HEADERS.lastError]: clip(`${delivery.failure.errorClass}: ${delivery.failure.message}`),
    ...originHeaders(delivery, original),
  };
}

/** Headers of the copy sent to the DLQ: the original ones, plus why, what, how often, when and who gave up. */
export function deadLetterHeaders(
  delivery: FailedDelivery,
  reason: DeadLetterReason,
  service: string,
  queue: string,
  now: Date,
): Record<string, unknown> {
  // `x-last-death-*` is the broker's note of its latest dead-lettering, which it rewrites whenever it dead-letters a
  // message: left off the transport's own dead letters, its presence on one in the DLQ means the broker put it there
  // (the DLQ tools' `recordedOrigin` relies on this). `x-death` keeps the full history for whoever inspects it.
  const {
    'x-last-death-reason': _lastReason,
    'x-last-death-queue': _lastQueue,
    'x-last-death-exchange': _lastExchange,
    ...original
  } = headersOf(delivery.message);
  return {
    ...original,
    [HEADERS.deathReason]: reason,
    [HEADERS.errorClass]: delivery.failure.errorClass,
    [HEADERS.errorMessage]: delivery.failure.message,
    [HEADERS.attempts]: delivery.attempt,
    [HEADERS.firstFailureAt]: stringHeader(original, HEADERS.firstFailureAt) ?? now.toISOString(),
    [HEADERS.lastFailureAt]: now.toISOString(),
    ...originHeaders(delivery, original),
    [HEADERS.consumerService]: service,
    [HEADERS.consumerQueue]: queue,
  };
}

/**
 * Where and by whom the event was first published: retries come back through the default exchange under the
 * consumer's own user-id, so a retry copy keeps the first record. Any other delivery records its own route and
 * its broker-validated user-id, whatever `x-original-*` a producer put on it: a DLQ replay publishes where, and
 * under whose identity, these headers say.
 */
function originHeaders(delivery: FailedDelivery, original: Record<string, unknown>): Record<string, string> {
  const { message } = delivery;
  const userId = typeof message.properties.userId === 'string' ? message.properties.userId : undefined;
  if (delivery.retryCopy !== true)
    return {
      [HEADERS.originalRoutingKey]: message.fields.routingKey,
      [HEADERS.originalExchange]: message.fields.exchange,
      ...(userId !== undefined ? { [HEADERS.originalUserId]: userId } : {}),
    };
  const originalUserId = stringHeader(original, HEADERS.originalUserId);
  return {
    [HEADERS.originalRoutingKey]: stringHeader(original, HEADERS.originalRoutingKey) ?? message.fields.routingKey,
    [HEADERS.originalExchange]:
      typeof original[HEADERS.originalExchange] === 'string'
        ? (original[HEADERS.originalExchange] as string)
        : message.fields.exchange,
    ...(originalUserId !== undefined ? { [HEADERS.originalUserId]: originalUserId } : {}),
  };
}

/**
 * Every property of the original worth keeping (same messageId, so inboxes still dedupe). Dropped: `expiration`
 * (it would fight the tier's TTL), `userId` (the copy carries the consumer's own; the producer's goes into
 * `x-original-user-id`),
 * and `deliveryMode` (the publisher always sets persistent). A message without an id gets one, since the DLQ
 * tools address messages by id.
 */
export function copyProperties(message: Message): PublishProperties {
  const p = message.properties;
  const props: PublishProperties = {
    messageId: typeof p.messageId === 'string' && p.messageId.length > 0 ? p.messageId : randomUUID(),
  };
  if (typeof p.type === 'string') props.type = p.type;
  if (typeof p.timestamp === 'number') props.timestamp = p.timestamp;
  if (typeof p.contentType === 'string') props.contentType = p.contentType;
  if (typeof p.contentEncoding === 'string') props.contentEncoding = p.contentEncoding;
  if (typeof p.appId === 'string') props.appId = p.appId;
  if (typeof p.correlationId === 'string') props.correlationId = p.correlationId;
  if (typeof p.priority === 'number') props.priority = p.priority;
  return props;
}

function clip(text: string): string {
  const line = text.replace(/\s+/g, ' ').trim();
  return line.length > MAX_ERROR_MESSAGE_LENGTH ? `${line.slice(0, MAX_ERROR_MESSAGE_LENGTH - 1)}…` : line;
}

function isRecord(value: unknown): value is Record<string | symbol, unknown> {
  return typeof value === 'object' && value !== null;
}
