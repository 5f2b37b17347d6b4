import {
  planConsumerTopology,
  TopologyConflictError,
  topologyInputOf,
  type ChannelFactory,
  type ConsumerPolicy,
  type TopologyPlan,
} from '@switchyard/messaging/topology';
import { applySubscriptionTopology, type ApplyOptions } from './apply-subscription-topology.js';
import {
  InvalidSubscriptionSpecError,
  subscriptionKey,
  type AppliedTopology,
  type EventSubscription,
  type EventSubscriptionStatus,
} from '../api/v1alpha1/index.js';
import type { SubscriptionEvent } from './subscription-event.js';
import { observeQueues, type QueueObservation } from './queue-observation.js';
import { findCondition, mergeConditions, readyCondition, type ConditionUpdate } from './subscription-conditions.js';
import { appliedTopologyOf, consumerPolicyOf } from './subscription-policy.js';
import { earlierClaimant } from './shared-queues.js';
import { fenceOf, LeadershipLostError, type SubscriptionContext } from './subscription-context.js';
import { resolveSubscriptionSpec, type ResolvedSubscriptionSpec } from './subscription-spec.js';
import { findUnsafeTopologyChange } from './unsafe-topology-change.js';
import { toError } from '../errors.js';

export type { SubscriptionEvent } from './subscription-event.js';
export { finalizeSubscription } from './finalize-subscription.js';
export type { FinalizeOutcome } from './finalize-subscription.js';
export { DROPPED_TIER_GRACE_MS } from './apply-subscription-topology.js';
export { LeadershipLostError } from './subscription-context.js';
export type { SubscriptionContext } from './subscription-context.js';

/**
 * How soon to look at a healthy subscription again, so depth and consumers in status stay fresh: 30 s, the
 * contract's STATUS_REFRESH_SECONDS default. The runtime may use its own configured interval instead.
 */
export const DEFAULT_STATUS_REFRESH_MS = 30_000;

export interface ReconcileOutcome {
  /** Complete status to write via the status subresource (merge patch). */
  status: EventSubscriptionStatus;
  /** Policy to write to the service's ConfigMap; undefined = leave the ConfigMap alone (e.g. a refused unsafe change keeps the last good policy). */
  policy: ConsumerPolicy | undefined;
  events: SubscriptionEvent[];
  /** Look again later (status refresh); undefined together with `error`. */
  requeueAfterMs: number | undefined;
  /** Transient failure (broker down…): the runtime requeues with per-key rate-limited backoff. */
  error: Error | undefined;
}

interface ResolvedSubscription {
  spec: ResolvedSubscriptionSpec;
  policy: ConsumerPolicy;
  plan: TopologyPlan;
}

/**
 * `context` (from the runtime): `otherSubscriptions` makes a second claim on the same queue (older wins) a
 * `QueueClaimed` condition without broker changes; `isActive` fences every broker write to the current leader
 * (false: `LeadershipLostError`, status returned unchanged, nothing to write).
 *
 * One reconcile of one subscription: resolve the spec, refuse unsafe changes, declare the topology (and remove
 * what is no longer in it), observe the queues, and say all of it in status. Never throws: broker failures come
 * back as `error` (transient, requeue), everything the user must fix as a condition.
 *
 * Events are emitted when something changes (a new generation, a condition reason that differs from the last
 * one), not on every status refresh.
 */
export async function reconcileSubscription(
  subscription: EventSubscription,
  broker: ChannelFactory,
  now: Date = new Date(),
  context?: SubscriptionContext,
): Promise<ReconcileOutcome> {
  const previous = subscription.status ?? {};
  const generation = subscription.metadata.generation;
  const firstLookAtGeneration = previous.observedGeneration !== generation;
  const resolved = resolve(subscription);
  const fence = fenceOf(context);
  const claimant =
    resolved instanceof InvalidSubscriptionSpecError
      ? undefined
      : earlierClaimant(subscription, resolved.spec.queue, context?.otherSubscriptions);
  const { topology, policy, events, ...applying } =
    claimant !== undefined
      ? queueClaimedBy(claimant, previous.appliedTopology)
      : await reconcileTopology(resolved, previous.appliedTopology, broker, { now, fence });
  // A replica that lost the lease says nothing: status, policy and events are the new leader's to write.
  if (applying.error instanceof LeadershipLostError)
    return { status: previous, policy: undefined, events: [], requeueAfterMs: undefined, error: applying.error };
  const applied = applying.applied;
  let error = applying.error;
  const previousTopology = findCondition(previous.conditions, 'TopologyReconciled');
  if (firstLookAtGeneration || previousTopology?.reason !== topology.reason) {
    events.unshift({
      type: topology.status === 'True' ? 'Normal' : 'Warning',
      reason: topology.reason,
      message: topology.message,
    });
  }

  const spec = resolved instanceof InvalidSubscriptionSpecError ? undefined : resolved.spec;
  const queue = applied?.queue ?? spec?.queue;
  const deadLetterQueue = applied?.deadLetterQueue ?? spec?.deadLetter.queue;
  let observation: QueueObservation | undefined;
  // A claimed queue is the other subscription's: its depth and consumers are not this one's to report.
  if (error === undefined && claimant === undefined && queue !== undefined && deadLetterQueue !== undefined) {
    try {
      observation = await observeQueues(broker, queue, deadLetterQueue);
    } catch (caught) {
      error = toError(caught);
    }
  }
  // The raw spec may be anything when it is invalid (even absent, from a client that skipped the API server).
  const raw = subscription.spec as Partial<EventSubscription['spec']> | undefined;
  const paused = spec?.paused ?? raw?.paused === true;
  const consumer = consumerCondition(
    queue,
    spec?.service ?? raw?.service ?? 'the consuming service',
    paused,
    observation,
  );

  const status: EventSubscriptionStatus = {
    ...previous,
    ...(generation !== undefined && { observedGeneration: generation }),
    conditions: mergeConditions(
      previous.conditions,
      [readyCondition(topology, consumer), topology, consumer],
      now,
      generation,
    ),
    ...(observation !== undefined && {
      queueDepth: observation.queueDepth ?? 0,
      deadLetterDepth: observation.deadLetterDepth ?? 0,
      consumers: observation.consumers,
      lastObservedTime: now.toISOString(),
    }),
    ...(applied !== undefined && { appliedTopology: applied }),
  };
  // Look again when a dropped retry tier's grace period ends, if that comes before the next refresh.
  const requeueAfterMs =
    error === undefined
      ? Math.min(DEFAULT_STATUS_REFRESH_MS, applying.nextTierDeadlineMs ?? DEFAULT_STATUS_REFRESH_MS)
      : undefined;
  return { status, policy, events, requeueAfterMs, error };
}

interface TopologyOutcome {
  topology: ConditionUpdate;
  applied: AppliedTopology | undefined;
  policy: ConsumerPolicy | undefined;
  events: SubscriptionEvent[];
  error: Error | undefined;
  nextTierDeadlineMs?: number | undefined;
}

/**
 * Two subscriptions naming one queue would fight over its bindings, tiers and ConfigMap key; the older one keeps
 * it (see `earlierClaimant`) and this one changes nothing on the broker until the other is gone or renamed.
 */
function queueClaimedBy(claimant: EventSubscription, applied: AppliedTopology | undefined): TopologyOutcome {
  const queue = claimant.status?.appliedTopology?.queue ?? claimant.spec.queue;
  return {
    applied,
    policy: undefined,
    events: [],
    error: undefined,
    topology: {
      type: 'TopologyReconciled',
      status: 'False',
      reason: 'QueueClaimed',
      message:
        `queue '${queue}' is already claimed by EventSubscription ${subscriptionKey(claimant)} (older); nothing was changed on the broker and no policy was written. ` +
        `Choose another spec.queue, or delete one of the two`,
    },
  };
}

/** The TopologyReconciled half: refuse what cannot be applied, else declare and clean up. */
async function reconcileTopology(
  resolved: ResolvedSubscription | InvalidSubscriptionSpecError,
  applied: AppliedTopology | undefined,
  broker: ChannelFactory,
  options: ApplyOptions,
): Promise<TopologyOutcome> {
  const type = 'TopologyReconciled';
  const unchanged = { applied, policy: undefined, events: [], error: undefined };
  if (resolved instanceof InvalidSubscriptionSpecError) {
    return {
      ...unchanged,
      topology: {
        type,
        status: 'False',
        reason: resolved.reason,
        message: `spec is invalid, nothing was changed on the broker: ${resolved.message}`,
      },
    };
  }
  const next = appliedTopologyOf(resolved.policy);
  const unsafe = findUnsafeTopologyChange(applied, next);
  if (unsafe !== undefined) {
    return {
      ...unchanged,
      topology: {
        type,
        status: 'False',
        reason: unsafe.reason,
        message: `${unsafe.message} Nothing was changed; consumers keep the last applied policy.`,
      },
    };
  }
  try {
    options.fence('declare the topology');
    const change = await applySubscriptionTopology(broker, resolved.plan, applied, next, options);
    return {
      applied: change.applied,
      policy: resolved.policy,
      events: change.events,
      error: undefined,
      nextTierDeadlineMs: change.nextTierDeadlineMs,
      topology: { type, status: 'True', reason: 'TopologyApplied', message: describeTopology(resolved.spec) },
    };
  } catch (caught) {
    if (caught instanceof TopologyConflictError) {
      return {
        ...unchanged,
        topology: {
          type,
          status: 'False',
          reason: 'TopologyConflict',
          message: `${caught.message}. Consumers keep the last applied policy.`,
        },
      };
    }
    const error = toError(caught);
    return {
      ...unchanged,
      error,
      topology: {
        type,
        status: 'False',
        reason: 'BrokerError',
        message: `could not apply the topology: ${error.message}`,
      },
    };
  }
}

function resolve(subscription: EventSubscription): ResolvedSubscription | InvalidSubscriptionSpecError {
  try {
    const spec = resolveSubscriptionSpec(subscription.spec);
    const policy = consumerPolicyOf(subscription.metadata, spec);
    return { spec, policy, plan: planConsumerTopology(topologyInputOf(policy)) };
  } catch (error) {
    if (error instanceof InvalidSubscriptionSpecError) return error;
    // The shared plan re-checks names and numbers with TypeErrors; anything it refuses is a spec problem too.
    if (error instanceof TypeError) return new InvalidSubscriptionSpecError('spec', error.message);
    throw error;
  }
}

function describeTopology(spec: ResolvedSubscriptionSpec): string {
  const tiers = spec.retryDelaysMs.length;
  return (
    `queue '${spec.queue}' (${spec.queueType}) bound to ${spec.events.map((event) => event.type).join(', ')} on '${spec.exchange}', ` +
    `${tiers} retry tier${tiers === 1 ? '' : 's'}, dead letters to '${spec.deadLetter.queue}'`
  );
}

/** ConsumerHealthy from what the broker reports; a paused subscription is healthy without consumers. */
export function consumerCondition(
  queue: string | undefined,
  service: string,
  paused: boolean,
  observation: QueueObservation | undefined,
): ConditionUpdate {
  const type = 'ConsumerHealthy';
  if (observation === undefined || queue === undefined)
    return { type, status: 'Unknown', reason: 'NotObserved', message: 'the queues could not be observed' };
  if (observation.queueDepth === undefined)
    return {
      type,
      status: 'Unknown',
      reason: 'QueueMissing',
      message: `queue '${queue}' does not exist on the broker`,
    };
  if (paused) {
    return {
      type,
      status: 'True',
      reason: 'Paused',
      message: `consumption is paused (spec.paused); ${observation.queueDepth} message(s) waiting in '${queue}'`,
    };
  }
  if (observation.consumers === 0) {
    return {
      type,
      status: 'False',
      reason: 'NoConsumers',
      message: `no consumer on queue '${queue}' (${observation.queueDepth} message(s) waiting): is ${service} running?`,
    };
  }
  return {
    type,
    status: 'True',
    reason: 'ConsumersAttached',
    message: `${observation.consumers} consumer(s) on queue '${queue}'`,
  };
}
