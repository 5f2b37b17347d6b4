import type { EventSubscriptionSpec } from './event-subscription-spec.js';
import type { EventSubscriptionStatus } from './event-subscription-status.js';

/** What `kubectl explain eventsubscription` says first (the CRD's top-level description). */
export const EVENT_SUBSCRIPTION_DESCRIPTION =
  "A Switchyard service's subscription to events, reconciled into RabbitMQ topology and a live consumer policy.";

/** The part of Kubernetes' ObjectMeta the operator reads and writes. */
export interface EventSubscriptionMetadata {
  name: string;
  namespace?: string;
  uid?: string;
  generation?: number;
  resourceVersion?: string;
  creationTimestamp?: string;
  deletionTimestamp?: string;
  finalizers?: string[];
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
}

/**
 * `<namespace>/<name>`: how the operator keys a subscription (its work queue, its informer cache) and names it in
 * messages. Lenient about what it is given: a watch event's object may lack either.
 */
export function subscriptionKey(object: { metadata?: { namespace?: string; name?: string } }): string {
  return `${object.metadata?.namespace ?? ''}/${object.metadata?.name ?? ''}`;
}

/**
 * The EventSubscription resource as the operator sees it on the wire: the spec exactly as the user wrote it (see
 * `EventSubscriptionSpec`) and the status the operator writes. `resolveSubscriptionSpec` applies the CRD's
 * defaults and checks to the spec.
 */
export interface EventSubscription {
  apiVersion: string;
  kind: string;
  metadata: EventSubscriptionMetadata;
  spec: EventSubscriptionSpec;
  status?: EventSubscriptionStatus;
}
