import { deadLetterQueueName, retryQueueName } from '@switchyard/messaging/topology';
import { subscriptionKey, type EventSubscription } from '../api/v1alpha1/index.js';
import { resolveSubscriptionSpec } from './subscription-spec.js';

/**
 * Queues are per vhost, not per namespace: subscriptions in different namespaces reconciled by one operator share
 * one broker, so two of them can name the same queue (an explicit `deadLetter.queue` is often shared on purpose).
 * These helpers answer "who else uses this queue?" from the other subscriptions the runtime knows.
 */

export function isSameSubscription(a: EventSubscription, b: EventSubscription): boolean {
  if (a.metadata.uid !== undefined && b.metadata.uid !== undefined) return a.metadata.uid === b.metadata.uid;
  return subscriptionKey(a) === subscriptionKey(b);
}

/**
 * Every queue a subscription uses or will use: what its status says is on the broker (work queue, retry tiers
 * including dropped ones still kept, DLQ) and what its spec asks for. Read leniently: an invalid spec still
 * claims the names it spells out.
 */
export function queuesUsedBy(subscription: EventSubscription): Set<string> {
  const names = new Set<string>();
  const applied = subscription.status?.appliedTopology;
  const raw = subscription.spec as Partial<EventSubscription['spec']> | undefined;
  const queue = applied?.queue ?? (typeof raw?.queue === 'string' ? raw.queue : undefined);
  if (queue === undefined) return names;
  names.add(queue);
  if (applied !== undefined) {
    for (const delayMs of applied.retryDelaysMs) names.add(retryQueueName(queue, delayMs));
    for (const { delayMs } of applied.droppedTiers ?? []) names.add(retryQueueName(queue, delayMs));
    names.add(applied.deadLetterQueue);
  }
  try {
    const spec = resolveSubscriptionSpec(subscription.spec);
    for (const delayMs of spec.retryDelaysMs) names.add(retryQueueName(spec.queue, delayMs));
    names.add(spec.deadLetter.queue);
  } catch {
    const deadLetter = raw?.deadLetter?.queue;
    names.add(typeof deadLetter === 'string' ? deadLetter : deadLetterQueueName(queue));
  }
  return names;
}

/** For each queue name, the subscriptions (other than `self`) that use it. */
export function queueUsers(self: EventSubscription, others: readonly EventSubscription[] = []): Map<string, string[]> {
  const users = new Map<string, string[]>();
  for (const other of others) {
    if (isSameSubscription(self, other)) continue;
    for (const name of queuesUsedBy(other)) users.set(name, [...(users.get(name) ?? []), subscriptionKey(other)]);
  }
  return users;
}

/**
 * The subscription that owns `queue` when several in the same namespace claim it as their `spec.queue`: the oldest
 * (creationTimestamp), then the first by name, so every replica and every reconcile picks the same one.
 *
 * Only within a namespace: otherwise whoever may create an EventSubscription anywhere could take a queue name first
 * and lock another namespace's subscription out of it. Across namespaces, what keeps one tenant from another's
 * queues is the `<service>.` prefix (and the broker user's permissions), and a queue is deleted only by the
 * subscription that created it (`appliedTopology.createdQueues`) and only while no other subscription uses it.
 */
export function earlierClaimant(
  self: EventSubscription,
  queue: string,
  others: readonly EventSubscription[] = [],
): EventSubscription | undefined {
  const claims = (other: EventSubscription) =>
    (other.status?.appliedTopology?.queue ?? (other.spec as Partial<EventSubscription['spec']> | undefined)?.queue) ===
    queue;
  const order = (a: EventSubscription, b: EventSubscription) => {
    const byAge = (a.metadata.creationTimestamp ?? '').localeCompare(b.metadata.creationTimestamp ?? '');
    return byAge !== 0 ? byAge : subscriptionKey(a).localeCompare(subscriptionKey(b));
  };
  return others
    .filter(
      (other) =>
        !isSameSubscription(self, other) &&
        (other.metadata.namespace ?? 'default') === (self.metadata.namespace ?? 'default') &&
        claims(other) &&
        order(other, self) < 0,
    )
    .sort(order)[0];
}
