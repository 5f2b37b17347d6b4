import { retryQueueName, type ChannelFactory } from '@switchyard/messaging/topology';
import { deleteQueue, inspectQueue, unbindQueue, type QueueState } from './broker-queues.js';
import type { EventSubscription } from '../api/v1alpha1/index.js';
import type { SubscriptionEvent } from './subscription-event.js';
import { isSameSubscription, queueUsers } from './shared-queues.js';
import { fenceOf, type SubscriptionContext } from './subscription-context.js';
import { toError } from '../errors.js';

export interface FinalizeOutcome {
  /** True: the runtime may remove the policy key from the ConfigMap, then the finalizer. */
  done: boolean;
  events: SubscriptionEvent[];
  /** Transient failure (broker down…): not done, try again later. */
  error: Error | undefined;
  /**
   * True when another subscription in the same namespace, for the same service, claims the same queue: the
   * ConfigMap key `<queue>.json` is then that subscription's too, and the runtime must leave it in place.
   */
  keepPolicyKey?: boolean;
}

/**
 * Cleans up when a subscription is deleted, as its `deletionPolicy` says.
 *
 * - Retain (default): nothing on the broker changes.
 * - Delete: bindings are removed (the subscription no longer asks for those events), then retry tiers, the work
 *   queue and the DLQ are deleted. With `nonEmptyQueuePolicy: Retain` (default) a queue that holds messages or
 *   has consumers is kept, and so is everything its messages still flow into: a kept tier keeps the work queue
 *   (its messages expire back into it), a kept work queue keeps the DLQ (its rejects go there). Warning events
 *   `QueuesInUse` and `QueuesRetained` list them.
 *
 * "Has consumers" matters because the depth RabbitMQ reports counts ready messages only: a consumer's
 * unacknowledged deliveries are invisible to it and would be lost with the queue.
 *
 * A queue another subscription uses (`context.otherSubscriptions`, any namespace: a shared DLQ, a queue claimed
 * twice) is never deleted, whatever the policies say, and its bindings for event types the other one also
 * consumes stay: Warning `QueuesShared`.
 *
 * Only what `status.appliedTopology` records is touched: without it the operator never declared anything. And only
 * queues it created (`appliedTopology.createdQueues`) are deleted: one that existed before the subscription first
 * declared it (made by hand, by another tool, by the consuming service) is kept, Warning `QueuesNotOwned`, and so
 * is everything kept with it as above. A status without that record (written by an older operator) owns nothing.
 * The exchange is shared and never deleted.
 * Depth is checked and the queue deleted in two steps (quorum queues refuse if-empty deletes); a message that
 * arrives in between is deleted with the queue and reported in a Warning.
 */
export async function finalizeSubscription(
  subscription: EventSubscription,
  broker: ChannelFactory,
  context?: SubscriptionContext,
): Promise<FinalizeOutcome> {
  const outcome = await finalizeOnBroker(subscription, broker, context);
  const raw = subscription.spec as Partial<EventSubscription['spec']> | undefined;
  const keepPolicyKey = (context?.otherSubscriptions ?? []).some(
    (other) =>
      !isSameSubscription(subscription, other) &&
      other.metadata.namespace === subscription.metadata.namespace &&
      other.spec?.service === raw?.service &&
      usesQueueAs(other, subscription.status?.appliedTopology?.queue ?? raw?.queue ?? ''),
  );
  return keepPolicyKey ? { ...outcome, keepPolicyKey } : outcome;
}

async function finalizeOnBroker(
  subscription: EventSubscription,
  broker: ChannelFactory,
  context: SubscriptionContext | undefined,
): Promise<FinalizeOutcome> {
  const fence = fenceOf(context);
  const applied = subscription.status?.appliedTopology;
  // Read raw: finalizing must work even for a spec that no longer resolves. Anything but Delete retains.
  const spec = subscription.spec as Partial<EventSubscription['spec']> | undefined;
  const queue = applied?.queue ?? spec?.queue ?? '';
  if (spec?.deletionPolicy !== 'Delete') {
    const message =
      applied === undefined
        ? 'deletionPolicy Retain: nothing on the broker was changed'
        : `deletionPolicy Retain: queue '${queue}', its retry tiers and dead-letter queue '${applied.deadLetterQueue}' stay on the broker`;
    return { done: true, events: [{ type: 'Normal', reason: 'TopologyRetained', message }], error: undefined };
  }
  if (applied === undefined) {
    return {
      done: true,
      events: [
        {
          type: 'Normal',
          reason: 'NothingToDelete',
          message: 'no topology was ever applied for this subscription; nothing was deleted',
        },
      ],
      error: undefined,
    };
  }
  const retainNonEmpty = spec.nonEmptyQueuePolicy !== 'Delete';
  const users = queueUsers(subscription, context?.otherSubscriptions);
  // Event types another subscription of the same queue binds stay bound: that subscription still consumes them.
  const stillWanted = new Set(
    (context?.otherSubscriptions ?? [])
      .filter((other) => users.get(queue)?.length && usesQueueAs(other, queue))
      .flatMap(boundEventTypes),
  );

  try {
    const unbound = applied.eventTypes.filter((type) => !stillWanted.has(type));
    for (const type of unbound) {
      fence(`unbind '${type}' from '${queue}'`);
      await unbindQueue(broker, queue, applied.exchange, type);
    }

    const delays = [
      ...new Set([...applied.retryDelaysMs, ...(applied.droppedTiers ?? []).map((tier) => tier.delayMs)]),
    ];
    const tiers = delays.map((delay) => retryQueueName(queue, delay));
    const stateOf = new Map<string, QueueState | undefined>();
    for (const name of [...tiers, queue, applied.deadLetterQueue]) stateOf.set(name, await inspectQueue(broker, name));
    const holdsMessages = (name: string) => (stateOf.get(name)?.messageCount ?? 0) > 0;
    const inUse = (name: string) => (stateOf.get(name)?.consumerCount ?? 0) > 0;
    const shared = (name: string) => (users.get(name)?.length ?? 0) > 0;
    const created = new Set(applied.createdQueues ?? []);
    const notOwned = (name: string) => !created.has(name) && stateOf.get(name) !== undefined;

    const kept = new Set<string>();
    for (const name of [...tiers, queue, applied.deadLetterQueue]) if (shared(name) || notOwned(name)) kept.add(name);
    if (retainNonEmpty) {
      for (const tier of tiers) if (holdsMessages(tier) || inUse(tier)) kept.add(tier);
      if (holdsMessages(queue) || inUse(queue) || tiers.some((tier) => kept.has(tier))) kept.add(queue);
      if (holdsMessages(applied.deadLetterQueue) || inUse(applied.deadLetterQueue)) kept.add(applied.deadLetterQueue);
    }
    if (kept.has(queue)) kept.add(applied.deadLetterQueue);

    const deleted: string[] = [];
    const deletedWithMessages: string[] = [];
    // Sources before targets: tiers feed the work queue, the work queue feeds the DLQ.
    for (const name of [...tiers, queue, applied.deadLetterQueue]) {
      if (kept.has(name) || stateOf.get(name) === undefined) continue;
      fence(`delete queue '${name}'`);
      const messages = await deleteQueue(broker, name);
      deleted.push(name);
      if (messages > 0) deletedWithMessages.push(`'${name}' (${messages})`);
    }

    const events: SubscriptionEvent[] = [];
    events.push({
      type: 'Normal',
      reason: 'TopologyDeleted',
      message: `unbound ${unbound.length > 0 ? unbound.join(', ') : 'nothing'} from '${queue}'; deleted ${deleted.length > 0 ? deleted.map((name) => `'${name}'`).join(', ') : 'no queues'}`,
    });
    if (deletedWithMessages.length > 0) {
      events.push({
        type: 'Warning',
        reason: 'QueuesDeletedWithMessages',
        message: `deleted queues with their messages: ${deletedWithMessages.join(', ')}${retainNonEmpty ? ' (they arrived after the queue was found empty)' : ' (nonEmptyQueuePolicy Delete)'}`,
      });
    }
    const sharedKept = [...kept].filter(shared);
    if (sharedKept.length > 0) {
      events.push({
        type: 'Warning',
        reason: 'QueuesShared',
        message: `kept ${sharedKept.map((name) => `'${name}' (also used by ${users.get(name)!.join(', ')})`).join(', ')}: another EventSubscription still uses them`,
      });
    }
    const notOwnedKept = [...kept].filter((name) => !shared(name) && notOwned(name));
    if (notOwnedKept.length > 0) {
      events.push({
        type: 'Warning',
        reason: 'QueuesNotOwned',
        message:
          `kept ${notOwnedKept.map((name) => `'${name}'`).join(', ')}: they existed before this subscription declared them, ` +
          `so the operator did not create them and never deletes them, whatever deletionPolicy says. Delete them by hand if they are no longer needed`,
      });
    }
    const inUseKept = [...kept].filter((name) => !shared(name) && !notOwned(name) && inUse(name));
    if (inUseKept.length > 0) {
      events.push({
        type: 'Warning',
        reason: 'QueuesInUse',
        message:
          `kept ${inUseKept.map((name) => `'${name}' (${stateOf.get(name)!.consumerCount} consumer(s))`).join(', ')}: consumers still read from them and may hold ` +
          `unacknowledged messages, which the queue depth does not count, and nonEmptyQueuePolicy is Retain. Stop ${spec.service ?? 'the consumers'}, then delete them by hand ` +
          `(rabbitmqctl delete_queue <name> -p <vhost>)`,
      });
    }
    const retained = [...kept].filter((name) => !shared(name) && !notOwned(name) && !inUse(name));
    if (retained.length > 0) {
      const described = retained
        .map((name) => `'${name}' (${stateOf.get(name)?.messageCount ?? 0} message(s))`)
        .join(', ');
      events.push({
        type: 'Warning',
        reason: 'QueuesRetained',
        message:
          `kept ${described}: they hold messages, or messages still flow into them, and nonEmptyQueuePolicy is Retain. ` +
          `Drain or replay them, then delete them by hand (rabbitmqctl delete_queue <name> -p <vhost>)`,
      });
    }
    return { done: true, events, error: undefined };
  } catch (error) {
    return { done: false, events: [], error: toError(error) };
  }
}

function usesQueueAs(other: EventSubscription, queue: string): boolean {
  return (
    (other.status?.appliedTopology?.queue ?? (other.spec as Partial<EventSubscription['spec']> | undefined)?.queue) ===
    queue
  );
}

function boundEventTypes(other: EventSubscription): string[] {
  const fromSpec = ((other.spec as Partial<EventSubscription['spec']> | undefined)?.events ?? []).map(
    (event) => event.type,
  );
  return [...(other.status?.appliedTopology?.eventTypes ?? []), ...fromSpec];
}
