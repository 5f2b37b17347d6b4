import {
  DEFAULT_DELIVERY_LIMIT,
  DEFAULT_EXCHANGE,
  DEFAULT_PREFETCH,
  deadLetterQueueName,
} from '@switchyard/messaging/topology';
import { z } from 'zod';
import { DURATION_PATTERN } from './duration.js';
import type {
  DeletionPolicy,
  EventSubscriptionSpec,
  NonEmptyQueuePolicy,
  QueueType,
  RetrySpec,
} from './event-subscription.js';
import { durationField, InvalidSubscriptionSpecError } from './invalid-spec-error.js';
import { retryDelaysOf } from './retry-delays.js';

/**
 * The spec with every default applied and every rule of the CRD checked, because objects that never passed an API
 * server (a unit test's fixture, a manifest read from disk) are neither defaulted nor validated. The same limits as the CRD's schema and its
 * CEL rules (x-kubernetes-validations) live here; k8s/test/eventsubscription-crd.spec.ts keeps the two in step.
 */
export interface ResolvedSubscriptionSpec {
  service: string;
  queue: string;
  exchange: string;
  queueType: QueueType;
  events: { type: string; versions: number[] }[];
  maxAttempts: number;
  /** One entry per retry, `maxAttempts - 1` of them. */
  retryDelaysMs: number[];
  deliveryLimit: number;
  deadLetter: { queue: string; maxLength?: number; messageTtlMs?: number };
  prefetch: number;
  paused: boolean;
  deletionPolicy: DeletionPolicy;
  nonEmptyQueuePolicy: NonEmptyQueuePolicy;
}

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

const duration = z.string().regex(new RegExp(DURATION_PATTERN), 'must be a duration like 500ms, 1s, 2m or 1h');
const amqpName = z
  .string()
  .max(255)
  .regex(new RegExp(AMQP_NAME_PATTERN))
  .refine((name) => !name.startsWith('amq.'), 'must not start with amq. (reserved by RabbitMQ)');

const specSchema = z
  .object({
    service: z.string().max(63).regex(new RegExp(SERVICE_PATTERN), 'must be a DNS-1123 label, e.g. order-service'),
    queue: z
      .string()
      .max(MAX_QUEUE_NAME_LENGTH)
      .regex(new RegExp(QUEUE_PATTERN), 'must look like <service>.<purpose>, e.g. order-service.user-events')
      .refine(
        (queue) => !queue.endsWith('.dlq') && !queue.includes('.retry.'),
        'must not end with .dlq or contain .retry. (those names belong to its DLQ and retry tiers)',
      ),
    exchange: amqpName.default(DEFAULT_EXCHANGE),
    queueType: z.enum(['quorum', 'classic']).default(DEFAULT_QUEUE_TYPE),
    events: z
      .array(
        z
          .object({
            type: z
              .string()
              .max(255)
              .regex(new RegExp(EVENT_TYPE_PATTERN), 'must be an event type like user.created (no wildcards)'),
            versions: z.array(z.number().int().min(1).max(1000)).max(100).default([]),
          })
          .strict(),
      )
      .min(1)
      .max(100),
    retry: z
      .object({
        maxAttempts: z.number().int().min(1).max(20),
        backoff: z
          .object({
            delays: z.array(duration).max(19).optional(),
            exponential: z
              .object({ initial: duration, multiplier: z.number().gt(1).max(10), max: duration })
              .strict()
              .optional(),
          })
          .strict(),
      })
      .strict()
      .default(() => structuredClone(DEFAULT_RETRY) as RetrySpec),
    deliveryLimit: z.number().int().min(1).max(1000).default(DEFAULT_DELIVERY_LIMIT),
    deadLetter: z
      .object({
        queue: amqpName.optional(),
        maxLength: z.number().int().min(1).max(2_147_483_647).optional(),
        messageTtl: duration.optional(),
      })
      .strict()
      .default({}),
    prefetch: z.number().int().min(1).max(1000).default(DEFAULT_PREFETCH),
    paused: z.boolean().default(false),
    deletionPolicy: z.enum(['Retain', 'Delete']).default(DEFAULT_DELETION_POLICY),
    nonEmptyQueuePolicy: z.enum(['Retain', 'Delete']).default(DEFAULT_NON_EMPTY_QUEUE_POLICY),
  })
  .strict();

/**
 * Applies the CRD's defaults and checks every rule; throws `InvalidSubscriptionSpecError` naming the first bad field.
 * Unknown fields are an error (the API server would prune them; here a typo should not pass silently).
 */
export function resolveSubscriptionSpec(spec: EventSubscriptionSpec | unknown): ResolvedSubscriptionSpec {
  const result = specSchema.safeParse(spec);
  if (!result.success) {
    const issue = result.error.issues[0]!;
    throw new InvalidSubscriptionSpecError(['spec', ...issue.path.map(String)].join('.'), issue.message);
  }
  const parsed = result.data;
  if (!parsed.queue.startsWith(`${parsed.service}.`)) {
    throw new InvalidSubscriptionSpecError(
      'spec.queue',
      `must be named <service>.<purpose>: start with '${parsed.service}.'`,
    );
  }
  const types = parsed.events.map((event) => event.type);
  const duplicate = types.find((type, i) => types.indexOf(type) !== i);
  if (duplicate !== undefined)
    throw new InvalidSubscriptionSpecError('spec.events', `event type '${duplicate}' is listed twice`);
  parsed.events.forEach((event, i) => {
    if (new Set(event.versions).size !== event.versions.length)
      throw new InvalidSubscriptionSpecError(`spec.events.${i}.versions`, 'lists a version twice');
  });

  const retryDelaysMs = retryDelaysOf(parsed.retry);
  const deadLetterQueue = parsed.deadLetter.queue ?? deadLetterQueueName(parsed.queue);
  if (deadLetterQueue === parsed.queue || deadLetterQueue.startsWith(`${parsed.queue}.retry.`)) {
    throw new InvalidSubscriptionSpecError(
      'spec.deadLetter.queue',
      `must differ from the work queue '${parsed.queue}' and its retry tiers`,
    );
  }
  let messageTtlMs: number | undefined;
  if (parsed.deadLetter.messageTtl !== undefined)
    messageTtlMs = durationField('spec.deadLetter.messageTtl', parsed.deadLetter.messageTtl);

  return {
    service: parsed.service,
    queue: parsed.queue,
    exchange: parsed.exchange,
    queueType: parsed.queueType,
    events: parsed.events.map((event) => ({ type: event.type, versions: [...event.versions] })),
    maxAttempts: parsed.retry.maxAttempts,
    retryDelaysMs,
    deliveryLimit: parsed.deliveryLimit,
    deadLetter: {
      queue: deadLetterQueue,
      ...(parsed.deadLetter.maxLength !== undefined && { maxLength: parsed.deadLetter.maxLength }),
      ...(messageTtlMs !== undefined && { messageTtlMs }),
    },
    prefetch: parsed.prefetch,
    paused: parsed.paused,
    deletionPolicy: parsed.deletionPolicy,
    nonEmptyQueuePolicy: parsed.nonEmptyQueuePolicy,
  };
}
