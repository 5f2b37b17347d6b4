import { deadLetterQueueName } from '@switchyard/messaging/topology';
import {
  eventSubscriptionSpecSchema,
  InvalidSubscriptionSpecError,
  parseDuration,
  type DeletionPolicy,
  type EventSubscriptionSpec,
  type NonEmptyQueuePolicy,
  type QueueType,
} from '../api/v1alpha1/index.js';
import { retryDelaysOf } from './retry-delays.js';

/**
 * The spec with every default applied and every rule of the CRD checked, because objects that never passed an API
 * server (a unit test's fixture, a manifest read from disk) are neither defaulted nor validated. The CRD's schema is
 * generated from the same zod schema; its CEL rules (x-kubernetes-validations, api/v1alpha1/crd-overlay.ts) are
 * checked here again, and k8s/test/eventsubscription-crd.spec.ts keeps the two in step.
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

/**
 * Applies the CRD's defaults and checks every rule; throws `InvalidSubscriptionSpecError` naming the first bad field.
 * Unknown fields are an error (the API server would prune them; here a typo should not pass silently).
 */
export function resolveSubscriptionSpec(spec: EventSubscriptionSpec | unknown): ResolvedSubscriptionSpec {
  const result = eventSubscriptionSpecSchema.safeParse(spec);
  if (!result.success) {
    const issue = result.error.issues[0]!;
    throw new InvalidSubscriptionSpecError(['spec', ...issue.path.map(String)].join('.'), issue.message);
  }
  const parsed = result.data;
  // A service's queues are `<service>.*`: anything else is another service's (its broker user may read only its own).
  if (!parsed.queue.startsWith(`${parsed.service}.`)) {
    throw new InvalidSubscriptionSpecError(
      'spec.queue',
      `must be named <service>.<purpose>: start with '${parsed.service}.'`,
      'QueueOutsideService',
    );
  }
  const types = parsed.events.map((event) => event.type);
  const duplicate = types.find((type, i) => types.indexOf(type) !== i);
  if (duplicate !== undefined)
    throw new InvalidSubscriptionSpecError('spec.events', `event type '${duplicate}' is listed twice`);
  parsed.events.forEach((event, i) => {
    if (event.versions !== undefined && new Set(event.versions).size !== event.versions.length)
      throw new InvalidSubscriptionSpecError(`spec.events.${i}.versions`, 'lists a version twice');
  });

  const retryDelaysMs = retryDelaysOf(parsed.retry);
  const deadLetter = parsed.deadLetter ?? {};
  const deadLetterQueue = deadLetter.queue ?? deadLetterQueueName(parsed.queue);
  if (deadLetterQueue === parsed.queue || deadLetterQueue.startsWith(`${parsed.queue}.retry.`)) {
    throw new InvalidSubscriptionSpecError(
      'spec.deadLetter.queue',
      `must differ from the work queue '${parsed.queue}' and its retry tiers`,
    );
  }
  if (!deadLetterQueue.startsWith(`${parsed.service}.`)) {
    throw new InvalidSubscriptionSpecError(
      'spec.deadLetter.queue',
      `must start with '${parsed.service}.' (a service's dead letters go to a queue of its own), got '${deadLetterQueue}'`,
      'QueueOutsideService',
    );
  }
  const messageTtlMs =
    deadLetter.messageTtl === undefined
      ? undefined
      : parseDuration(deadLetter.messageTtl, 'spec.deadLetter.messageTtl');

  return {
    service: parsed.service,
    queue: parsed.queue,
    exchange: parsed.exchange,
    queueType: parsed.queueType,
    events: parsed.events.map((event) => ({ type: event.type, versions: [...(event.versions ?? [])] })),
    maxAttempts: parsed.retry.maxAttempts,
    retryDelaysMs,
    deliveryLimit: parsed.deliveryLimit,
    deadLetter: {
      queue: deadLetterQueue,
      ...(deadLetter.maxLength !== undefined && { maxLength: deadLetter.maxLength }),
      ...(messageTtlMs !== undefined && { messageTtlMs }),
    },
    prefetch: parsed.prefetch,
    paused: parsed.paused,
    deletionPolicy: parsed.deletionPolicy,
    nonEmptyQueuePolicy: parsed.nonEmptyQueuePolicy,
  };
}
