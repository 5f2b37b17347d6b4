import type { AppliedTopology } from '../api/v1alpha1/index.js';

/** A change RabbitMQ cannot apply in place; `reason` is the TopologyReconciled condition's reason. */
export interface UnsafeTopologyChange {
  reason:
    | 'UnsafeQueueRename'
    | 'UnsafeQueueTypeChange'
    | 'UnsafeDeliveryLimitChange'
    | 'UnsafeDeadLetterQueueChange'
    | 'UnsafeExchangeChange';
  /** What changed, why it is refused, and how to migrate. */
  message: string;
}

/**
 * Compares what the operator last declared with what the spec now asks for. Queue arguments are immutable in
 * RabbitMQ: declaring the work queue with another type, delivery limit or dead-letter target fails with 406 and
 * closes the channel; a new queue or exchange name would leave the old queue bound and filling up unseen. These
 * are refused before anything is declared, so the broker and the last good consumer policy stay as they are.
 * Retry tiers, bindings and prefetch change safely and are not listed here.
 */
export function findUnsafeTopologyChange(
  applied: AppliedTopology | undefined,
  next: AppliedTopology,
): UnsafeTopologyChange | undefined {
  if (applied === undefined) return undefined;
  const queue = applied.queue ?? next.queue;
  const revert = (field: string, value: string | number) => `To keep the queue, set ${field} back to ${String(value)}.`;
  const drainAndRecreate =
    `To migrate: set spec.paused: true, wait until status.queueDepth is 0, delete queue '${queue}' on the broker ` +
    `(rabbitmqctl delete_queue ${queue} -p <vhost>), then unpause; the operator declares it anew.`;

  if (applied.queue !== undefined && applied.queue !== next.queue) {
    return {
      reason: 'UnsafeQueueRename',
      message:
        `spec.queue changed from '${applied.queue}' to '${next.queue}'; the old queue would stay bound and keep filling up. ` +
        `Create a new EventSubscription for '${next.queue}' (deletionPolicy Delete on the old one removes '${applied.queue}' once it is empty), or set spec.queue back to '${applied.queue}'.`,
    };
  }
  if (applied.queueType !== next.queueType) {
    return {
      reason: 'UnsafeQueueTypeChange',
      message: `queue '${queue}' is a ${applied.queueType} queue and RabbitMQ cannot change a queue's type in place. ${drainAndRecreate} ${revert('spec.queueType', applied.queueType)}`,
    };
  }
  if (next.queueType === 'quorum' && applied.deliveryLimit !== next.deliveryLimit) {
    return {
      reason: 'UnsafeDeliveryLimitChange',
      message:
        `quorum queue '${queue}' was declared with x-delivery-limit ${applied.deliveryLimit}; queue arguments cannot change in place (the broker refuses ${next.deliveryLimit}). ` +
        `${drainAndRecreate} ${revert('spec.deliveryLimit', applied.deliveryLimit)}`,
    };
  }
  if (applied.deadLetterQueue !== next.deadLetterQueue) {
    return {
      reason: 'UnsafeDeadLetterQueueChange',
      message:
        `queue '${queue}' dead-letters to '${applied.deadLetterQueue}' (a queue argument that cannot change in place), not '${next.deadLetterQueue}'. ` +
        `Replay or move what '${applied.deadLetterQueue}' holds first; ${drainAndRecreate} ${revert('spec.deadLetter.queue', applied.deadLetterQueue)}`,
    };
  }
  if (applied.exchange !== next.exchange) {
    return {
      reason: 'UnsafeExchangeChange',
      message:
        `queue '${queue}' is bound to exchange '${applied.exchange}'; moving it to '${next.exchange}' would silently stop delivery from publishers that still use '${applied.exchange}'. ` +
        `Create a new EventSubscription (new queue) on '${next.exchange}' and delete this one once publishers have moved, or set spec.exchange back to '${applied.exchange}'.`,
    };
  }
  return undefined;
}
