import { declareTopology, formatDelay, retryQueueName, type ChannelFactory, type TopologyPlan } from '@switchyard/messaging';
import { deleteQueue, inspectQueue, unbindQueue } from './broker-queues.js';
import type { AppliedTopology, SubscriptionEvent } from './event-subscription.js';
import type { BrokerFence } from './subscription-context.js';

export interface AppliedTopologyChange {
  /** What is now on the broker, including retry tiers kept because they still hold messages. */
  applied: AppliedTopology;
  events: SubscriptionEvent[];
}

export interface ApplyOptions {
  /**
   * Whether retry tiers dropped from the policy may be deleted now. False on the first reconcile of a new
   * generation: services still run the old policy until they read the new ConfigMap, and may park a retry in a
   * tier that is about to go. From the next reconcile (a status refresh later) an empty tier is deleted.
   */
  deleteDroppedTiers: boolean;
  /** Called before each unbind and delete; throws when this replica no longer leads. */
  fence: BrokerFence;
}

/**
 * Puts a subscription's planned topology on the broker and removes what the previous one had and this one does
 * not: bindings of event types no longer listed, and retry tiers no longer used. The caller has already refused
 * unsafe changes (`findUnsafeTopologyChange`), so `previous` and `next` share queue, exchange and DLQ.
 *
 * A dropped tier that still holds messages is kept: they expire back into the work queue with their delay, so
 * deleting it would lose them. It stays in `applied.retryDelaysMs` and is deleted by a later reconcile once empty.
 * Throws `TopologyConflictError` (406) for an object that exists with other arguments, and broker errors as they are.
 */
export async function applySubscriptionTopology(
  broker: ChannelFactory,
  plan: TopologyPlan,
  previous: AppliedTopology | undefined,
  next: AppliedTopology,
  options: ApplyOptions,
): Promise<AppliedTopologyChange> {
  await declareTopology(broker, plan);
  const events: SubscriptionEvent[] = [];
  const queue = next.queue ?? plan.queues.find((q) => q.role === 'work')!.name;

  const unbound = (previous?.eventTypes ?? []).filter((type) => !next.eventTypes.includes(type));
  for (const type of unbound) {
    options.fence(`unbind '${type}' from '${queue}'`);
    await unbindQueue(broker, queue, previous!.exchange, type);
  }
  if (unbound.length > 0) {
    events.push({ type: 'Normal', reason: 'EventTypesUnbound', message: `unbound ${unbound.join(', ')} from queue '${queue}': those events no longer reach it` });
  }

  const kept: number[] = [];
  for (const delayMs of (previous?.retryDelaysMs ?? []).filter((delay) => !next.retryDelaysMs.includes(delay))) {
    const tier = retryQueueName(queue, delayMs);
    const state = await inspectQueue(broker, tier);
    if (state === undefined) continue;
    if (!options.deleteDroppedTiers || state.messageCount > 0) {
      kept.push(delayMs);
      if (!options.deleteDroppedTiers) {
        events.push({
          type: 'Normal',
          reason: 'RetryTierRetained',
          message:
            `retry tier '${tier}' (${formatDelay(delayMs)}) is no longer in the retry policy; it is kept until consumers run the new policy and it is empty ` +
            `(it holds ${state.messageCount} message(s), which return to '${queue}' when their delay expires)`,
        });
      }
      continue;
    }
    options.fence(`delete retry tier '${tier}'`);
    const lost = await deleteQueue(broker, tier);
    events.push(
      lost === 0
        ? { type: 'Normal', reason: 'RetryTierDeleted', message: `deleted empty retry tier '${tier}', no longer in the retry policy` }
        : { type: 'Warning', reason: 'RetryTierDeleted', message: `deleted retry tier '${tier}'; ${lost} message(s) arrived after it was found empty and were deleted with it` },
    );
  }

  return { applied: { ...next, queue, retryDelaysMs: [...new Set([...next.retryDelaysMs, ...kept])].sort((a, b) => a - b) }, events };
}
