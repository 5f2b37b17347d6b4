import {
  type ConsumerPolicy,
  DEFAULT_PREFETCH,
  InvalidConsumerPolicyError,
  topologyInputOf,
} from '../topology/consumer-policy.js';
import {
  deadLetterQueueName,
  DEFAULT_EXCHANGE,
  DEFAULT_RETRY_DELAYS_MS,
  planConsumerTopology,
  type TopologyPlan,
} from '../topology/topology-plan.js';
import type { SwitchyardServerOptions } from './switchyard-server-options.js';

/** The settings the consumer runs with now: from the policy file, or the code defaults. */
export interface ConsumerSettings {
  queue: string;
  exchange: string;
  /** Event types the queue is bound to. */
  eventTypes: readonly string[];
  retryDelaysMs: readonly number[];
  deadLetterQueue: string;
  prefetch: number;
  /** Deliberately not consuming: the service stays ready, messages wait in the queue. */
  paused: boolean;
  /** Where they come from: the EventSubscription and generation of the policy, or undefined for the code defaults. */
  policy: { source: string; generation: number } | undefined;
  plan: TopologyPlan;
}

/** The options settings fall back to when no policy is in force. */
export type ConsumerDefaults = Pick<
  SwitchyardServerOptions,
  'queue' | 'exchange' | 'prefetch' | 'retryDelaysMs' | 'deliveryLimit' | 'deadLetter'
>;

/**
 * Settings for `policy`, or for the code defaults (`options`, with the queue bound to `handlerTypes`); throws when
 * the policy does not fit this consumer. Pure: touches no broker.
 */
export function resolveConsumerSettings(
  options: ConsumerDefaults,
  handlerTypes: readonly string[],
  policy: ConsumerPolicy | undefined,
): ConsumerSettings {
  if (policy) {
    if (policy.queue !== options.queue)
      throw new InvalidConsumerPolicyError(
        `consumer policy queue: is '${policy.queue}', but this consumer's queue is '${options.queue}'`,
      );
    const input = topologyInputOf(policy);
    const plan = planConsumerTopology(input);
    return {
      queue: options.queue,
      exchange: policy.exchange,
      eventTypes: plan.bindings.map((binding) => binding.routingKey),
      retryDelaysMs: [...policy.retryDelaysMs],
      deadLetterQueue: policy.deadLetter.queue,
      prefetch: policy.prefetch,
      paused: policy.paused,
      policy: { source: policy.source, generation: policy.generation },
      plan,
    };
  }
  const retryDelaysMs = [...(options.retryDelaysMs ?? DEFAULT_RETRY_DELAYS_MS)];
  const deadLetter = {
    ...options.deadLetter,
    queue: options.deadLetter?.queue ?? deadLetterQueueName(options.queue),
  };
  const plan = planConsumerTopology({
    exchange: options.exchange ?? DEFAULT_EXCHANGE,
    queue: options.queue,
    eventTypes: handlerTypes,
    retryDelaysMs,
    deliveryLimit: options.deliveryLimit,
    deadLetter,
  });
  return {
    queue: options.queue,
    exchange: options.exchange ?? DEFAULT_EXCHANGE,
    eventTypes: plan.bindings.map((binding) => binding.routingKey),
    retryDelaysMs,
    deadLetterQueue: deadLetter.queue,
    prefetch: options.prefetch ?? DEFAULT_PREFETCH,
    paused: false,
    policy: undefined,
    plan,
  };
}

/** The loggable part of settings (no plan), as stable JSON. */
export function describeSettings(settings: ConsumerSettings): string {
  const { exchange, eventTypes, retryDelaysMs, deadLetterQueue, prefetch, paused, policy } = settings;
  return JSON.stringify({
    exchange,
    eventTypes,
    retryDelaysMs,
    deadLetterQueue,
    prefetch,
    paused,
    policySource: policy?.source,
    policyGeneration: policy?.generation,
  });
}
