import { DEFAULT_DELIVERY_LIMIT, DEFAULT_EXCHANGE, DEFAULT_PREFETCH } from '@switchyard/messaging/topology';
import { z } from 'zod';
import { durationSchema } from './duration.js';

/**
 * The spec of an EventSubscription, once: the types below are inferred from this schema, the CRD's schema is
 * generated from it (`npm run crd`), and the operator checks with it the objects that never passed an API server
 * (a unit test's fixture, a manifest read from disk), which are neither defaulted nor validated. Descriptions are
 * the CRD's (what `kubectl explain` prints). What a JSON schema cannot say (the CRD's CEL rules) is in
 * crd-overlay.ts, and the operator checks the same in `resolveSubscriptionSpec`.
 */

/** DNS-1123 label: the service's name as Kubernetes names it. */
export const SERVICE_PATTERN = '^[a-z0-9]([-a-z0-9]*[a-z0-9])?$';
/** `<service>.<purpose>`; the tier and DLQ suffixes are refused separately (RE2, which the API server uses, has no lookahead). */
export const QUEUE_PATTERN = '^[a-z0-9][a-z0-9-]*\\.[a-z0-9][a-z0-9.-]*$';
/** AMQP names the broker accepts and that are safe in a routing key or a policy pattern. */
export const AMQP_NAME_PATTERN = '^[A-Za-z0-9][A-Za-z0-9_.:-]*$';
/** A concrete event type; topic wildcards (`*`, `#`) would bind more than the consumer decodes. */
export const EVENT_TYPE_PATTERN = '^[a-z0-9]+([._-][a-z0-9]+)*$';
/** Room left in 255-byte AMQP names for the longest suffix the plan appends (`.retry.<9 digits>ms`). */
export const MAX_QUEUE_NAME_LENGTH = 200;

/** Default retry policy: 6 attempts, the messaging layer's tiers (1 s, 5 s, 30 s, 2 min, 10 min), as the CRD defaults it. */
export const DEFAULT_RETRY: Readonly<RetrySpec> = Object.freeze({
  maxAttempts: 6,
  backoff: { delays: ['1s', '5s', '30s', '2m', '10m'] },
});
/** Default work-queue type: quorum (replicated, delivery limit, at-least-once dead-lettering). */
export const DEFAULT_QUEUE_TYPE: QueueType = 'quorum';
/** Default: broker objects outlive the resource, so deleting YAML never deletes messages. */
export const DEFAULT_DELETION_POLICY: DeletionPolicy = 'Retain';
/** Default: with deletionPolicy Delete, queues that still hold messages are kept (and a Warning says so). */
export const DEFAULT_NON_EMPTY_QUEUE_POLICY: NonEmptyQueuePolicy = 'Retain';

// The minimum lengths follow from the patterns; they are spelled out for the CRD (and come after the pattern, so a
// bad name is reported by the pattern's message).
const amqpName = z
  .string()
  .max(255)
  .regex(new RegExp(AMQP_NAME_PATTERN))
  .min(1)
  .refine((name) => !name.startsWith('amq.'), 'must not start with amq. (reserved by RabbitMQ)');
const queueTypeSchema = z.enum(['quorum', 'classic']);
const retainOrDelete = z.enum(['Retain', 'Delete']);

const subscribedEventSchema = z
  .object({
    type: z
      .string()
      .max(255)
      .regex(new RegExp(EVENT_TYPE_PATTERN), 'must be an event type like user.created (no wildcards)')
      .min(1)
      .describe('Event type, e.g. user.created. No wildcards.'),
    /** Absent: every version the consumer decodes. */
    versions: z
      .array(z.number().int().min(1).max(1000))
      .max(100)
      .optional()
      .describe('Accepted versions; empty or absent means every version the consumer decodes.'),
  })
  .strict();

const exponentialBackoffSchema = z
  .object({
    initial: durationSchema,
    multiplier: z.number().gt(1).max(10),
    max: durationSchema,
  })
  .strict()
  .describe('Delay i is min(initial * multiplier^i, max); once max is reached, the remaining retries wait max each.');

/** Exactly one of `delays` or `exponential` (checked by `retryDelaysOf`, and by the CRD's `oneOf`). */
const backoffSchema = z
  .object({
    delays: z
      .array(
        durationSchema.describe(
          'A duration, an integer and a unit (ms, s, m, h), at most 2147483647ms (about 24.8 days).',
        ),
      )
      .max(19)
      .optional()
      .describe('One delay per retry, e.g. [1s, 5s, 30s]; retries with the same delay share a tier queue.'),
    exponential: exponentialBackoffSchema.optional(),
  })
  .strict()
  .describe('Exactly one of delays or exponential.');

const retrySpecSchema = z
  .object({
    maxAttempts: z
      .number()
      .int()
      .min(1)
      .max(20)
      .describe('Attempts including the first; after the last, the message goes to the DLQ.'),
    backoff: backoffSchema,
  })
  .strict();

const deadLetterSpecSchema = z
  .object({
    queue: amqpName
      .optional()
      .describe('Dead-letter queue, <service>.<name> like the work queue; defaults to <queue>.dlq.'),
    maxLength: z
      .number()
      .int()
      .min(1)
      .max(2_147_483_647)
      .optional()
      .describe('Cap on messages kept in the DLQ (new dead letters are refused beyond it).'),
    messageTtl: durationSchema
      .optional()
      .describe('How long a dead letter is kept, as a duration (7 days is 168h), at most 2147483647ms.'),
  })
  .strict()
  .describe('Where messages go when they cannot be processed.');

export const eventSubscriptionSpecSchema = z
  .object({
    service: z
      .string()
      .max(63)
      .regex(new RegExp(SERVICE_PATTERN), 'must be a DNS-1123 label, e.g. order-service')
      .min(1)
      .describe('The consuming service (DNS-1123 label); its ConfigMap is <service>-consumer-policy.'),
    queue: z
      .string()
      .max(MAX_QUEUE_NAME_LENGTH)
      .regex(new RegExp(QUEUE_PATTERN), 'must look like <service>.<purpose>, e.g. order-service.user-events')
      .min(3)
      .refine(
        (queue) => !queue.endsWith('.dlq') && !queue.includes('.retry.'),
        'must not end with .dlq or contain .retry. (those names belong to its DLQ and retry tiers)',
      )
      .describe(
        'The work queue, <service>.<purpose>. Immutable; retry tiers are <queue>.retry.<delay>, the DLQ defaults to <queue>.dlq.',
      ),
    exchange: amqpName.default(DEFAULT_EXCHANGE).describe('Topic exchange the events are published to.'),
    queueType: queueTypeSchema
      .default(DEFAULT_QUEUE_TYPE)
      .describe('Work-queue type. RabbitMQ cannot change it in place; the operator refuses a change (see status).'),
    events: z
      .array(subscribedEventSchema)
      .min(1)
      .max(100)
      .describe('Event types to bind (routing keys), each with the versions the consumer accepts.'),
    retry: retrySpecSchema
      .default(() => structuredClone(DEFAULT_RETRY) as RetrySpec)
      .describe('Attempts and backoff; each delay is a retry tier queue.'),
    deliveryLimit: z
      .number()
      .int()
      .min(1)
      .max(1000)
      .default(DEFAULT_DELIVERY_LIMIT)
      .describe(
        'Redeliveries before a quorum work queue dead-letters a message that kills its consumer (quorum only).',
      ),
    /** Absent: `<queue>.dlq`, no limits. */
    deadLetter: deadLetterSpecSchema.optional(),
    prefetch: z
      .number()
      .int()
      .min(1)
      .max(1000)
      .default(DEFAULT_PREFETCH)
      .describe('Unacknowledged messages per consumer.'),
    paused: z.boolean().default(false).describe('Stop consuming without undeploying; messages wait in the queue.'),
    deletionPolicy: retainOrDelete
      .default(DEFAULT_DELETION_POLICY)
      .describe('What happens to the queues when this resource is deleted; Retain leaves them on the broker.'),
    nonEmptyQueuePolicy: retainOrDelete
      .default(DEFAULT_NON_EMPTY_QUEUE_POLICY)
      .describe(
        'With deletionPolicy Delete, Retain keeps queues that still hold messages (with a Warning event); Delete deletes them anyway.',
      ),
  })
  .strict()
  .describe('What the service consumes and how failures are retried and dead-lettered.');

/**
 * The spec exactly as the user wrote it: fields with CRD defaults are optional, because objects that did not pass
 * through an API server (e.g. a unit test's fixture) are not defaulted.
 */
export type EventSubscriptionSpec = z.input<typeof eventSubscriptionSpecSchema>;
export type SubscribedEvent = z.input<typeof subscribedEventSchema>;
export type ExponentialBackoff = z.input<typeof exponentialBackoffSchema>;
export type Backoff = z.input<typeof backoffSchema>;
export type RetrySpec = z.input<typeof retrySpecSchema>;
export type DeadLetterSpec = z.input<typeof deadLetterSpecSchema>;
export type QueueType = z.infer<typeof queueTypeSchema>;
export type DeletionPolicy = z.infer<typeof retainOrDelete>;
export type NonEmptyQueuePolicy = z.infer<typeof retainOrDelete>;
