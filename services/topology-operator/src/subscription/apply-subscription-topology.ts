import {
  declareTopology,
  formatDelay,
  retryQueueName,
  type ChannelFactory,
  type TopologyPlan,
} from '@switchyard/messaging/topology';
import { deleteQueue, inspectQueue, unbindQueue } from './broker-queues.js';
import type { AppliedTopology, DroppedRetryTier } from '../api/v1alpha1/index.js';
import type { SubscriptionEvent } from './subscription-event.js';
import type { BrokerFence } from './subscription-context.js';

/**
 * How long a retry tier dropped from the policy stays on the broker before it may be deleted: 3 minutes.
 * Services learn the new policy from a mounted ConfigMap, and the kubelet refreshes mounted ConfigMaps only on its
 * sync period plus its cache TTL (60–120 s by default), then the service polls the file (2 s). Until then a pod on
 * the old policy still publishes retries into the old tier (mandatory and confirmed): were it gone, the retry
 * would fail and the redelivery count against the delivery limit. 3 minutes covers the default propagation with
 * a margin; after it a tier is deleted only when it is empty and has no consumers.
 */
export const DROPPED_TIER_GRACE_MS = 3 * 60_000;

export interface AppliedTopologyChange {
  /** What is now on the broker, with retry tiers dropped from the policy but still kept in `droppedTiers`. */
  applied: AppliedTopology;
  events: SubscriptionEvent[];
  /** When the earliest kept dropped tier's grace period ends (ms from `now`); undefined when none waits. */
  nextTierDeadlineMs: number | undefined;
}

export interface ApplyOptions {
  /** The reconcile's clock: when tiers are dropped, and whether their grace period is over. */
  now: Date;
  /** Called before each unbind and delete; throws when this replica no longer leads. */
  fence: BrokerFence;
}

/**
 * Puts a subscription's planned topology on the broker and removes what the previous one had and this one does
 * not: bindings of event types no longer listed, and retry tiers no longer used. The caller has already refused
 * unsafe changes (`findUnsafeTopologyChange`), so `previous` and `next` share queue, exchange and DLQ.
 *
 * A dropped tier is recorded in `applied.droppedTiers` with the time it was dropped and kept for
 * `DROPPED_TIER_GRACE_MS`; after that it is deleted once it is empty (its messages expire back into the work
 * queue with their delay, so deleting it earlier would lose them) and has no consumers.
 * Throws `TopologyConflictError` (406) for an object that exists with other arguments, and broker errors as they are.
 */
export async function applySubscriptionTopology(
  broker: ChannelFactory,
  plan: TopologyPlan,
  previous: AppliedTopology | undefined,
  next: AppliedTopology,
  options: ApplyOptions,
): Promise<AppliedTopologyChange> {
  const created = new Set(previous?.createdQueues ?? []);
  // Ownership: a queue absent just before this declare is one the operator creates. A queue that already exists
  // (by hand, another tool, the consuming service starting first) stays its creator's, and is never deleted here.
  // Queue arguments cannot carry it (they are immutable, and a differing argument fails the declare), so status does.
  const absent: string[] = [];
  for (const { name } of plan.queues)
    if (!created.has(name) && (await inspectQueue(broker, name)) === undefined) absent.push(name);
  await declareTopology(broker, plan);
  for (const name of absent) created.add(name);
  const events: SubscriptionEvent[] = [];
  const queue = next.queue ?? plan.queues.find((q) => q.role === 'work')!.name;
  const now = options.now.getTime();

  const unbound = (previous?.eventTypes ?? []).filter((type) => !next.eventTypes.includes(type));
  for (const type of unbound) {
    options.fence(`unbind '${type}' from '${queue}'`);
    await unbindQueue(broker, queue, previous!.exchange, type);
  }
  if (unbound.length > 0) {
    events.push({
      type: 'Normal',
      reason: 'EventTypesUnbound',
      message: `unbound ${unbound.join(', ')} from queue '${queue}': those events no longer reach it`,
    });
  }

  // Dropped now (in the previous policy, not in this one) or earlier and still kept; a tier back in the policy is no longer dropped.
  const droppedSince = new Map<number, string>();
  for (const tier of previous?.droppedTiers ?? []) droppedSince.set(tier.delayMs, tier.since);
  for (const delayMs of previous?.retryDelaysMs ?? [])
    if (!droppedSince.has(delayMs)) droppedSince.set(delayMs, options.now.toISOString());
  for (const delayMs of next.retryDelaysMs) droppedSince.delete(delayMs);

  const kept: DroppedRetryTier[] = [];
  let nextTierDeadlineMs: number | undefined;
  for (const [delayMs, since] of [...droppedSince].sort(([a], [b]) => a - b)) {
    const tier = retryQueueName(queue, delayMs);
    const state = await inspectQueue(broker, tier);
    if (state === undefined) {
      created.delete(tier);
      continue;
    }
    const sinceMs = Date.parse(since);
    const graceLeftMs = (Number.isNaN(sinceMs) ? now : sinceMs) + DROPPED_TIER_GRACE_MS - now;
    if (graceLeftMs > 0 || state.messageCount > 0 || state.consumerCount > 0) {
      kept.push({ delayMs, since });
      if (graceLeftMs > 0) nextTierDeadlineMs = Math.min(nextTierDeadlineMs ?? graceLeftMs, graceLeftMs);
      if (!previous?.droppedTiers?.some((dropped) => dropped.delayMs === delayMs)) {
        events.push({
          type: 'Normal',
          reason: 'RetryTierRetained',
          message:
            `retry tier '${tier}' (${formatDelay(delayMs)}) is no longer in the retry policy; it is kept for at least ${formatDelay(DROPPED_TIER_GRACE_MS)} while pods pick up the new policy, ` +
            `then deleted once empty (it holds ${state.messageCount} message(s), which return to '${queue}' when their delay expires)`,
        });
      }
      continue;
    }
    if (!created.has(tier)) {
      // Not ours to delete: stop tracking it, and say so once.
      events.push({
        type: 'Warning',
        reason: 'QueuesNotOwned',
        message: `kept retry tier '${tier}', no longer in the retry policy: it existed before this subscription declared it, so the operator never deletes it. Delete it by hand once it is empty (rabbitmqctl delete_queue <name> -p <vhost>)`,
      });
      continue;
    }
    options.fence(`delete retry tier '${tier}'`);
    const lost = await deleteQueue(broker, tier);
    created.delete(tier);
    events.push(
      lost === 0
        ? {
            type: 'Normal',
            reason: 'RetryTierDeleted',
            message: `deleted empty retry tier '${tier}', no longer in the retry policy`,
          }
        : {
            type: 'Warning',
            reason: 'RetryTierDeleted',
            message: `deleted retry tier '${tier}'; ${lost} message(s) arrived after it was found empty and were deleted with it`,
          },
    );
  }

  // Always present, [] when none: status is written as a JSON merge patch, where an absent field would keep the old list.
  const applied: AppliedTopology = {
    ...next,
    queue,
    retryDelaysMs: [...new Set(next.retryDelaysMs)].sort((a, b) => a - b),
    droppedTiers: kept,
    createdQueues: [...created].sort(),
  };
  return { applied, events, nextTierDeadlineMs };
}
