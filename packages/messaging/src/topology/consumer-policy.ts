import { z } from 'zod';
import { type ConsumerTopologyInput, DEFAULT_EXCHANGE, WORK_QUEUE_TYPES } from './topology-plan.js';

/**
 * Default prefetch: 20 unacked deliveries, which is also how many handlers run at once. Handlers spend their time
 * in database round trips inside one transaction each, so a few dozen in flight keep the consumer busy across
 * broker and database latency, while staying near the size of a service's connection pool (more would only queue
 * for connections and time out) and bounding how many messages a crash sends back for redelivery.
 */
export const DEFAULT_PREFETCH = 20;

/**
 * The live consumer policy of one work queue: what the topology operator writes into a ConfigMap (one key per
 * queue, `<queue>.json`) once the queue's topology is on the broker, and what a service reads from the mounted
 * file. Everything a consumer needs to declare the same topology the operator did, plus the knobs that change
 * without a restart: retry delays, prefetch and pause.
 *
 * The document is versioned by `apiVersion`/`kind` so a service can refuse a policy it does not understand
 * instead of guessing. `generation` is the EventSubscription's `metadata.generation` it was rendered from.
 */
export const CONSUMER_POLICY_API_VERSION = 'switchyard.io/v1alpha1';
export const CONSUMER_POLICY_KIND = 'ConsumerPolicy';

/** Name of the ConfigMap key (and of the file in the mounted directory) that holds a queue's policy. */
export function consumerPolicyFileName(queue: string): string {
  return `${queue}.json`;
}

const positiveInt = z.number().int().positive();

export const consumerPolicySchema = z
  .object({
    apiVersion: z.literal(CONSUMER_POLICY_API_VERSION),
    kind: z.literal(CONSUMER_POLICY_KIND),
    /** The EventSubscription's `metadata.generation` this was rendered from. */
    generation: z.number().int().nonnegative(),
    /** `<namespace>/<name>` of the EventSubscription, for logs. */
    source: z.string().min(1),
    service: z.string().min(1),
    queue: z.string().min(1),
    exchange: z.string().min(1).default(DEFAULT_EXCHANGE),
    queueType: z.enum(WORK_QUEUE_TYPES as [string, ...string[]]).default('quorum'),
    /** Event types bound to the queue, each with the versions the consumer accepts (empty: every version it can decode). */
    events: z.array(z.object({ type: z.string().min(1), versions: z.array(positiveInt).default([]) }).strict()).min(1),
    /** One retry tier per delay; a message gets `retryDelaysMs.length + 1` attempts, then the DLQ. */
    retryDelaysMs: z.array(positiveInt),
    deliveryLimit: positiveInt,
    deadLetter: z
      .object({ queue: z.string().min(1), maxLength: positiveInt.optional(), messageTtlMs: positiveInt.optional() })
      .strict(),
    prefetch: positiveInt,
    paused: z.boolean(),
  })
  .strict();

export type ConsumerPolicy = z.infer<typeof consumerPolicySchema>;

/** Thrown for a policy document that is not JSON or not a valid `ConsumerPolicy`; the message names the field. */
export class InvalidConsumerPolicyError extends Error {
  override name = 'InvalidConsumerPolicyError';
}

/** Parses a policy file's text; throws `InvalidConsumerPolicyError` naming the first bad field. */
export function parseConsumerPolicy(text: string): ConsumerPolicy {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (error) {
    throw new InvalidConsumerPolicyError(`consumer policy is not JSON: ${(error as Error).message}`);
  }
  const result = consumerPolicySchema.safeParse(raw);
  if (!result.success) {
    const issue = result.error.issues[0]!;
    throw new InvalidConsumerPolicyError(`consumer policy ${issue.path.join('.') || '(root)'}: ${issue.message}`);
  }
  return result.data;
}

/** Stable text of a policy (keys in schema order, two-space indent, trailing newline): what the operator writes. */
export function serializeConsumerPolicy(policy: ConsumerPolicy): string {
  return `${JSON.stringify(consumerPolicySchema.parse(policy), null, 2)}\n`;
}

/** The topology a policy describes, for `planConsumerTopology`: identical on the operator and in the service. */
export function topologyInputOf(policy: ConsumerPolicy): ConsumerTopologyInput {
  return {
    exchange: policy.exchange,
    queue: policy.queue,
    eventTypes: policy.events.map((event) => event.type),
    retryDelaysMs: policy.retryDelaysMs,
    deliveryLimit: policy.deliveryLimit,
    queueType: policy.queueType as ConsumerTopologyInput['queueType'],
    deadLetter: { ...policy.deadLetter },
  };
}
