import { retryQueueName, type ChannelFactory } from '@switchyard/messaging';
import { deleteQueue, inspectQueue, unbindQueue } from './broker-queues.js';
import type { EventSubscription, SubscriptionEvent } from './event-subscription.js';
import { fenceOf, type SubscriptionContext } from './subscription-context.js';

export interface FinalizeOutcome {
  /** True: the runtime may remove the policy key from the ConfigMap, then the finalizer. */
  done: boolean;
  events: SubscriptionEvent[];
  /** Transient failure (broker down…): not done, try again later. */
  error: Error | undefined;
}

/**
 * Cleans up when a subscription is deleted, as its `deletionPolicy` says.
 *
 * - Retain (default): nothing on the broker changes.
 * - Delete: bindings are removed (the subscription no longer asks for those events), then retry tiers, the work
 *   queue and the DLQ are deleted. With `nonEmptyQueuePolicy: Retain` (default) a queue holding messages is kept,
 *   and so is everything its messages still flow into: a kept tier keeps the work queue (its messages expire back
 *   into it), a kept work queue keeps the DLQ (its rejects go there). A Warning event `QueuesRetained` lists them.
 *
 * Only what `status.appliedTopology` records is deleted: without it the operator never declared anything, and a
 * queue of the same name belongs to someone else. The exchange is shared and never deleted.
 * Depth is checked and the queue deleted in two steps (quorum queues refuse if-empty deletes); a message that
 * arrives in between is deleted with the queue and reported in a Warning.
 */
export async function finalizeSubscription(subscription: EventSubscription, broker: ChannelFactory, context?: SubscriptionContext): Promise<FinalizeOutcome> {
  const fence = fenceOf(context);
  const applied = subscription.status?.appliedTopology;
  // Read raw: finalizing must work even for a spec that no longer resolves. Anything but Delete retains.
  const spec = subscription.spec as Partial<EventSubscription['spec']> | undefined;
  const queue = applied?.queue ?? spec?.queue ?? '';
  if (spec?.deletionPolicy !== 'Delete') {
    const message = applied === undefined ? 'deletionPolicy Retain: nothing on the broker was changed' : `deletionPolicy Retain: queue '${queue}', its retry tiers and dead-letter queue '${applied.deadLetterQueue}' stay on the broker`;
    return { done: true, events: [{ type: 'Normal', reason: 'TopologyRetained', message }], error: undefined };
  }
  if (applied === undefined) {
    return { done: true, events: [{ type: 'Normal', reason: 'NothingToDelete', message: 'no topology was ever applied for this subscription; nothing was deleted' }], error: undefined };
  }
  const retainNonEmpty = spec.nonEmptyQueuePolicy !== 'Delete';

  try {
    for (const type of applied.eventTypes) {
      fence(`unbind '${type}' from '${queue}'`);
      await unbindQueue(broker, queue, applied.exchange, type);
    }

    const tiers = applied.retryDelaysMs.map((delay) => retryQueueName(queue, delay));
    const depthOf = new Map<string, number | undefined>();
    for (const name of [...tiers, queue, applied.deadLetterQueue]) depthOf.set(name, (await inspectQueue(broker, name))?.messageCount);
    const holdsMessages = (name: string) => (depthOf.get(name) ?? 0) > 0;

    const kept = new Set<string>();
    if (retainNonEmpty) {
      for (const tier of tiers) if (holdsMessages(tier)) kept.add(tier);
      if (holdsMessages(queue) || kept.size > 0) kept.add(queue);
      if (holdsMessages(applied.deadLetterQueue) || kept.has(queue)) kept.add(applied.deadLetterQueue);
    }

    const deleted: string[] = [];
    const deletedWithMessages: string[] = [];
    // Sources before targets: tiers feed the work queue, the work queue feeds the DLQ.
    for (const name of [...tiers, queue, applied.deadLetterQueue]) {
      if (kept.has(name) || depthOf.get(name) === undefined) continue;
      fence(`delete queue '${name}'`);
      const messages = await deleteQueue(broker, name);
      deleted.push(name);
      if (messages > 0) deletedWithMessages.push(`'${name}' (${messages})`);
    }

    const events: SubscriptionEvent[] = [];
    events.push({
      type: 'Normal',
      reason: 'TopologyDeleted',
      message: `unbound ${applied.eventTypes.join(', ')} from '${queue}'; deleted ${deleted.length > 0 ? deleted.map((name) => `'${name}'`).join(', ') : 'no queues'}`,
    });
    if (deletedWithMessages.length > 0) {
      events.push({
        type: 'Warning',
        reason: 'QueuesDeletedWithMessages',
        message: `deleted queues with their messages: ${deletedWithMessages.join(', ')}${retainNonEmpty ? ' (they arrived after the queue was found empty)' : ' (nonEmptyQueuePolicy Delete)'}`,
      });
    }
    if (kept.size > 0) {
      const described = [...kept].map((name) => `'${name}' (${depthOf.get(name) ?? 0} message(s))`).join(', ');
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
    return { done: false, events: [], error: error instanceof Error ? error : new Error(String(error)) };
  }
}
